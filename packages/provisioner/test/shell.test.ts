import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { encodeTerminalInput, encodeTerminalResize } from "@neosc/core/terminal";
import { testWorkspace as workspace } from "@neosc/core/testing/workspace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalDriver } from "../src/local.ts";
import type { Endpoint, Provisioner } from "../src/provisioner.ts";

/*
 * A local shell as the local driver runs it: the shell host in the session's bubblewrap
 * sandbox as the session's own account, reached on its socket the way the gateway reaches it.
 */

let root: string;
let outside: string;
let driver: Provisioner;
let sessionId: string;
let socketPath: string;
const exited: string[] = [];

class ShellClient {
  output = "";
  readonly ended: Promise<void>;
  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.output += chunk.toString("utf8");
    });
    this.ended = new Promise((resolve) => socket.once("close", () => resolve()));
  }
  static open(): Promise<ShellClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ path: socketPath });
      socket.once("connect", () => resolve(new ShellClient(socket)));
      socket.once("error", reject);
    });
  }
  type(text: string) {
    this.socket.write(encodeTerminalInput(text));
  }
  async waitFor(pattern: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const match = this.output.match(pattern);
      if (match) return match;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no ${pattern} in ${JSON.stringify(this.output.slice(-400))}`);
  }
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), "neosc-shell-"));
  // World-readable, outside the sandbox: only the sandbox can keep the shell from it.
  outside = path.join("/var/tmp", `neosc-outside-${randomBytes(4).toString("hex")}`);
  writeFileSync(outside, "not for workspaces\n", { mode: 0o644 });
  // Accounts of its own, away from other drivers' on this machine.
  driver = createLocalDriver({
    dataDir: root,
    firstUid: 1_899_000_000 + Math.floor(Math.random() * 900_000),
  });
  driver.onExit?.((id) => exited.push(id));
  sessionId = randomUUID();
  const endpoint = await driver.start({
    sessionId,
    userId: "u1",
    workspace: workspace({ kind: "terminal", program: "shell" }),
  });
  expect(endpoint.protocol).toBe("shell");
  socketPath = (endpoint.endpoint as Extract<Endpoint, { transport: "unix" }>).path;
});

afterAll(async () => {
  await driver?.stop(sessionId);
  if (root) rmSync(root, { recursive: true, force: true });
  if (outside) rmSync(outside, { force: true });
});

describe("a local shell", () => {
  it("runs as the session's unprivileged account and cannot read the host's files", async () => {
    const client = await ShellClient.open();
    client.type(`echo uid=$(id -u)=; cat ${outside}; echo status=$?\r`);
    const [, seenUid] = (await client.waitFor(/uid=(\d+)=/)) ?? [];
    expect(Number(seenUid)).toBeGreaterThanOrEqual(1_899_000_000);
    await client.waitFor(/status=1/);
    expect(client.output).toMatch(/No such file or directory/);
    expect(client.output).not.toContain("not for workspaces");
    client.socket.destroy();
  });

  it("keeps the same shell across connections and replays its scrollback", async () => {
    const first = await ShellClient.open();
    first.type("echo pid=$$ first-$((20+1))\r");
    const [, pid] = (await first.waitFor(/pid=(\d+) first-21/)) ?? [];
    first.socket.destroy();

    const second = await ShellClient.open();
    // Before anything is typed: the earlier output, from the scrollback.
    await second.waitFor(/pid=\d+ first-21/);
    second.socket.write(encodeTerminalResize(90, 21));
    second.type("echo again pid=$$; stty size\r");
    expect((await second.waitFor(/again pid=(\d+)/))[1]).toBe(pid);
    await second.waitFor(/21 90/);
    second.socket.destroy();
  });

  it("closes every connection when the shell exits, and the session's workspace is over", async () => {
    const [a, b] = [await ShellClient.open(), await ShellClient.open()];
    a.type("exit 7\r");
    await Promise.all([a.ended, b.ended]);
    await expect
      .poll(async () => (await driver.list()).find((entry) => entry.sessionId === sessionId)?.alive)
      .toBe(false);
    await expect.poll(() => exited).toContain(sessionId);
  });
});
