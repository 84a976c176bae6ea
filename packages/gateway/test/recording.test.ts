import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { decodeAsciicast, segmentFileName } from "@neosc/core/recording";
import type { Database } from "@neosc/db/database";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { SHELL_SOCKET, shellEndpoint, shellHostCommand, waitForShellHost } from "@neosc/provisioner/shell";
import { startXvnc, type TestXvnc } from "@neosc/provisioner/testing/xvnc";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { WorkspaceEndpoint } from "../src/endpoint.ts";
import { createRecordingStore, type RecordingStore } from "../src/recording.ts";
import { RfbTestClient } from "../testing/rfb-client.ts";
import { replayRfbSegment } from "../testing/rfb-replay.ts";
import { TerminalTestClient } from "../testing/terminal-client.ts";
import { type Launched, launchSession, ORIGIN, startGateway, type TestGateway } from "./support/gateway.ts";

/*
 * Recording at the gateway (ARCHITECTURE §10) with a real Xvnc: what the viewer received is
 * stored as a gzip segment per connection, its hash goes into the audit chain, and replaying the
 * file shows the same screen at the same moments. A disk that stops taking writes never makes the
 * gateway buffer without bound: `on` drops the recording (audited) and the session goes on,
 * `required` ends the session.
 */

let database: TestDatabase;
let db: Database;
let desktop: TestXvnc;
let folder: string;
const sessionStore = new Map<string, RecordingStore>();
/** Sessions that reach a terminal instead of the desktop. */
const endpointFor = new Map<string, WorkspaceEndpoint>();
let gateway: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  db = database.db;
  desktop = await startXvnc();
  folder = mkdtempSync(path.join(tmpdir(), "neosc-recordings-"));
  gateway = await startGateway({
    db,
    endpoints: async (session) =>
      endpointFor.get(session.id) ?? {
        protocol: "rfb",
        endpoint: { transport: "unix", path: desktop.socketPath },
      },
    recordings: createRecordingStore(folder),
    revocationPollMs: 200,
  });
});

afterAll(async () => {
  await gateway?.close();
  await desktop?.stop();
  await database?.drop();
  rmSync(folder, { recursive: true, force: true });
  sessionStore.clear();
});

afterEach(async () => {
  await db.policies.setEnabled("recording", false, null);
});

async function record(mode: "on" | "required", recordInput = false) {
  await db.policies.setSettings("recording", { mode, retentionDays: 30, recordInput }, null);
  await db.policies.setEnabled("recording", true, null);
}

async function open(target: TestGateway, launched: Launched) {
  const client = await RfbTestClient.open(target.url, {
    ticket: await launched.ticket(),
    origin: ORIGIN,
    cookie: launched.cookie,
  });
  await client.handshake();
  return client;
}

function x11(display: number, command: string, args: string[]) {
  return spawn(command, args, { env: { ...process.env, DISPLAY: `:${display}` }, stdio: "ignore" });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function auditOf(sessionId: string, action: string) {
  return db.audit.scan({ action, resourceType: "session", resourceId: sessionId }, 100);
}

async function waitFor<T>(read: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error("timed out");
    await sleep(100);
  }
}

