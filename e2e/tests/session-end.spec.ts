import { join } from "node:path";
import { createLocalUser, createWorkspace, withPolicy } from "../src/api.ts";
import { expect, launchFromHome, runningNow, signIn, test, workspaceCard } from "./fixtures.ts";

/*
 * A session's end as its owner lives it, with a short idle limit (1 minute) on a real terminal
 * through the gateway: "Still there?" counts down while nothing is typed, its button is input
 * that moves the deadline, the end says why in words in the viewer, on the session page reached
 * later and in the history, and the home page lists a running session once.
 */

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

test.describe.configure({ timeout: 240_000 });

test("idle: “Still there?” before the end, its button keeps the session, then the end in words everywhere", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Ivy Idle" });
  const workspace = await createWorkspace(admin.api, {
    name: "Ivy's Shell",
    kind: "terminal",
    program: "shell",
    allowedRoles: ["user"],
  });
  const restore = await withPolicy(admin.api, "idle-timeout", { enabled: true, settings: { minutes: 1 } });
  try {
    await signIn(page, person.email, person.password);
    const sessionId = await launchFromHome(page, workspace.name);
    await expect(page.getByText("Connected", { exact: true })).toBeVisible({ timeout: 15_000 });

    // Nothing typed: with a 1-minute limit the warning is up at once and counts down.
    const warning = page.getByRole("alert").filter({ hasText: "Still there?" });
    await expect(warning).toBeVisible({ timeout: 20_000 });
    const secondsLeft = async () =>
      Number(/ends in (\d+) s/.exec((await warning.textContent()) ?? "")?.[1] ?? -1);
    await expect.poll(secondsLeft, { timeout: 30_000 }).toBeLessThan(45);
    await page.screenshot({ path: join(SCREENSHOTS, "session-end-still-there.png") });

    // The button is input the gateway counts: the deadline moves back to a minute away.
    await warning.getByRole("button", { name: "I'm still here" }).click();
    await expect.poll(secondsLeft, { timeout: 20_000 }).toBeGreaterThan(50);

    // Then nothing more: the gateway ends it, and the viewer says why in words.
    const ended = page.getByRole("alert").filter({ hasText: "Idle for 1 minute" });
    await expect(ended).toBeVisible({ timeout: 90_000 });
    await expect(ended).toContainText("Nothing was typed or clicked in the workspace for 1 minute");
    await page.screenshot({ path: join(SCREENSHOTS, "session-end-idle-viewer.png") });

    // The session page reached later says the same, never "not one of your sessions".
    await page.goto(`/workspace/${sessionId}`);
    await expect(page.getByText(`${workspace.name}: Idle for 1 minute`)).toBeVisible();
    await expect(page.getByText(/not one of your sessions/)).toHaveCount(0);
    await page.screenshot({ path: join(SCREENSHOTS, "session-end-idle-page-later.png") });

    // And the history.
    await page.goto("/sessions?tab=history");
    const row = page.getByRole("row").filter({ hasText: workspace.name });
    await expect(row).toContainText("Idle too long");
  } finally {
    await restore();
  }
});

test("a running session appears once on the home page, with one “End session”", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Otto Once" });
  const workspace = await createWorkspace(admin.api, {
    name: "Otto's Shell",
    kind: "terminal",
    program: "shell",
    allowedRoles: ["user"],
  });
  await person.api.workspace.launch.mutate({ workspaceId: workspace.id });
  await signIn(page, person.email, person.password);

  await expect(runningNow(page).getByRole("listitem").filter({ hasText: workspace.name })).toHaveCount(1);
  await expect(
    page.getByRole("button", { name: new RegExp(`^(End session|Stop) ${workspace.name}`) }),
  ).toHaveCount(1);
  // The card says it runs and opens it; the link names the workspace.
  const card = workspaceCard(page, workspace.name);
  await expect(card.getByText("Running", { exact: true })).toBeVisible();
  await expect(page.getByRole("link", { name: `Open ${workspace.name}` })).toHaveCount(2);

  await page.getByRole("button", { name: `End session ${workspace.name}` }).click();
  await expect(runningNow(page).getByText("Nothing running.")).toBeVisible();
});
