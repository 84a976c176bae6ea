import { join } from "node:path";
import { createLocalUser, createWorkspace } from "../src/api.ts";
import { expect, signIn, test } from "./fixtures.ts";

/*
 * The stats page shows what admins ask about: how many sessions ran at once, how long sessions
 * ran, launches per workspace and refusals by reason, for the range chosen. At desktop and phone
 * width (screenshots).
 */

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

test("stats show sessions at once, session length, launches per workspace and refusals by reason", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Stan Stats" });
  const workspace = await createWorkspace(admin.api, {
    name: "Stats Wiki",
    kind: "web",
    url: stack.api.inspectorUrl,
    driver: null,
    program: null,
    allowedRoles: ["user"],
  });
  const session = await person.api.workspace.launch.mutate({ workspaceId: workspace.id });
  await person.api.workspace.launch.mutate({ workspaceId: workspace.id });
  await person.api.session.disconnect.mutate({ sessionId: session.id });
  // A refusal: no admin may remove their own account.
  const me = await admin.api.auth.me.query();
  await expect(admin.api.user.remove.mutate({ userId: me.user.id })).rejects.toThrow();

  await signIn(page, admin.email, admin.password);
  await page.goto("/admin/stats");
  await expect(
    page.getByText(/At most [1-9]\d* running at the same time in the last 24 hours\./),
  ).toBeVisible();
  await expect(page.getByRole("list", { name: "Launches per workspace, last 24 hours" })).toContainText(
    /Stats Wiki\s*2/,
  );
  await expect(page.getByRole("list", { name: "Refusals by reason, last 24 hours" })).toContainText(
    "Own account",
  );
  await expect(page.getByRole("list", { name: "Sessions by how long they ran" })).toContainText(
    "under 5 min",
  );
  await expect(page.getByText(/Sessions that ended in the last 24 hours; half ran under/)).toBeVisible();
  await page.screenshot({ path: join(SCREENSHOTS, "stats-desktop.png"), fullPage: true });

  await page.getByRole("radio", { name: "30 days" }).click();
  await expect(page.getByRole("list", { name: "Refusals by reason, last 30 days" })).toContainText(
    "Own account",
  );
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SCREENSHOTS, "stats-phone.png"), fullPage: true });
});
