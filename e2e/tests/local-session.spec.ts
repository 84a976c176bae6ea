import { createLocalUser, createWorkspace } from "../src/api.ts";
import { expect, runningNow, signIn, test, workspaceCard } from "./fixtures.ts";

test("a person signs in, launches, sees the time left, disconnects; the admin finds it in a verified audit log", async ({
  page,
  browser,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Lena Local" });
  const workspace = await createWorkspace(admin.api, { name: "Lena's Desktop", allowedRoles: ["user"] });

  await signIn(page, person.email, person.password);
  const card = workspaceCard(page, workspace.name);
  await card.getByRole("button", { name: `Launch ${workspace.name}` }).click();
  // Launch opens the viewer; the session keeps running after "Home".
  await expect(page).toHaveURL(/\/workspace\/[0-9a-f-]{36}$/);
  await page.getByRole("link", { name: "Home", exact: true }).first().click();
  await expect(card.getByText("Running", { exact: true })).toBeVisible();

  // The session is listed with what the max-duration (480 min) and idle (30 min) policies leave.
  const running = runningNow(page).getByRole("listitem").filter({ hasText: workspace.name });
  await expect(running).toBeVisible();
  await expect(running).toContainText(/\d+ h \d{2} min left/);
  await expect(running).toContainText(/idle timeout in \d+ min/);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sessions" }).click();
  await page.getByRole("button", { name: `End session ${workspace.name}` }).click();
  const dialog = page.getByRole("alertdialog", { name: "End this session?" });
  await dialog.getByLabel("Note (optional)").fill("done for today");
  await dialog.getByRole("button", { name: "End session" }).click();
  await expect(page.getByText("No active sessions")).toBeVisible();

  const adminContext = await browser.newContext({ baseURL: stack.api.url });
  try {
    const adminPage = await adminContext.newPage();
    await signIn(adminPage, stack.admin.email, stack.admin.password);
    await adminPage.goto("/admin/audit");
    await adminPage.getByLabel("Actor email").fill(person.email);
    await adminPage.getByRole("button", { name: "Apply filters" }).click();
    const rows = adminPage.getByRole("row");
    await expect(rows.filter({ hasText: "session.disconnect" })).toHaveCount(1);
    await expect(rows.filter({ hasText: "workspace.launch" })).toHaveCount(1);
    await expect(rows.filter({ hasText: "session.disconnect" })).toContainText("success");

    await adminPage.getByRole("button", { name: "Verify chain" }).click();
    const verdict = adminPage.getByRole("status").filter({ hasText: "The chain" });
    await expect(verdict).toContainText("The chain is intact");
    await expect(verdict).toContainText(/every hash matches/);
  } finally {
    await adminContext.close();
  }
});
