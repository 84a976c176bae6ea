import { testWorkspace } from "@neosc/core/testing/workspace";
import type { CreateWorkspaceInput, Workspace } from "@neosc/core/workspace";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { WorkspaceForm } from "../src/areas/admin/workspace-form.tsx";
import { workspacePatch } from "../src/areas/admin/workspaces-page.tsx";
import { apiFailure, refusal } from "./support/api-failure.ts";

function errorsOf(label: RegExp): string | null {
  const input = screen.getByLabelText(label);
  const ids = input.getAttribute("aria-describedby")?.split(" ") ?? [];
  const error = ids.map((id) => document.getElementById(id)).find((el) => el?.id.endsWith("-error"));
  return error?.textContent ?? null;
}

const existing: Workspace = testWorkspace({
  id: "7c0b7b5e-3f0e-4a43-9d7d-2b1f9f0c1a11",
  slug: "firefox",
  name: "Firefox",
  description: "A browser",
  image: "kasmweb/firefox:1.16.0",
  driver: null,
  program: null,
  memoryMb: 2048,
  allowedRoles: ["user", "neosc", "admin"],
  tags: ["browser"],
  createdAt: new Date("2026-01-01T00:00:00Z"),
  updatedAt: new Date("2026-01-01T00:00:00Z"),
});

