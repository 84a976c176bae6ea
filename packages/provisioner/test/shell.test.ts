import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { encodeTerminalInput, encodeTerminalResize } from "@neosc/core/terminal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHELL_SOCKET, shellEndpoint, shellHostCommand, waitForShellHost } from "../src/shell.ts";

/*
 * The shell host in a real bubblewrap sandbox as an unprivileged account. The sandbox here is
 * the minimal one a local shell needs (read-only /usr and /etc, private /tmp, the session folder
 * at /session, setpriv to the session's uid); the local driver's own sandbox replaces it.
 */

const uid = 1_899_990_000 + Math.floor(Math.random() * 9000);
let root: string;
let sessionDir: string;
let outside: string;
let host: ChildProcess;
let exited: Promise<number | null>;

function sandboxed(command: string[]): { file: string; args: string[] } {
  const links = ["bin", "sbin", "lib", "lib64"].flatMap((name) => ["--symlink", `usr/${name}`, `/${name}`]);
  return {
    file: "bwrap",
    args: [
      "--unshare-ipc",
      "--unshare-pid",
      "--unshare-uts",
      "--unshare-net",
      "--die-with-parent",
      "--new-session",
      "--ro-bind",
      "/usr",
      "/usr",
      ...links,
      "--ro-bind",
      "/etc",
      "/etc",
      "--ro-bind",
      "/dev/null",
      "/etc/shadow",
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "--tmpfs",
      "/tmp",
      "--bind",
      sessionDir,
      "/session",
      "--clearenv",
      "--setenv",
      "PATH",
      "/usr/bin:/bin",
      "--setenv",
      "HOME",
      "/session/home",
      "--chdir",
      "/",
      "--",
      "/usr/bin/setpriv",
      `--reuid=${uid}`,
      `--regid=${uid}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--bounding-set=-all",
      "--no-new-privs",
      "--",
      ...command,
    ],
  };
}

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
      const socket = connect({ path: path.join(sessionDir, SHELL_SOCKET) });
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
  sessionDir = path.join(root, "session");
  mkdirSync(path.join(sessionDir, "home"), { recursive: true, mode: 0o700 });
  chownSync(sessionDir, uid, uid);
  chownSync(path.join(sessionDir, "home"), uid, uid);
  // World-readable, outside the sandbox: only the sandbox can keep the shell from it.
  outside = path.join("/var/tmp", `neosc-outside-${randomBytes(4).toString("hex")}`);
  writeFileSync(outside, "not for workspaces\n", { mode: 0o644 });
  const { file, args } = sandboxed(shellHostCommand({ socketPath: `/session/${SHELL_SOCKET}` }));
  host = spawn(file, args, { stdio: ["ignore", "ignore", "inherit"] });
  exited = new Promise((resolve) => host.once("exit", (code) => resolve(code)));
  expect(await waitForShellHost(shellEndpoint(sessionDir).endpoint, 5000)).toBe(true);
});

afterAll(async () => {
  if (host.exitCode === null) host.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { force: true });
});

describe("a local shell", () => {
  it("runs as the session's unprivileged account and cannot read the host's files", async () => {
    const client = await ShellClient.open();
    client.type(`echo uid=$(id -u)=; cat ${outside}; echo status=$?\r`);
    const [, seenUid] = (await client.waitFor(/uid=(\d+)=/)) ?? [];
    expect(Number(seenUid)).toBe(uid);
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

  it("closes every connection and exits with the shell's status when the shell exits", async () => {
    const [a, b] = [await ShellClient.open(), await ShellClient.open()];
    a.type("exit 7\r");
    await Promise.all([a.ended, b.ended]);
    expect(await exited).toBe(7);
  });
});