describe("recording a desktop at the gateway", () => {
  it("stores what the viewer saw; the replay shows the window opened mid-session, at its time", async () => {
    await record("on");
    x11(desktop.display, "xsetroot", ["-solid", "#ff0000"]).unref();
    await sleep(300);
    const launched = await launchSession(db);
    const client = await open(gateway, launched);
    client.updateRequest(false);
    client.pointer(0, 20, 30);
    await sleep(600);
    const openedAt = Date.now();
    const window = x11(desktop.display, "xterm", [
      "-bg",
      "#0000ff",
      "-geometry",
      "30x10+200+150",
      "-e",
      "sleep 30",
    ]);
    const ticker = setInterval(() => client.updateRequest(true), 100);
    await sleep(2000);
    clearInterval(ticker);
    client.pointer(1, 250, 200);
    client.close();
    await client.closed;
    window.kill();

    const [entry] = await waitFor(async () => {
      const entries = await auditOf(launched.session.id, "recording.segment");
      return entries.length > 0 ? entries : undefined;
    });
    expect(entry?.details).toMatchObject({ segment: 1, kind: "rfb" });
    const file = path.join(folder, segmentFileName(launched.session.id, 1, "rfb"));
    const stored = readFileSync(file);
    const { createHash } = await import("node:crypto");
    expect(entry?.details.sha256).toBe(createHash("sha256").update(stored).digest("hex"));
    expect(entry?.details.bytes).toBe(stored.length);
    expect((await auditOf(launched.session.id, "recording.start")).length).toBe(1);

    const replay = replayRfbSegment(stored);
    expect(replay).toMatchObject({ width: 640, height: 480 });
    const first = replay.frames[0];
    expect(first?.pixel(10, 10)).toEqual([255, 0, 0]);
    expect(first?.pixel(250, 200)).toEqual([255, 0, 0]);
    const blue = replay.frames.find((frame) => {
      const [r, g, b] = frame.pixel(250, 200);
      return r === 0 && g === 0 && b === 255;
    });
    expect(blue, "the xterm appears in the replay").toBeDefined();
    // It appears after the first frame, about when it was opened (the segment began at connect).
    const connectedToOpen = openedAt - new Date(String(entry?.details.startedAt)).getTime();
    expect(blue?.at).toBeGreaterThan((first?.at ?? 0) + 200);
    expect(Math.abs((blue?.at ?? 0) - connectedToOpen)).toBeLessThan(1500);
    expect(replay.frames.at(-1)?.pixel(10, 10)).toEqual([255, 0, 0]);
    // The pointer is there for the player; keystrokes never are.
    expect(replay.pointers.map((p) => [p.mask, p.x, p.y])).toEqual([
      [0, 20, 30],
      [1, 250, 200],
    ]);
  });

  it("writes a new segment at each reconnect", async () => {
    await record("on");
    const launched = await launchSession(db);
    for (let i = 0; i < 2; i++) {
      const client = await open(gateway, launched);
      client.updateRequest(false);
      await client.nextUpdate();
      client.close();
      await client.closed;
    }
    const entries = await waitFor(async () => {
      const found = await auditOf(launched.session.id, "recording.segment");
      return found.length === 2 ? found : undefined;
    });
    expect(entries.map((e) => e.details.segment).sort()).toEqual([1, 2]);
  });

  it("records nothing while the policy is off", async () => {
    const launched = await launchSession(db);
    const client = await open(gateway, launched);
    client.updateRequest(false);
    await client.nextUpdate();
    client.close();
    await client.closed;
    await sleep(300);
    expect(await auditOf(launched.session.id, "recording.start")).toEqual([]);
  });
});

