import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { segmentFileName } from "@neosc/core/recording";
import type { Database } from "@neosc/db/database";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { startXvnc, type TestXvnc } from "@neosc/provisioner/testing/xvnc";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createRecordingStore, type RecordingStore } from "../src/recording.ts";
import { RfbTestClient } from "../testing/rfb-client.ts";
import { replayRfbSegment } from "../testing/rfb-replay.ts";
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
let gateway: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  db = database.db;
  desktop = await startXvnc();
  folder = mkdtempSync(path.join(tmpdir(), "neosc-recordings-"));
  gateway = await startGateway({
    db,
    endpoints: async () => ({ protocol: "rfb", endpoint: { transport: "unix", path: desktop.socketPath } }),
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

async function record(mode: "on" | "required") {
  await db.policies.setSettings("recording", { mode, retentionDays: 30 }, null);
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
    expect(entry?.details).toMatchObject({ segment: 1, protocol: "rfb" });
    const file = path.join(folder, segmentFileName(launched.session.id, 1));
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
