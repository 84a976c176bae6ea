import type { Role } from "@neosc/core/roles";
import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import { AppNav } from "../src/areas/shell/app-nav.tsx";
import { navigationFor } from "../src/lib/navigation.ts";

const ADMIN_LINKS = [
  "Workspaces",
  "Policies",
  "Audit log",
  "Users",
  "Organizations",
  "Service accounts",
  "Stats",
];

function renderNav(role: Role, path = "/") {
  render(
    <MemoryRouter initialEntries={[path]}>
      <AppNav role={role} />
    </MemoryRouter>,
  );
  return screen.getByRole("navigation", { name: "Main" });
}

describe("role-aware navigation", () => {
  it.each(["user", "neosc"] as const)("hides every admin link from %s", (role) => {
    const nav = renderNav(role);
    expect(
      within(nav)
        .getAllByRole("link")
        .map((link) => link.textContent),
    ).toEqual(["Home", "Sessions", "Account"]);
    for (const name of ADMIN_LINKS) expect(within(nav).queryByRole("link", { name })).toBeNull();
    expect(within(nav).queryByText("Administration")).toBeNull();
    expect(navigationFor(role).admin).toEqual([]);
  });

  it("shows the admin area to admins, each link going to its page", () => {
    const nav = renderNav("admin");
    for (const name of ADMIN_LINKS) expect(within(nav).getByRole("link", { name })).toBeTruthy();
    expect(within(nav).getByRole("link", { name: "Audit log" }).getAttribute("href")).toBe("/admin/audit");
    expect(within(nav).getByText("Administration")).toBeTruthy();
  });

  it("shows the auditor its sessions, account and the audit log, nothing that launches or changes", () => {
    const nav = renderNav("auditor", "/sessions");
    expect(
      within(nav)
        .getAllByRole("link")
        .map((link) => link.textContent),
    ).toEqual(["Sessions", "Account", "Audit log"]);
    expect(within(nav).getByRole("link", { name: "Audit log" }).getAttribute("href")).toBe("/admin/audit");
  });

  it("marks the current page", () => {
    const nav = renderNav("admin", "/admin/users");
    expect(within(nav).getByRole("link", { name: "Users" }).getAttribute("aria-current")).toBe("page");
    expect(within(nav).getByRole("link", { name: "Home" }).getAttribute("aria-current")).toBeNull();
  });
});