describe("recording a terminal at the gateway", () => {
  let dir: string;
  let host: ChildProcess;

  beforeAll(async () => {
    // A local shell host as the provisioner runs it, minus the sandbox: an unprivileged account.
    dir = mkdtempSync(path.join(tmpdir(), "neosc-rec-shell-"));
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
    // The killed host's shell may still be writing its history there: retried, not a failure.
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  async function terminal(launched: Launched) {
    endpointFor.set(launched.session.id, shellEndpoint(dir));
    return TerminalTestClient.open(gateway.url, {
      ticket: await launched.ticket(),
      origin: ORIGIN,
      cookie: launched.cookie,
    });
  }

  async function castOf(sessionId: string, segment: number) {
    const entry = await waitFor(async () =>
      (await auditOf(sessionId, "recording.segment")).find((e) => e.details.segment === segment),
    );
    const stored = readFileSync(path.join(folder, segmentFileName(sessionId, segment, "asciicast")));
    const { createHash } = await import("node:crypto");
    expect(entry.details).toMatchObject({ kind: "asciicast", bytes: stored.length });
    expect(entry.details.sha256).toBe(createHash("sha256").update(stored).digest("hex"));
    return { entry, cast: decodeAsciicast(gunzipSync(stored).toString("utf8")) };
  }

  it("stores asciicast v2: the command's output at about when it ran, the resize, no typed input", async () => {
    await record("on");
    const launched = await launchSession(db, { kind: "terminal" });
    const client = await terminal(launched);
    client.resize(100, 30);
    await sleep(800);
    const ranAt = Date.now();
    // The arithmetic happens in the shell: the output cannot be the echo of what was typed.
    client.type("echo recorded-$((6*7))-secret-free\r");
    await client.waitFor(/recorded-42-secret-free/);
    await sleep(300);
    client.close();
    await client.closed;

    const { entry, cast } = await castOf(launched.session.id, 1);
    expect(cast.header).toMatchObject({ version: 2, width: 80, height: 24, env: { TERM: "xterm-256color" } });
    expect(cast.truncated).toBe(false);
    expect(cast.events.find(([, code]) => code === "r")).toEqual([expect.any(Number), "r", "100x30"]);
    const output = cast.events.find(([, code, data]) => code === "o" && data.includes("recorded-42"));
    expect(output, "the command's output is in the recording").toBeDefined();
    const ranAfter = (ranAt - new Date(String(entry.details.startedAt)).getTime()) / 1000;
    expect(output?.[0]).toBeGreaterThanOrEqual(ranAfter - 0.05);
    expect(output?.[0]).toBeLessThan(ranAfter + 1.5);
    // Times only go forward, and nothing typed is kept by default.
    const times = cast.events.map(([time]) => time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(cast.events.filter(([, code]) => code === "i")).toEqual([]);
    const [started] = await auditOf(launched.session.id, "recording.start");
    expect(started?.details).toMatchObject({ kind: "asciicast", recordInput: false });
  });

  it("keeps typed input only when the policy says so, and a new segment at each reconnect", async () => {
    await record("on", true);
    const launched = await launchSession(db, { kind: "terminal" });
    for (const word of ["first", "second"]) {
      const client = await terminal(launched);
      client.type(`echo typed-${word}\r`);
      await client.waitFor(new RegExp(`typed-${word}\\r?\\n`));
      client.close();
      await client.closed;
    }
    const first = await castOf(launched.session.id, 1);
    const second = await castOf(launched.session.id, 2);
    expect(first.cast.events.filter(([, code]) => code === "i").map(([, , data]) => data)).toEqual([
      "echo typed-first\r",
    ]);
    expect(second.cast.events.some(([, code, data]) => code === "i" && data.includes("typed-second"))).toBe(
      true,
    );
  });

  it("follows the pty's size whoever changes it: another tab of the session, stty in the shell", async () => {
    await record("on");
    const launched = await launchSession(db, { kind: "terminal" });
    const person = await terminal(launched);
    const [started] = await waitFor(async () => {
      const entries = await auditOf(launched.session.id, "recording.start");
      return entries.length > 0 ? entries : undefined;
    });
    // A second tab of the same session shares the pty, and resizes it.
    const tab = await terminal(launched);
    // Relaying once the shell's recent output (its prompt) is replayed to it.
    await tab.waitFor(/\$ /);
    tab.resize(90, 20);
    const from = person.output.length;
    person.type("stty size\r");
    await person.waitFor(/20 90/, { from });
    // A program inside the shell resizes it too, then prints.
    person.type("stty cols 101 rows 33; echo sized-$((50+50))\r");
    await person.waitFor(/sized-100/);
    await sleep(300);
    for (const client of [tab, person]) {
      client.close();
      await client.closed;
    }
    const { cast } = await castOf(launched.session.id, Number(started?.details.segment));
    const resizes = cast.events.filter(([, code]) => code === "r");
    // The pty may start at a size an earlier test left it at (an event at 0 s); then these two.
    expect(resizes.slice(-2).map(([, , data]) => data)).toEqual(["90x20", "101x33"]);
    const printed = cast.events.findIndex(([, code, data]) => code === "o" && data.includes("sized-100"));
    expect(cast.events.indexOf(resizes.at(-1) as (typeof cast.events)[number])).toBeLessThan(printed);
    // The sizes are the recording's: the person's own terminal keeps its size and gets no notices.
    expect(person.notices.filter((notice) => notice.type === "terminal_size")).toEqual([]);
  });

  it("a workspace that asks for recording is recorded while the policy is off", async () => {
    const workspace = await db.workspaces.create({
      slug: `recorded-shell-${Math.random().toString(36).slice(2, 8)}`,
      name: "Recorded shell",
      description: "",
      kind: "terminal",
      image: null,
      url: null,
      driver: "local",
      program: "shell",
      cpu: 1,
      memoryMb: 512,
      warm: 0,
      allowedRoles: ["user"],
      organizationId: null,
      enabled: true,
      tags: [],
      recording: "on",
    });
    const launched = await launchSession(db, { kind: "terminal", workspaceId: workspace.id });
    const client = await terminal(launched);
    client.type("echo override-$((2+2))\r");
    await client.waitFor(/override-4/);
    client.close();
    await client.closed;
    const { cast } = await castOf(launched.session.id, 1);
    expect(cast.events.some(([, code, data]) => code === "o" && data.includes("override-4"))).toBe(true);

    // Without the workspace's rule, the same policy records nothing.
    const plain = await launchSession(db, { kind: "terminal" });
    const other = await terminal(plain);
    other.type("echo plain\r");
    await other.waitFor(/plain\r?\n/);
    other.close();
    await other.closed;
    await sleep(300);
    expect(await auditOf(plain.session.id, "recording.start")).toEqual([]);
  });
});

describe("when recording does not work", () => {
  /** A disk that accepts the file and then never finishes a write. */
  const stuckDisk = async () => new Writable({ highWaterMark: 1, write() {} });

  /** Full-screen updates until the test is done: enough bytes to fill any buffer. */
  const keepAsking = (client: RfbTestClient) => {
    const timer = setInterval(() => client.updateRequest(false), 20);
    return () => clearInterval(timer);
  };

  async function gatewayWith(store: RecordingStore) {
    return startGateway({
      db,
      endpoints: async () => ({ protocol: "rfb", endpoint: { transport: "unix", path: desktop.socketPath } }),
      recordings: store,
      revocationPollMs: 200,
    });
  }

  it("`on`: a stuck disk stops the recording (audited), not the session", async () => {
    await record("on");
    const stuck = await gatewayWith(
      createRecordingStore(folder, {
        sink: stuckDisk,
        limits: { stallMs: 500, maxBufferedBytes: 1024 * 1024 },
      }),
    );
    try {
      const launched = await launchSession(db);
      const client = await open(stuck, launched);
      const stop = keepAsking(client);
      const failed = await waitFor(async () => (await auditOf(launched.session.id, "recording.failed"))[0]);
      stop();
      expect(failed).toMatchObject({ result: "error" });
      expect(["recording_stalled", "recording_overflow"]).toContain(failed.reason);
      // The relay goes on: the full frame arrives once the recorder let go of the workspace.
      const before = client.serverBytes;
      client.updateRequest(false);
      await waitFor(async () => (client.serverBytes > before + 640 * 480 ? true : undefined));
      expect(client.serverBytes).toBeGreaterThan(640 * 480 * 4);
      expect(client.ws.readyState).toBe(client.ws.OPEN);
      client.close();
      await client.closed;
      expect(await db.sessions.findById(launched.session.id)).toMatchObject({ status: "active" });
      expect(await auditOf(launched.session.id, "recording.segment")).toEqual([]);
    } finally {
      await stuck.close();
    }
  });

  it("`required`: a stuck disk ends the session with recording_failed", async () => {
    await record("required");
    const stuck = await gatewayWith(
      createRecordingStore(folder, {
        sink: stuckDisk,
        limits: { stallMs: 500, maxBufferedBytes: 1024 * 1024 },
      }),
    );
    try {
      const launched = await launchSession(db);
      const client = await open(stuck, launched);
      const stop = keepAsking(client);
      expect(await client.closed).toEqual({ code: 4000, reason: "recording_failed" });
      stop();
      expect(await db.sessions.findById(launched.session.id)).toMatchObject({
        status: "ended",
        endReason: "recording_failed",
      });
    } finally {
      await stuck.close();
    }
  });

  it("`required` with a recordings folder that cannot be written: the connection ends the session", async () => {
    await record("required");
    const blocker = path.join(folder, "not-a-folder");
    writeFileSync(blocker, "");
    const unwritable = await gatewayWith(createRecordingStore(path.join(blocker, "recordings")));
    try {
      expect(await createRecordingStore(path.join(blocker, "recordings")).writable()).toBe(false);
      const launched = await launchSession(db);
      const client = await RfbTestClient.open(unwritable.url, {
        ticket: await launched.ticket(),
        origin: ORIGIN,
        cookie: launched.cookie,
      });
      expect(await client.closed).toEqual({ code: 4000, reason: "recording_failed" });
      const [failed] = await auditOf(launched.session.id, "recording.failed");
      expect(failed).toMatchObject({ result: "error", reason: "recording_unavailable" });
    } finally {
      await unwritable.close();
    }
  });
});
