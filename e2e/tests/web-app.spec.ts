import { join } from "node:path";
import { createLocalUser, createWorkspace, withPolicy } from "../src/api.ts";
import { expect, launchFromHome, signIn, test } from "./fixtures.ts";

/*
 * An internal web app through the gateway, in Chromium: the request inspector that the API
 * starts on loopback (the default catalogue's web workspace) opens framed in the session page
 * from its session's own address, sees none of the portal's cookies, talks over a WebSocket
 * through the proxy, is refused a download while file transfer is off, and an admin's end
 * replaces it with the reason in words within 3 s.
 */

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

test("a person opens the internal web app from the portal, uses it, and an admin's end reaches them within 3 s", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Wendy Web" });
  const workspace = await createWorkspace(admin.api, {
    name: "Wendy's Inspector",
    kind: "web",
    url: stack.api.inspectorUrl,
    driver: null,
    program: null,
    allowedRoles: ["user"],
  });
  const restore = await withPolicy(admin.api, "file-transfer", {
    enabled: true,
    settings: { upload: false, download: false },
  });
  try {
    await signIn(page, person.email, person.password);
    const sessionId = await launchFromHome(page, workspace.name);

    const app = page.frameLocator('[data-testid="web-app-frame"]');
    await expect(app.getByRole("heading", { name: "Request inspector" })).toBeVisible({ timeout: 15_000 });
    const headers = app.locator("#headers");
    await expect(headers).not.toContainText("neosc_session");
    await expect(headers).not.toContainText("neosc_app");
    // The app greets each WebSocket with the cookies it received: none of NeoSC's.
    await expect(app.locator("#echo-log")).toContainText('"cookie":null');
    await app.getByRole("button", { name: "Send over the WebSocket" }).click();
    await expect(app.getByText("echo: hello")).toBeVisible();
    await page.screenshot({ path: join(SCREENSHOTS, "web-app-open.png") });

    // The frame's document is the session's, not the portal's.
    const frame = page.frames().find((candidate) => candidate !== page.mainFrame());
    expect(frame?.url()).toMatch(new RegExp(`/apps/${sessionId}/$|://${sessionId}\\.apps\\.`));

    await app.getByRole("link", { name: "Download a file" }).click();
    await expect(app.getByRole("heading", { name: "Downloads are off" })).toBeVisible();
    await page.screenshot({ path: join(SCREENSHOTS, "web-app-download-refused.png") });
    const refused = await admin.api.audit.list.query({ action: "webapp.download", limit: 1 });
    expect(refused.items[0]).toMatchObject({ result: "denied", reason: "file_transfer_off" });

    const started = Date.now();
    await admin.api.session.disconnect.mutate({ sessionId, note: "maintenance window" });
    await expect(page.getByTestId("web-app-ended")).toContainText("Ended by an administrator", {
      timeout: 3_000,
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    await page.screenshot({ path: join(SCREENSHOTS, "web-app-ended-by-admin.png") });
  } finally {
    await restore();
  }
});
