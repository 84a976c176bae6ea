/// <reference lib="dom" />
import { join } from "node:path";
import { startSshd, type TestSshd } from "@neosc/provisioner/testing/sshd";
import type { Page } from "@playwright/test";
import { createLocalUser, createWorkspace, withPolicy } from "../src/api.ts";
import { expect, launchFromHome, signIn, test, workspaceCard } from "./fixtures.ts";

/*
 * Terminals on the real thing: a local shell in a bubblewrap sandbox on the API's workspace
 * host, and an internal host over ssh (a real OpenSSH server on loopback with its own host key),
 * both in xterm.js in Chromium through the gateway.
 */

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

let sshd: TestSshd;
test.beforeAll(async () => {
  sshd = await startSshd();
});
test.afterAll(async () => {
  await sshd?.stop();
});

const terminal = (page: Page) => page.getByTestId("workspace-terminal");

async function launchTerminal(page: Page, name: string): Promise<string> {
  const sessionId = await launchFromHome(page, name);
  await expect(page.getByText("Connected", { exact: true })).toBeVisible({ timeout: 15_000 });
  await terminal(page).click();
  return sessionId;
}

/** A paste as the browser delivers one (what Ctrl+Shift+V or the context menu does). */
async function paste(page: Page, text: string) {
  await page.evaluate((content) => {
    const data = new DataTransfer();
    data.setData("text/plain", content);
    document
      .querySelector(".xterm-helper-textarea")
      ?.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

test("a local shell: typed commands run in the sandbox, a reload finds the same shell, an admin's end reaches it within 3 s", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Tess Terminal" });
  const workspace = await createWorkspace(admin.api, {
    name: "Tess's Shell",
    kind: "terminal",
    program: "shell",
    allowedRoles: ["user"],
  });
  await signIn(page, person.email, person.password);
  const sessionId = await launchTerminal(page, workspace.name);

  // The arithmetic happens in the shell, so the answer is not the echo of what was typed.
  await page.keyboard.type("echo sum-$((20+22)) uid=$(id -u) pid=$$\n");
  const line = terminal(page).getByText(/sum-42 uid=\d+ pid=\d+/);
  await expect(line).toBeVisible();
  const [, uid, pid] = (await line.textContent())?.match(/uid=(\d+) pid=(\d+)/) ?? [];
  expect(Number(uid)).toBeGreaterThanOrEqual(1_900_000_000);
  await page.screenshot({ path: join(SCREENSHOTS, "terminal-local.png") });

  // A reconnect (here: a reload) attaches to the same shell and shows what it printed before.
  await page.reload();
  await expect(page.getByText("Connected", { exact: true })).toBeVisible({ timeout: 15_000 });
  await expect(terminal(page).getByText(/sum-42 uid=/)).toBeVisible();
  await terminal(page).click();
  await page.keyboard.type("echo again pid=$$\n");
  await expect(terminal(page).getByText(`again pid=${pid}`)).toBeVisible();

  const started = Date.now();
  await admin.api.session.disconnect.mutate({ sessionId, note: "maintenance window" });
  await expect(page.getByRole("alert")).toContainText("Ended by an administrator", { timeout: 3_000 });
  expect(Date.now() - started).toBeLessThan(3_000);
  await page.screenshot({ path: join(SCREENSHOTS, "terminal-ended-by-admin.png") });
});

test("the clipboard policy: a paste reaches the shell when it is off, and is refused (and said so) when paste is switched off", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Cleo Clipboard" });
  const workspace = await createWorkspace(admin.api, {
    name: "Cleo's Shell",
    kind: "terminal",
    program: "shell",
    allowedRoles: ["user"],
  });
  await signIn(page, person.email, person.password);
  await launchTerminal(page, workspace.name);
  // Bash takes pastes bracketed: a pasted line waits for Enter instead of running at once.
  await paste(page, "echo pasted-$((6*6))");
  await page.keyboard.press("Enter");
  await expect(terminal(page).getByText("pasted-36")).toBeVisible();

  const restore = await withPolicy(admin.api, "clipboard", {
    enabled: true,
    settings: { toWorkspace: false, fromWorkspace: false, maxBytes: 1024 },
  });
  try {
    // The policy applies from the next connection.
    await page.reload();
    await expect(page.getByText("Connected", { exact: true })).toBeVisible({ timeout: 15_000 });
    await terminal(page).click();
    await paste(page, "echo blocked-$((7*7))");
    await page.keyboard.press("Enter");
    await expect(
      terminal(page).getByText("Pasting into this workspace is turned off by policy"),
    ).toBeVisible();
    await page.keyboard.type("echo typed-$((8*8))\n");
    await expect(terminal(page).getByText("typed-64")).toBeVisible();
    await expect(terminal(page).getByText("blocked-49")).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Send clipboard" })).toBeDisabled();
    await page.screenshot({ path: join(SCREENSHOTS, "terminal-paste-refused.png") });
  } finally {
    await restore();
  }
});

test("an ssh host: the command runs there; a host whose key is not the pinned one is refused, in words", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Sam Ssh" });
  const target = { host: sshd.host, port: sshd.port, username: sshd.username };
  const good = await createWorkspace(admin.api, {
    name: "Sam's Bastion",
    kind: "terminal",
    driver: "ssh",
    program: null,
    sshTarget: { ...target, hostKey: sshd.hostKey },
    sshCredential: { kind: "privateKey", privateKey: sshd.privateKey },
    allowedRoles: ["user"],
  });
  const impostor = await createWorkspace(admin.api, {
    name: "Sam's Impostor",
    kind: "terminal",
    driver: "ssh",
    program: null,
    sshTarget: { ...target, hostKey: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s" },
    sshCredential: { kind: "password", password: sshd.password },
    allowedRoles: ["user"],
  });
  await signIn(page, person.email, person.password);
  await launchTerminal(page, good.name);
  await page.keyboard.type("echo on-$(hostname)-as-$(id -un) $((3*14))\n");
  await expect(terminal(page).getByText(new RegExp(`as-${sshd.username} 42`))).toBeVisible();
  await page.screenshot({ path: join(SCREENSHOTS, "terminal-ssh.png") });

  await page.goto("/");
  await workspaceCard(page, impostor.name)
    .getByRole("button", { name: `Launch ${impostor.name}` })
    .click();
  await expect(page.getByRole("alert")).toContainText("The host is not the one NeoSC knows", {
    timeout: 15_000,
  });
  await page.screenshot({ path: join(SCREENSHOTS, "terminal-ssh-host-key-refused.png") });
});
