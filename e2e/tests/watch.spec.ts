/// <reference lib="dom" />
import { join } from "node:path";
import { createLocalUser, createWorkspace } from "../src/api.ts";
import { distinctColours, expect, launchFromHome, signIn, test } from "./fixtures.ts";

/*
 * An admin watches a person's running desktop from the sessions page: a view-only noVNC viewer
 * shows the person's desktop, the person's viewer says they are watched within 3 s of the watch
 * opening (and stops within 3 s of it closing), the watch is audited, and it ends when the session
 * ends. A local shell likewise, in xterm.js with input off: the shell's output so far, then what
 * the person types, and none of the admin's typing or resizing reaches the shell; the admin's
 * terminal is drawn at the person's size, even in a narrower window.
 */

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

test("an admin watches a running desktop view-only from the sessions page; the person is told; the watch is audited", async ({
  page,
  browser,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Wes Watched" });
  const workspace = await createWorkspace(admin.api, { name: "Wes's Desktop", allowedRoles: ["user"] });
  await signIn(page, person.email, person.password);
  const sessionId = await launchFromHome(page, workspace.name);
  await expect
    .poll(() => distinctColours(page, '[data-testid="workspace-screen"]'), { timeout: 20_000 })
    .toBeGreaterThan(8);

  const context = await browser.newContext();
  const watcher = await context.newPage();
  try {
    await signIn(watcher, stack.admin.email, stack.admin.password);
    await watcher.goto("/sessions");
    const notice = page.getByRole("status").filter({ hasText: "An administrator is watching this session" });
    await expect(notice).toBeHidden();
    await watcher.getByRole("link", { name: `Watch ${workspace.name} of ${person.email}` }).click();
    const watchClicked = Date.now();
    // The person's own viewer stays connected while watched, and says so within 3 s of the
    // admin's click: the gateway tells the person's connection, whichever replica holds it.
    await expect(notice).toBeVisible({ timeout: 3_000 });
    const shownAfterMs = Date.now() - watchClicked;
    await expect(page.getByText("Connected")).toBeVisible();
    await expect(watcher).toHaveURL(new RegExp(`/admin/watch/${sessionId}$`));
    await expect(watcher.getByText("View only", { exact: false })).toBeVisible();
    await expect
      .poll(() => distinctColours(watcher, '[data-testid="watch-screen"]'), { timeout: 20_000 })
      .toBeGreaterThan(8);
    await watcher.screenshot({ path: join(SCREENSHOTS, "watch-live.png") });
    await page.screenshot({ path: join(SCREENSHOTS, "watched-notice.png") });
    // The admin leaves: the notice goes with the watch, as soon.
    await watcher.goto("/sessions");
    const watchLeft = Date.now();
    await expect(notice).toBeHidden({ timeout: 3_000 });
    console.info(
      `watch notice: shown ${shownAfterMs} ms after the click, hidden ${Date.now() - watchLeft} ms after leaving`,
    );
    await watcher.getByRole("link", { name: `Watch ${workspace.name} of ${person.email}` }).click();
    await expect
      .poll(() => distinctColours(watcher, '[data-testid="watch-screen"]'), { timeout: 20_000 })
      .toBeGreaterThan(8);
    const watches = await admin.api.audit.list.query({ action: "session.watch", resourceId: sessionId });
    expect(watches.items.length).toBeGreaterThan(0);

    await admin.api.session.disconnect.mutate({ sessionId, note: "watched" });
    await expect(watcher.getByText("Ended", { exact: true })).toBeVisible({ timeout: 10_000 });
  } finally {
    await context.close();
  }
});

test("an admin watches a person typing in a local shell: the scrollback, then live output, and nothing of theirs reaches the shell", async ({
  page,
  browser,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Tom Typed" });
  const workspace = await createWorkspace(admin.api, {
    name: "Tom's Shell",
    kind: "terminal",
    program: "shell",
    allowedRoles: ["user"],
  });
  const shell = page.getByTestId("workspace-terminal");
  const context = await browser.newContext();
  const watcher = await context.newPage();
  try {
    // The admin signs in while the person launches and types.
    const [sessionId] = await Promise.all([
      (async () => {
        await signIn(page, person.email, person.password);
        const id = await launchFromHome(page, workspace.name);
        await expect(page.getByText("Connected", { exact: true })).toBeVisible({ timeout: 15_000 });
        await shell.click();
        // The arithmetic happens in the shell, so the answer is not the echo of what was typed.
        await page.keyboard.type("echo before-$((6*7))\n");
        await expect(shell.getByText("before-42")).toBeVisible();
        return id;
      })(),
      signIn(watcher, stack.admin.email, stack.admin.password),
    ]);
    await watcher.goto("/sessions");
    await watcher.getByRole("link", { name: `Watch ${workspace.name} of ${person.email}` }).click();
    const watched = watcher.getByTestId("watch-terminal");
    await expect(watcher.getByText("Live", { exact: true })).toBeVisible({ timeout: 10_000 });
    // What the shell printed before the watch opened is there first.
    await expect(watched.getByText("before-42")).toBeVisible();
    const notice = page.getByRole("status").filter({ hasText: "An administrator is watching this session" });
    await expect(notice).toBeVisible({ timeout: 3_000 });
    await expect(notice).toContainText("They see your terminal");

    // The person types; the admin sees it live.
    await shell.click();
    await page.keyboard.type("echo live-$((8*8))\n");
    await expect(watched.getByText("live-64")).toBeVisible({ timeout: 3_000 });

    // The admin types and resizes: nothing reaches the shell.
    await watched.click();
    await watcher.keyboard.type("echo leaked-$((9*9))\n");
    await watcher.setViewportSize({ width: 700, height: 500 });
    await watcher.waitForTimeout(500);
    await shell.click();
    await page.keyboard.type("echo after-$((5*5))\n");
    await expect(watched.getByText("after-25")).toBeVisible({ timeout: 3_000 });
    await expect(shell.getByText("leaked-81")).toHaveCount(0);
    await expect(shell.getByText("echo leaked")).toHaveCount(0);
    await expect(watched.getByText("leaked-81")).toHaveCount(0);

    // The admin's window is narrower than the person's: the watcher still draws at the person's
    // size, so a line as wide as the person's terminal is one line there too, not wrapped.
    await shell.click();
    await page.keyboard.type(
      "echo size=$(stty size)=; echo W$(printf '%*s' $(($(tput cols)-6)) '' | tr ' ' =)W\n",
    );
    await expect(shell.getByText(/size=\d+\s\d+=/)).toBeVisible({ timeout: 3_000 });
    const [, rows = "", cols = ""] = ((await shell.textContent()) ?? "").match(/size=(\d+)\s(\d+)=/) ?? [];
    expect(Number(cols)).toBeGreaterThan(90);
    await expect(watcher.getByTestId("watched-size")).toContainText(`${cols}×${rows}`);
    const widest = () =>
      watched
        .locator(".xterm-rows > div")
        .evaluateAll((lines) =>
          Math.max(0, ...lines.map((line) => line.textContent?.match(/W=+W/)?.[0].length ?? 0)),
        );
    await expect.poll(widest, { timeout: 3_000 }).toBe(Number(cols) - 4);
    expect(await watched.locator(".xterm-rows > div").count()).toBe(Number(rows));
    await watcher.screenshot({ path: join(SCREENSHOTS, "watch-terminal.png") });

    const watches = await admin.api.audit.list.query({ action: "session.watch", resourceId: sessionId });
    expect(watches.items.length).toBeGreaterThan(0);
    await admin.api.session.disconnect.mutate({ sessionId, note: "watched" });
    await expect(watcher.getByText("Ended", { exact: true })).toBeVisible({ timeout: 10_000 });
  } finally {
    await context.close();
  }
});
