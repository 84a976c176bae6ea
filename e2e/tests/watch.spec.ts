/// <reference lib="dom" />
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { createLocalUser, createWorkspace } from "../src/api.ts";
import { expect, signIn, test, workspaceCard } from "./fixtures.ts";

/*
 * An admin watches a person's running desktop from the sessions page: a view-only noVNC viewer
 * shows the person's desktop, the watch is audited, and it ends when the session ends.
 */

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

async function distinctColours(page: Page, selector: string): Promise<number> {
  return page.evaluate((within) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`${within} canvas`);
    if (canvas === null || canvas.width === 0) return 0;
    const context = canvas.getContext("2d");
    if (context === null) return 0;
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const seen = new Set<number>();
    for (let index = 0; index < data.length; index += 4 * 97) {
      seen.add(((data[index] ?? 0) << 16) | ((data[index + 1] ?? 0) << 8) | (data[index + 2] ?? 0));
    }
    return seen.size;
  }, selector);
}

test("an admin watches a running desktop view-only from the sessions page; the watch is audited", async ({
  page,
  browser,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Wes Watched" });
  const workspace = await createWorkspace(admin.api, { name: "Wes's Desktop", allowedRoles: ["user"] });
  await signIn(page, person.email, person.password);
  await workspaceCard(page, workspace.name)
    .getByRole("button", { name: `Launch ${workspace.name}` })
    .click();
  await expect(page).toHaveURL(/\/workspace\/[0-9a-f-]{36}$/);
  const sessionId = page.url().split("/").pop() ?? "";
  await expect
    .poll(() => distinctColours(page, '[data-testid="workspace-screen"]'), { timeout: 20_000 })
    .toBeGreaterThan(8);

  const context = await browser.newContext();
  const watcher = await context.newPage();
  try {
    await signIn(watcher, stack.admin.email, stack.admin.password);
    await watcher.goto("/sessions");
    await watcher.getByRole("link", { name: `Watch ${workspace.name} of ${person.email}` }).click();
    await expect(watcher).toHaveURL(new RegExp(`/admin/watch/${sessionId}$`));
    await expect(watcher.getByText("View only", { exact: false })).toBeVisible();
    await expect
      .poll(() => distinctColours(watcher, '[data-testid="watch-screen"]'), { timeout: 20_000 })
      .toBeGreaterThan(8);
    await watcher.screenshot({ path: join(SCREENSHOTS, "watch-live.png") });
    // The person's own viewer stays connected while watched.
    await expect(page.getByText("Connected")).toBeVisible();
    const watches = await admin.api.audit.list.query({ action: "session.watch", resourceId: sessionId });
    expect(watches.items.length).toBeGreaterThan(0);

    await admin.api.session.disconnect.mutate({ sessionId, note: "watched" });
    await expect(watcher.getByText("Ended", { exact: true })).toBeVisible({ timeout: 10_000 });
  } finally {
    await context.close();
  }
});
