import { createLocalUser, createWorkspace, withPolicy } from "../src/api.ts";
import { expect, signIn, test, workspaceCard } from "./fixtures.ts";

test("with at most 2 concurrent sessions, the third launch is refused with the limit in words", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Max Sessions" });
  const suffix = person.id.slice(0, 6);
  const first = await createWorkspace(admin.api, { name: `Alpha Desk ${suffix}`, allowedRoles: ["user"] });
  const second = await createWorkspace(admin.api, { name: `Beta Desk ${suffix}`, allowedRoles: ["user"] });
  const third = await createWorkspace(admin.api, { name: `Gamma Desk ${suffix}`, allowedRoles: ["user"] });
  const restore = await withPolicy(admin.api, "max-concurrent-sessions", {
    enabled: true,
    settings: { limit: 2 },
  });
  try {
    await signIn(page, person.email, person.password);
    for (const workspace of [first, second]) {
      const card = workspaceCard(page, workspace.name);
      await card.getByRole("button", { name: `Launch ${workspace.name}` }).click();
      // A launch opens the session's viewer; the home page then lists it as running.
      await expect(page).toHaveURL(/\/workspace\//);
      await page.goBack();
      await expect(card.getByText("Running", { exact: true })).toBeVisible();
    }
    const card = workspaceCard(page, third.name);
    await card.getByRole("button", { name: `Launch ${third.name}` }).click();
    await expect(card).toContainText("Session limit reached");
    await expect(card).toContainText("You already have 2 active sessions — the limit is 2.");
    await expect(card.getByText("Running", { exact: true })).toHaveCount(0);

    const active = await person.api.session.active.query();
    expect(active.map((session) => session.workspaceName).sort()).toEqual([first.name, second.name].sort());
  } finally {
    await restore();
  }
});
