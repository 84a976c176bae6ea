/// <reference lib="dom" />
import { join } from "node:path";
import { createLocalUser, createWorkspace, withPolicy } from "../src/api.ts";
import { distinctColours, expect, launchFromHome, signIn, test } from "./fixtures.ts";

/*
 * Recording end to end: with the `recording` policy on, a person's desktop session is recorded
 * at the gateway; afterwards an admin opens it from the session history and noVNC replays the
 * stored stream in the portal, drawing the same desktop the person saw. A terminal whose
 * workspace asks for recording (the policy off) is recorded as asciicast and replayed with
 * asciinema-player, reached from the session's audit entry.
 */

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

test("an admin replays a recorded desktop session from the history and sees the desktop", async ({
  page,
  stack,
  admin,
}) => {
  const restore = await withPolicy(admin.api, "recording", {
    enabled: true,
    settings: { mode: "on", retentionDays: 30 },
  });
  try {
    const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Rae Recorded" });
    const workspace = await createWorkspace(admin.api, { name: "Rae's Desktop", allowedRoles: ["user"] });
    await signIn(page, person.email, person.password);
    const sessionId = await launchFromHome(page, workspace.name);
    await expect
      .poll(() => distinctColours(page, '[data-testid="workspace-screen"]'), { timeout: 20_000 })
      .toBeGreaterThan(8);
    await page.waitForTimeout(1500);
    await admin.api.session.disconnect.mutate({ sessionId, note: "recorded" });
    await expect(page.getByRole("alert")).toContainText("Ended by an administrator", { timeout: 5_000 });

    await expect
      .poll(async () => (await admin.api.recording.list.query({ sessionId })).segments.length, {
        timeout: 10_000,
      })
      .toBeGreaterThan(0);

    await page.context().clearCookies();
    await signIn(page, stack.admin.email, stack.admin.password);
    await page.goto("/sessions?tab=history");
    await page.getByRole("link", { name: `Replay ${workspace.name} of ${person.email}` }).click();
    await expect(page).toHaveURL(new RegExp(`/admin/recordings/${sessionId}$`));
    await expect(page.getByText("keystrokes are never recorded", { exact: false })).toBeVisible();
    await expect(page.getByText("Matches the audit log")).toBeVisible({ timeout: 15_000 });
    await page.getByRole("button", { name: "Play" }).click();
    await expect
      .poll(() => distinctColours(page, '[aria-label="Recorded screen"]'), { timeout: 20_000 })
      .toBeGreaterThan(8);
    await page.screenshot({ path: join(SCREENSHOTS, "recording-replay.png") });
    const downloads = await admin.api.audit.list.query({
      action: "recording.download",
      resourceId: sessionId,
    });
    expect(downloads.items.length).toBeGreaterThan(0);
  } finally {
    await restore();
  }
});

test("a terminal whose workspace asks for recording is replayed from its audit entry, the command's output shown", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Tom Typed" });
  // The policy stays off: the workspace's own rule records it.
  const workspace = await createWorkspace(admin.api, {
    name: "Tom's Recorded Shell",
    kind: "terminal",
    program: "shell",
    allowedRoles: ["user"],
    recording: "on",
  });
  await signIn(page, person.email, person.password);
  const sessionId = await launchFromHome(page, workspace.name);
  await expect(page.getByText("Connected", { exact: true })).toBeVisible({ timeout: 15_000 });
  const terminal = page.getByTestId("workspace-terminal");
  await terminal.click();
  await page.waitForTimeout(1000);
  // The shell does the arithmetic: the replay shows output, not the echo of what was typed.
  await page.keyboard.type("echo replayed-$((6*7))-ok\n");
  await expect(terminal.getByText("replayed-42-ok")).toBeVisible();
  await page.waitForTimeout(500);
  await admin.api.session.disconnect.mutate({ sessionId, note: "recorded terminal" });
  await expect(page.getByRole("alert")).toContainText("Ended by an administrator", { timeout: 5_000 });
  await expect
    .poll(async () => (await admin.api.recording.list.query({ sessionId })).segments, { timeout: 10_000 })
    .toEqual([expect.objectContaining({ kind: "asciicast", segment: 1 })]);

  await page.context().clearCookies();
  await signIn(page, stack.admin.email, stack.admin.password);
  await page.goto("/admin/audit");
  await page
    .getByRole("link", { name: `Recording of session ${sessionId}` })
    .first()
    .click();
  await expect(page).toHaveURL(new RegExp(`/admin/recordings/${sessionId}$`));
  await expect(page.getByRole("button", { name: /^Terminal 1/ })).toBeVisible();
  await expect(page.getByText("Matches the audit log")).toBeVisible({ timeout: 15_000 });
  const replay = page.getByLabel("Recorded terminal");
  await page.getByLabel("Speed").selectOption("4");
  await page.getByRole("button", { name: "Play" }).click();
  await expect(replay.getByText("replayed-42-ok")).toBeVisible({ timeout: 20_000 });
  // Seeking back to the start clears the screen; forward again brings the line back.
  const position = page.getByLabel("Position in the recording");
  // At 4× the few seconds are over by now: the player stops at the end.
  await expect(page.getByRole("button", { name: "Play" })).toBeVisible({ timeout: 10_000 });
  await position.fill("0");
  await expect(replay.getByText("replayed-42-ok")).toHaveCount(0);
  await position.fill((await position.getAttribute("max")) ?? "10");
  await expect(replay.getByText("replayed-42-ok")).toBeVisible({ timeout: 10_000 });
  await page.screenshot({ path: join(SCREENSHOTS, "recording-terminal-replay.png") });
});
