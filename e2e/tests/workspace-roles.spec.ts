import type { Workspace } from "@neosc/core/workspace";
import { createLocalUser, createWorkspace, unique } from "../src/api.ts";
import { mutateFromPage, queryFromPage } from "../src/page-calls.ts";
import { expect, signIn, test, workspaceCard } from "./fixtures.ts";

test("a workspace the admin restricts to neosc is invisible to a user, and launching it by id answers as if it did not exist", async ({
  page,
  browser,
  stack,
  admin,
}) => {
  const name = `Neosc Lab ${unique("lab").slice(4)}`;

  // The admin creates it through the catalogue form, allowing only the neosc role.
  const adminContext = await browser.newContext({ baseURL: stack.api.url });
  try {
    const adminPage = await adminContext.newPage();
    await signIn(adminPage, stack.admin.email, stack.admin.password);
    await adminPage.goto("/admin/workspaces");
    await adminPage.getByRole("button", { name: "New workspace" }).click();
    const form = adminPage.getByRole("dialog", { name: "New workspace" });
    await form.getByLabel("Name", { exact: true }).fill(name);
    await form.getByLabel("Container image").fill("kasmweb/ubuntu-jammy-desktop:1.16.0");
    await form.getByRole("checkbox", { name: "User", exact: true }).uncheck();
    await form.getByRole("checkbox", { name: "Admin", exact: true }).uncheck();
    await expect(form.getByRole("checkbox", { name: "Staff", exact: true })).toBeChecked();
    await form.getByRole("button", { name: "Create workspace" }).click();
    await expect(form).toBeHidden();
    await expect(adminPage.getByRole("row").filter({ hasText: name })).toBeVisible();
  } finally {
    await adminContext.close();
  }
  const created = (await admin.api.workspace.list.query()).find((workspace) => workspace.name === name);
  expect(created?.allowedRoles).toEqual(["neosc"]);
  const workspaceId = (created as Workspace).id;

  // A neosc person sees it (so its absence below means something).
  const neosc = await createLocalUser(stack.api.url, admin.api, "neosc");
  const neoscContext = await browser.newContext({ baseURL: stack.api.url });
  try {
    const neoscPage = await neoscContext.newPage();
    await signIn(neoscPage, neosc.email, neosc.password);
    await expect(workspaceCard(neoscPage, name)).toBeVisible();
  } finally {
    await neoscContext.close();
  }

  // A user never sees it: not on the page, and not in what the API sends the page.
  const user = await createLocalUser(stack.api.url, admin.api, "user");
  const forUsers = await createWorkspace(admin.api, { allowedRoles: ["user", "neosc"] });
  await signIn(page, user.email, user.password);
  await expect(workspaceCard(page, forUsers.name)).toBeVisible();
  await expect(workspaceCard(page, name)).toHaveCount(0);
  const listed = await queryFromPage(page, "workspace.list");
  expect(listed.status).toBe(200);
  expect(listed.result.ok && (listed.result.data as Workspace[]).map((w) => w.id)).not.toContain(workspaceId);

  // Knowing the id does not help: the launch is refused with the user's own cookie, exactly as
  // for a workspace that does not exist (no hint that it does).
  const launch = await mutateFromPage(page, "workspace.launch", { workspaceId });
  expect(launch.status).toBe(404);
  expect(launch.result.ok).toBe(false);
  if (!launch.result.ok) expect(launch.result.error.code).toBe("NOT_FOUND");
  const active = await queryFromPage(page, "session.active");
  expect(active.result.ok && active.result.data).toEqual([]);
});
