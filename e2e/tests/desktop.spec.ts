/// <reference lib="dom" />
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Locator, Page } from "@playwright/test";
import { createLocalUser, createWorkspace } from "../src/api.ts";
import { distinctColours, expect, launchFromHome, signIn, test } from "./fixtures.ts";

/*
 * The product's core path on the real thing: a person launches a desktop (a real Xvnc, openbox,
 * xterm and file manager in a bubblewrap sandbox on the API's workspace host), the portal shows
 * it through the gateway, keys typed in Chromium reach a program inside, and an end decided
 * elsewhere (an admin, the workspace's own death) reaches the viewer with the reason in words.
 */

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

/** Clicks at a point of the remote screen given in its own pixels (1280×800 by default). */
async function clickRemote(canvas: Locator, x: number, y: number, screen = { width: 1280, height: 800 }) {
  const box = await canvas.boundingBox();
  if (box === null) throw new Error("the workspace screen is not visible");
  await canvas
    .page()
    .mouse.click(box.x + (x / screen.width) * box.width, box.y + (y / screen.height) * box.height);
}

async function launchDesktop(page: Page, name: string): Promise<string> {
  const started = Date.now();
  const sessionId = await launchFromHome(page, name);
  await expect(page.getByText("Connected", { exact: true })).toBeVisible({ timeout: 15_000 });
  // The desktop is drawn: a blank or uniform screen has one or two colours.
  await expect.poll(() => distinctColours(page), { timeout: 10_000 }).toBeGreaterThan(8);
  test.info().annotations.push({ type: "launch-to-picture-ms", description: String(Date.now() - started) });
  return sessionId;
}

test("a person launches a desktop, sees it drawn, types into its terminal, and an admin's end reaches the viewer within 3 s", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Dana Desktop" });
  const workspace = await createWorkspace(admin.api, { name: "Dana's Desktop", allowedRoles: ["user"] });
  await signIn(page, person.email, person.password);

  const sessionId = await launchDesktop(page, workspace.name);
  await page.screenshot({ path: join(SCREENSHOTS, "desktop-connected.png") });

  // The xterm sits at +40+40 on the remote screen: focus it, type a command, find its effect in
  // the sandbox's home on the host.
  const canvas = page.locator('[data-testid="workspace-screen"] canvas');
  await clickRemote(canvas, 300, 200);
  await page.keyboard.type("echo typed-in-chromium > proof.txt", { delay: 15 });
  await page.keyboard.press("Enter");
  const proof = join(stack.api.dataDir, "host", "local", "workspaces", sessionId, "home", "proof.txt");
  await expect
    .poll(() => (existsSync(proof) ? readFileSync(proof, "utf8").trim() : ""), { timeout: 10_000 })
    .toBe("typed-in-chromium");
  await page.screenshot({ path: join(SCREENSHOTS, "desktop-typed.png") });

  const started = Date.now();
  await admin.api.session.disconnect.mutate({ sessionId, note: "maintenance window" });
  await expect(page.getByRole("alert")).toContainText("Ended by an administrator", { timeout: 3_000 });
  expect(Date.now() - started).toBeLessThan(3_000);
  await page.screenshot({ path: join(SCREENSHOTS, "desktop-ended-by-admin.png") });

  // The sandbox goes with the session (the host's reconciler, within a few seconds).
  await expect
    .poll(() => existsSync(join(stack.api.dataDir, "host", "local", "workspaces", sessionId)), {
      timeout: 10_000,
    })
    .toBe(false);
});

test("killing the workspace's processes ends the session and the viewer says so", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Kim Killed" });
  const workspace = await createWorkspace(admin.api, { name: "Kim's Desktop", allowedRoles: ["user"] });
  await signIn(page, person.email, person.password);
  const sessionId = await launchDesktop(page, workspace.name);

  // Every process of the session runs as its own account: kill them all, as a crash or an
  // out-of-memory kill would.
  const record = join(stack.api.dataDir, "host", "local", "sessions", `${sessionId}.json`);
  const { uid } = JSON.parse(readFileSync(record, "utf8")) as { uid: number };
  execFileSync("pkill", ["-KILL", "-u", String(uid)]);
  await expect(page.getByRole("alert")).toContainText(/workspace (stopped|exited|ended)/i, {
    timeout: 10_000,
  });
  const history = await admin.api.session.list.query({ userId: person.id, limit: 5 });
  expect(history.items.find((session) => session.id === sessionId)).toMatchObject({
    status: "ended",
    endReason: "workspace_exited",
  });
});