describe("WorkspaceForm", () => {
  it("shows the core schema's field errors before sending anything", async () => {
    const onSubmit = vi.fn(async (_input: CreateWorkspaceInput) => {});
    render(<WorkspaceForm initial={null} organizations={[]} onSubmit={onSubmit} onCancel={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Create workspace" }));
    expect(errorsOf(/^Name$/)).toBe("Required");
    expect(errorsOf(/^Slug$/)).toBe("Required");
    // A new desktop runs in a sandbox on the hosts: no image needed, until Kubernetes is chosen.
    expect(errorsOf(/Container image/)).toBeNull();
    await userEvent.selectOptions(screen.getByLabelText(/Runs on/), "kubernetes");
    await userEvent.click(screen.getByRole("button", { name: "Create workspace" }));
    expect(errorsOf(/Container image/)).toBe("a Kubernetes workspace needs a container image");
    expect(onSubmit).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole("radio", { name: /Web/ }));
    await userEvent.type(screen.getByLabelText(/^Name$/), "Team Wiki");
    expect((screen.getByLabelText(/^Slug$/) as HTMLInputElement).value).toBe("team-wiki");
    await userEvent.type(screen.getByLabelText(/^URL$/), "ftp://wiki");
    await userEvent.clear(screen.getByLabelText(/CPU/));
    await userEvent.type(screen.getByLabelText(/Tags/), "ok, bad/tag");
    await userEvent.click(screen.getByRole("checkbox", { name: "User" }));
    await userEvent.click(screen.getByRole("checkbox", { name: "Staff" }));
    await userEvent.click(screen.getByRole("checkbox", { name: "Admin" }));
    await userEvent.click(screen.getByRole("button", { name: "Create workspace" }));
    expect(errorsOf(/^URL$/)).toBe("Enter a valid URL, such as https://example.com");
    expect(errorsOf(/CPU/)).toBe("Enter a number");
    expect(errorsOf(/Tags/)).toBe("letters, digits, spaces, dots and dashes");
    expect(screen.getByText("Choose at least 1")).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it("sends valid input parsed by the schema", async () => {
    const onSubmit = vi.fn(async (_input: CreateWorkspaceInput) => {});
    render(<WorkspaceForm initial={null} organizations={[]} onSubmit={onSubmit} onCancel={() => {}} />);
    await userEvent.type(screen.getByLabelText(/^Name$/), "Dev Box");
    await userEvent.type(screen.getByLabelText(/Container image/), "kasmweb/ubuntu:1.16");
    await userEvent.type(screen.getByLabelText(/Tags/), "dev,  linux ");
    await userEvent.click(screen.getByRole("checkbox", { name: "User" }));
    await userEvent.click(screen.getByRole("button", { name: "Create workspace" }));
    expect(onSubmit).toHaveBeenCalledWith({
      slug: "dev-box",
      name: "Dev Box",
      description: "",
      kind: "desktop",
      image: "kasmweb/ubuntu:1.16",
      url: null,
      driver: "local",
      program: "desktop",
      cpu: 1,
      memoryMb: 2048,
      warm: 0,
      allowedRoles: ["neosc", "admin"],
      organizationId: null,
      enabled: true,
      tags: ["dev", "linux"],
      recording: null,
    });
  });

  it("offers per kind where it runs, a sandbox on the workspace hosts first (every install has one)", async () => {
    const onSubmit = vi.fn(async (_input: CreateWorkspaceInput) => {});
    render(<WorkspaceForm initial={null} organizations={[]} onSubmit={onSubmit} onCancel={() => {}} />);
    const runsOn = () => screen.getByLabelText(/Runs on/) as HTMLSelectElement;
    expect(runsOn().value).toBe("local:desktop");
    await userEvent.click(screen.getByRole("radio", { name: /App/ }));
    expect([...runsOn().options].map((option) => option.value)).toEqual([
      "local:firefox",
      "local:terminal",
      "kubernetes",
    ]);
    expect(runsOn().value).toBe("local:firefox");
    await userEvent.type(screen.getByLabelText(/^Name$/), "Browser");
    await userEvent.click(screen.getByRole("button", { name: "Create workspace" }));
    expect(onSubmit.mock.calls[0]?.[0]).toMatchObject({ kind: "app", driver: "local", program: "firefox" });
  });

  it("keeps an existing entry's driver unless the admin picks Kubernetes, then sends image, CPU and memory with it", async () => {
    const onSubmit = vi.fn(async (_input: CreateWorkspaceInput) => {});
    render(<WorkspaceForm initial={existing} organizations={[]} onSubmit={onSubmit} onCancel={() => {}} />);
    expect((screen.getByLabelText(/Runs on/) as HTMLSelectElement).value).toBe("keep");
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    expect(onSubmit.mock.calls[0]?.[0]).not.toHaveProperty("driver");

    await userEvent.selectOptions(screen.getByLabelText(/Runs on/), "kubernetes");
    await userEvent.clear(screen.getByLabelText(/CPU/));
    await userEvent.type(screen.getByLabelText(/CPU/), "2.5");
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    expect(onSubmit.mock.calls[1]?.[0]).toMatchObject({
      driver: "kubernetes",
      program: null,
      image: "kasmweb/firefox:1.16.0",
      cpu: 2.5,
      memoryMb: 2048,
    });
  });

  it("builds a terminal on an ssh host: target, pinned key and a write-only password", async () => {
    const onSubmit = vi.fn(async (_input: CreateWorkspaceInput) => {});
    render(<WorkspaceForm initial={null} organizations={[]} onSubmit={onSubmit} onCancel={() => {}} />);
    await userEvent.click(screen.getByRole("radio", { name: /Terminal/ }));
    await userEvent.type(screen.getByLabelText(/^Name$/), "Bastion");
    await userEvent.selectOptions(screen.getByLabelText(/Runs on/), "ssh");
    await userEvent.type(screen.getByLabelText(/^Host$/), "bastion.internal");
    await userEvent.type(screen.getByLabelText(/User name/), "ops");
    await userEvent.type(screen.getByLabelText(/Host key fingerprint/), "ssh-ed25519 AAAA");
    await userEvent.click(screen.getByRole("button", { name: "Create workspace" }));
    expect(errorsOf(/Host key fingerprint/)).toMatch(/SHA256/);
    expect(onSubmit).not.toHaveBeenCalled();

    const hostKey = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
    await userEvent.clear(screen.getByLabelText(/Host key fingerprint/));
    await userEvent.type(screen.getByLabelText(/Host key fingerprint/), hostKey);
    await userEvent.type(screen.getByLabelText(/^Password$/), "s3cret");
    await userEvent.click(screen.getByRole("button", { name: "Create workspace" }));
    expect(onSubmit).toHaveBeenCalledWith(
      expect.objectContaining({
        kind: "terminal",
        image: null,
        driver: "ssh",
        sshTarget: { host: "bastion.internal", port: 22, username: "ops", hostKey },
        sshCredential: { kind: "password", password: "s3cret" },
      }),
    );
  });

  it("shows the server's field errors on their fields (update nests them under patch.)", async () => {
    const onSubmit = vi.fn(async () => {
      throw apiFailure("Invalid input: patch.slug", {
        code: "BAD_REQUEST",
        httpStatus: 400,
        domain: null,
        zod: {
          formErrors: [],
          fieldErrors: { "patch.memoryMb": ["Too big: expected number to be <=262144"] },
        },
      });
    });
    render(
      <WorkspaceForm
        initial={existing}
        organizations={[]}
        serverFieldPrefix="patch."
        onSubmit={onSubmit}
        onCancel={() => {}}
      />,
    );
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    expect(await screen.findByText("Too big: expected number to be <=262144")).toBeTruthy();
    expect(errorsOf(/Memory/)).toBe("Too big: expected number to be <=262144");
  });

  it("puts a duplicate slug refusal on the slug field", async () => {
    const onSubmit = vi.fn(async () => {
      throw apiFailure("duplicate", {
        code: "CONFLICT",
        httpStatus: 409,
        domain: refusal("duplicate", { field: "slug" }),
        zod: null,
      });
    });
    render(<WorkspaceForm initial={existing} organizations={[]} onSubmit={onSubmit} onCancel={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    expect(await screen.findByText("That slug is already taken.")).toBeTruthy();
    expect(screen.getByLabelText(/^Slug$/).getAttribute("aria-invalid")).toBe("true");
  });
});

describe("workspacePatch", () => {
  it("keeps only what changed", () => {
    const { id: _id, createdAt: _c, updatedAt: _u, ...same } = existing;
    expect(workspacePatch(existing, same)).toEqual({});
    expect(workspacePatch(existing, { ...same, name: "Firefox ESR", tags: ["browser", "esr"] })).toEqual({
      name: "Firefox ESR",
      tags: ["browser", "esr"],
    });
  });
});
