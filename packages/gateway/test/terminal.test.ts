import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Database } from "@neosc/db/database";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { SHELL_SOCKET, shellEndpoint, shellHostCommand, waitForShellHost } from "@neosc/provisioner/shell";
import { startSshd, type TestSshd } from "@neosc/provisioner/testing/sshd";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { WorkspaceEndpoint } from "../src/endpoint.ts";
import { TerminalTestClient } from "../testing/terminal-client.ts";
import { type Launched, launchSession, ORIGIN, startGateway, type TestGateway } from "./support/gateway.ts";

/*
 * Terminals through the real gateway: a real OpenSSH server on loopback (its own host key, an
 * unprivileged test account) and real WebSockets.
 */

let database: TestDatabase;
let db: Database;
let sshd: TestSshd;
let gateway: TestGateway;
const endpointFor = new Map<string, WorkspaceEndpoint>();

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  db = database.db;
  sshd = await startSshd();
  gateway = await startGateway({
    db,
    endpoints: async (session) => endpointFor.get(session.id) ?? null,
    revocationPollMs: 200,
    inputWriteIntervalMs: 200,
  });
});

afterAll(async () => {
  await gateway?.close();
  await sshd?.stop();
  await database?.drop();
});

afterEach(async () => {
  await db.policies.setEnabled("idle-timeout", false, null);
  await db.policies.setEnabled("clipboard", false, null);
});

function sshEndpoint(overrides: { hostKey?: string; password?: string } = {}): WorkspaceEndpoint {
  const byPassword = overrides.password !== undefined;
  return {
    protocol: "ssh",
    endpoint: { transport: "tcp", host: sshd.host, port: sshd.port },
    secret: byPassword ? overrides.password : sshd.privateKey,
    ssh: {
      username: sshd.username,
      hostKey: overrides.hostKey ?? sshd.hostKey,
      auth: byPassword ? "password" : "privateKey",
    },
  };
}

async function sshTerminal(
  endpoint: WorkspaceEndpoint = sshEndpoint(),
  options: Parameters<typeof launchSession>[1] = {},
): Promise<{ launched: Launched; client: TerminalTestClient }> {
  const launched = await launchSession(db, options);
  endpointFor.set(launched.session.id, endpoint);
  const client = await TerminalTestClient.open(gateway.url, {
    ticket: await launched.ticket(),
    origin: ORIGIN,
    cookie: launched.cookie,
  });
  return { launched, client };
}

describe("an ssh terminal through the gateway", () => {
  it("runs what is typed on the host and shows its output; resizes reach the pty", async () => {
    const { client } = await sshTerminal();
    // The arithmetic happens in the remote shell, so the answer cannot be the echo of the input.
    client.type("echo neosc-$((6*7)) $(id -un)\r");
    await client.waitFor(/neosc-42 neosc-sshtest/);
    client.resize(123, 45);
    const from = client.output.length;
    client.type("stty size\r");
    await client.waitFor(/45 123/, { from });
    client.close();
  });

  it("logs in with a stored password as well as with a key", async () => {
    const { client } = await sshTerminal(sshEndpoint({ password: sshd.password }));
    client.type("echo pw-$((40+2))\r");
    await client.waitFor(/pw-42/);
    client.close();
  });

  it("refuses a host whose key is not the pinned one, saying so", async () => {
    const { launched, client } = await sshTerminal(
      sshEndpoint({ hostKey: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s" }),
    );
    expect(await client.closed).toEqual({ code: 4004, reason: "host_key_mismatch" });
    expect(client.output).toBe("");
    // The audit entry (written as the socket closes) names the key the host presented.
    await expect
      .poll(async () => {
        const audit = await db.audit.list({ action: "gateway.disconnect", limit: 20 });
        return String(audit.items.find((item) => item.resource.id === launched.session.id)?.details.detail);
      })
      .toContain(sshd.hostKey);
  });

  it("says so when the host refuses NeoSC's credential", async () => {
    const { client } = await sshTerminal(sshEndpoint({ password: "not-the-password" }));
    expect(await client.closed).toEqual({ code: 4004, reason: "workspace_auth_failed" });
  });

  it("closes within 3 s with the reason when an administrator ends the session", async () => {
    const { launched, client } = await sshTerminal();
    client.type("echo up-$((2+2))\r");
    await client.waitFor(/up-4/);
    const started = Date.now();
    await db.sessions.end(launched.session.id, { reason: "admin_disconnected", at: new Date() });
    expect(await client.closed).toEqual({ code: 4000, reason: "admin_disconnected" });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("ends the session when the shell exits", async () => {
    const { launched, client } = await sshTerminal();
    client.type("exit\r");
    expect(await client.closed).toEqual({ code: 4000, reason: "workspace_exited" });
    expect(await db.sessions.findById(launched.session.id)).toMatchObject({
      status: "ended",
      endReason: "workspace_exited",
    });
  });
});

describe("the terminal frame grammar", () => {
  const cases: [string, (client: TerminalTestClient) => void, number][] = [
    ["an unknown frame type", (client) => client.send([0x07, 1, 2]), 4008],
    ["a text message", (client) => client.ws.send("ls\r"), 4008],
    ["an empty input", (client) => client.send([0x00, 0, 0, 0, 0]), 4008],
    ["a zero terminal size", (client) => client.send([0x01, 0, 0, 0, 24]), 4008],
    ["an input longer than 64 KiB", (client) => client.send([0x00, 0, 1, 0, 1, 0x61]), 4009],
  ];
  for (const [what, send, code] of cases) {
    it(`closes on ${what} with ${code}`, async () => {
      const { client } = await sshTerminal();
      client.type("echo ready-$((1+1))\r");
      await client.waitFor(/ready-2/);
      send(client);
      expect((await client.closed).code).toBe(code);
    });
  }
});

describe("the clipboard policy on a terminal", () => {
  it("lets pastes through when the policy is off", async () => {
    const { client } = await sshTerminal();
    client.paste("echo pasted-$((5+5))\r");
    await client.waitFor(/pasted-10/);
    client.close();
  });

  it("refuses a paste into the workspace when it is switched off, says so, and audits it", async () => {
    await db.policies.setSettings(
      "clipboard",
      { toWorkspace: false, fromWorkspace: true, maxBytes: 1000 },
      null,
    );
    await db.policies.setEnabled("clipboard", true, null);
    const { launched, client } = await sshTerminal();
    client.type("echo ready-$((1+1))\r");
    await client.waitFor(/ready-2/);
    client.paste("echo blocked-$((7+7))\r");
    await client.waitFor(/Pasting into this workspace is turned off by policy/);
    // Typing still works, and the paste never reached the shell.
    const from = client.output.length;
    client.type("echo typed-$((8+8))\r");
    await client.waitFor(/typed-16/, { from });
    expect(client.output).not.toContain("blocked-14");
    await expect
      .poll(async () => {
        const audit = await db.audit.list({ action: "gateway.clipboard", limit: 20 });
        return audit.items.find((item) => item.resource.id === launched.session.id);
      })
      .toMatchObject({
        result: "denied",
        reason: "clipboard_to_workspace_off",
        details: { protocol: "ssh" },
      });
    client.close();
  });

  it("refuses a paste larger than the policy allows", async () => {
    await db.policies.setSettings(
      "clipboard",
      { toWorkspace: true, fromWorkspace: true, maxBytes: 24 },
      null,
    );
    await db.policies.setEnabled("clipboard", true, null);
    const { client } = await sshTerminal();
    client.paste("echo short-$((1+4))\r");
    await client.waitFor(/short-5/);
    client.paste("echo far-too-long-$((2+4)) xxxxxxxxxxxxxxxx\r");
    await client.waitFor(/larger than the policy allows/);
    const from = client.output.length;
    client.type("echo after-$((3+3))\r");
    await client.waitFor(/after-6/, { from });
    expect(client.output).not.toContain("far-too-long-6");
    client.close();
  });
});

describe("idle on a terminal", () => {
  it("counts typing and resizes as input, and output alone not at all", async () => {
    await db.policies.setSettings("idle-timeout", { minutes: 5 }, null);
    await db.policies.setEnabled("idle-timeout", true, null);
    const { launched, client } = await sshTerminal(sshEndpoint(), {
      idleEndsAt: new Date(Date.now() + 60_000),
    });
    const lastInputAt = async () => (await db.sessions.findById(launched.session.id))?.lastInputAt ?? null;
    expect(await lastInputAt()).toBeNull();

    client.type("for i in $(seq 1 30); do echo tick$i; sleep 0.1; done\r");
    await client.waitFor(/tick3\r?\n/);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const typed = await lastInputAt();
    expect(typed).toBeInstanceOf(Date);
    // Two more seconds of output and no input.
    await client.waitFor(/tick25/);
    expect(await lastInputAt()).toEqual(typed);

    client.resize(100, 30);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await lastInputAt())?.getTime()).toBeGreaterThan(typed?.getTime() ?? 0);
    client.close();
  });
});

describe("a local shell through the gateway", () => {
  let dir: string;
  let host: ChildProcess;

  beforeAll(async () => {
    // The shell host as the provisioner runs it, minus the sandbox (the provisioner's tests
    // cover that): an unprivileged account, its socket in a session folder.
    dir = mkdtempSync(path.join(tmpdir(), "neosc-gw-shell-"));
    chmodSync(dir, 0o777);
    const [file = "", ...args] = shellHostCommand({ socketPath: path.join(dir, SHELL_SOCKET) });
    host = spawn(file, args, {
      uid: 65534,
      gid: 65534,
      cwd: dir,
      env: { PATH: "/usr/bin:/bin", HOME: dir },
      stdio: "ignore",
    });
    expect(await waitForShellHost(shellEndpoint(dir).endpoint, 5000)).toBe(true);
  });

  afterAll(() => {
    if (host?.exitCode === null) host.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reconnects to the same shell with its scrollback, and ends the session when it exits", async () => {
    const launched = await launchSession(db);
    endpointFor.set(launched.session.id, shellEndpoint(dir));
    const open = async () =>
      TerminalTestClient.open(gateway.url, {
        ticket: await launched.ticket(),
        origin: ORIGIN,
        cookie: launched.cookie,
      });
    const first = await open();
    first.type("echo shell-$((3*3)) pid=$$ uid=$(id -u)=\r");
    const [, pid] = (await first.waitFor(/shell-9 pid=(\d+) uid=65534=/)) ?? [];
    first.close();
    await first.closed;

    const second = await open();
    await second.waitFor(/shell-9 pid=/);
    const from = second.output.length;
    second.type("echo again pid=$$\r");
    expect((await second.waitFor(/again pid=(\d+)/, { from }))[1]).toBe(pid);
    second.type("exit\r");
    expect(await second.closed).toEqual({ code: 4000, reason: "workspace_exited" });
    expect(await db.sessions.findById(launched.session.id)).toMatchObject({ endReason: "workspace_exited" });
  });
});
