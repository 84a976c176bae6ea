import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { GATEWAY_PATH } from "@neosc/core/connection";
import { segmentFileName } from "@neosc/core/recording";
import type { Database } from "@neosc/db/database";
import { connectDatabase } from "@neosc/db/database";
import { startLocalServer } from "@neosc/db/local-server";
import { createGateway } from "@neosc/gateway/gateway";
import { createRecordingStore } from "@neosc/gateway/recording";
import { RfbTestClient } from "@neosc/gateway/testing/rfb-client";
import { startXvnc } from "@neosc/provisioner/testing/xvnc";
import { RESULTS_DIR } from "../src/stack.ts";

/*
 * What recording costs at the gateway (issue 13), rows 8–10 of `pnpm bench:gateway` (also alone:
 * `pnpm --filter @neosc/e2e bench:recording`, .results/bench-recording.json): relay throughput of
 * full-screen Raw updates with recording off and on in alternating rounds of the same run, on an
 * incompressible (noise) desktop and on a real scrolling desktop (xterm scrolling text); stored
 * MB per hour of an idle and of a scrolling desktop, extrapolated from a bounded run; and the
 * process's RSS while recording noise at full speed onto a slow disk (a write stream throttled
 * in-process through the store's `sink` knob), which must stay bounded. Real Xvnc, real gateway
 * (in this process, so RSS includes the bench client), real WebSockets, real database.
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const SCROLL_SECONDS = Number(process.env.BENCH_SCROLL_SECONDS ?? 20);
const SLOW_SECONDS = Number(process.env.BENCH_SLOW_SECONDS ?? 15);
/** The slow disk's pace (bytes/s): a write stream throttled in-process (the store's `sink` knob). */
const SLOW_DISK_BPS = Number(process.env.BENCH_SLOW_DISK_BPS ?? 2_000_000);
const ORIGIN = "http://bench.test";

async function person(db: Database) {
  const user = await db.users.create({
    source: "local",
    email: `${randomBytes(6).toString("hex")}@bench.test`,
    name: "Bench",
    role: "user",
    organizationId: null,
    passwordHash: "unused",
    mustChangePassword: false,
  });
  const session = await db.sessions.createWithinLimit(
    {
      workspaceId: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
      workspaceSlug: "desktop",
      workspaceName: "Desktop",
      workspaceKind: "desktop",
      userId: user.id,
      userEmail: user.email,
      organizationId: null,
      startedAt: new Date(),
      clientIp: null,
      connectionUrl: null,
      endsAt: null,
      idleEndsAt: null,
    },
    null,
  );
  if (session === null) throw new Error("no session");
  const ticket = randomBytes(32).toString("base64url");
  const now = new Date();
  await db.connectTickets.issue(ticket, {
    sessionId: session.id,
    userId: user.id,
    loginSessionId: null,
    subject: null,
    issuedAt: now,
    expiresAt: new Date(now.getTime() + 60_000),
  });
  return { sessionId: session.id, ticket };
}

/** Reads one whole FramebufferUpdate of Raw rectangles; returns its bytes. */
async function readUpdate(client: RfbTestClient): Promise<number> {
  const rects = await client.nextUpdate();
  let bytes = 4;
  for (let i = 0; i < rects; i++) {
    const head = await client.stream.read(12);
    const size = head.readUInt16BE(4) * head.readUInt16BE(6) * 4;
    if (size > 0) await client.stream.read(size);
    bytes += 12 + size;
  }
  return bytes;
}

/** A row of `bench:gateway`'s table (gateway.ts prints these beside its own rows). */
export interface RecordingRow {
  row: string;
  variant: string;
  samples: number;
  /** The figures, named with their unit. */
  values: Record<string, number>;
  /** What the row's headline figure is, in words, for the table. */
  result: string;
  /** The same measurement on the ceiling (bare pipe), when there is one. */
  ceiling?: { what: string; result: string; values: Record<string, number> };
  /** Headline ÷ ceiling. */
  ratio?: number;
  target: string;
  met: boolean | null;
  note?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const round1 = (value: number) => Math.round(value * 10) / 10;

/** A disk that takes `bps` bytes a second: each write's callback waits for its share of time. */
function throttledSink(bps: number) {
  return async (file: string) => {
    const real = createWriteStream(file, { mode: 0o600 });
    let readyAt = Date.now();
    return new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, done) {
        readyAt = Math.max(readyAt, Date.now()) + (chunk.length / bps) * 1000;
        real.write(chunk, (error) =>
          setTimeout(() => done(error ?? null), Math.max(0, readyAt - Date.now())),
        );
      },
      final(done) {
        real.end(done);
      },
    });
  };
}

export async function recordingRows(): Promise<RecordingRow[]> {
  // A throwaway database of its own (`@neosc/db/testing` is for vitest suites).
  const server = await startLocalServer({ mode: "throwaway" });
  const database = await connectDatabase({ url: server.url, dbName: "bench_recording" });
  const { db } = database;
  const folder = mkdtempSync(path.join(tmpdir(), "neosc-bench-recordings-"));
  const desktop = await startXvnc({ geometry: "1280x800" });
  const x11 = { ...process.env, DISPLAY: `:${desktop.display}` };
  const noise = path.join(folder, "noise.png");
  execFileSync("convert", ["-size", "1280x800", "xc:", "+noise", "Random", noise]);
  const children: ChildProcess[] = [];
  const gateways: { close(): Promise<void> }[] = [];
  const https: ReturnType<typeof createServer>[] = [];
  /** A gateway of its own (the slow-disk row has a slow store), reachable over a real WebSocket. */
  const startGatewayWith = async (store: ReturnType<typeof createRecordingStore>) => {
    const http = createServer((_request, response) => response.writeHead(404).end());
    const gateway = createGateway({
      db,
      endpoints: async () => ({ protocol: "rfb", endpoint: { transport: "unix", path: desktop.socketPath } }),
      allowedOrigins: new Set([ORIGIN]),
      pomerium: null,
      loginCookie: null,
      recordings: store,
    });
    http.on("upgrade", (request, socket, head) => {
      if ((request.url ?? "").startsWith(GATEWAY_PATH)) gateway.handleUpgrade(request, socket, head);
      else socket.destroy();
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    gateways.push(gateway);
    https.push(http);
    return `ws://127.0.0.1:${(http.address() as AddressInfo).port}${GATEWAY_PATH}`;
  };
  const url = await startGatewayWith(createRecordingStore(folder));
  const connect = async (to = url) => {
    const { sessionId, ticket } = await person(db);
    const client = await RfbTestClient.open(to, { ticket, origin: ORIGIN });
    await client.handshake();
    return { sessionId, client };
  };
  const setRecording = async (on: boolean) => {
    await db.policies.setSettings("recording", { mode: "on", retentionDays: 30, recordInput: false }, null);
    await db.policies.setEnabled("recording", on, null);
  };
  /** Full-screen Raw updates as fast as the client reads them, for SECONDS; MB/s. */
  const pull = async () => {
    const { client } = await connect();
    const started = performance.now();
    let bytes = 0;
    while (performance.now() - started < SECONDS * 1000) {
      client.updateRequest(false, 1280, 800);
      bytes += await readUpdate(client);
    }
    const mbps = bytes / 1e6 / ((performance.now() - started) / 1000);
    client.close();
    await client.closed;
    return mbps;
  };
  /** Alternating rounds off/on, so a burst of load from elsewhere hits both alike. */
  const offOn = async (label: string) => {
    const rounds = { off: [] as number[], on: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ["off", "on"] as const) {
        await setRecording(mode === "on");
        const mbps = await pull();
        rounds[mode].push(round1(mbps));
        console.error(`[bench:recording] ${label}, recording ${mode}: ${mbps.toFixed(1)} MB/s`);
      }
    }
    const off = median(rounds.off);
    const on = median(rounds.on);
    const cost = 1 - on / off;
    return {
      row: "8 recording cost",
      variant: `${label}: relay with recording on vs off`,
      samples: ROUNDS,
      values: { onMBps: on, offMBps: off, costPercent: round1(cost * 100) },
      result: `${on} MB/s recorded`,
      ceiling: { what: "same run, recording off", result: `${off} MB/s`, values: { MBps: off } },
      ratio: Math.round((on / off) * 1000) / 1000,
      target: "cost ≤ 30 % (ratio ≥ 0.7)",
      met: cost <= 0.3,
      note: `full-screen 1280×800 Raw FramebufferUpdates pulled as fast as the client reads; ${ROUNDS} alternating rounds of ${SECONDS} s, medians; MB/s per round: off ${rounds.off.join(", ")}, on ${rounds.on.join(", ")}`,
    } satisfies RecordingRow;
  };
  /** Stored bytes of one recorded connection that asks for changes ten times a second (as noVNC). */
  const storedOver = async (seconds: number) => {
    await setRecording(true);
    const { sessionId, client } = await connect();
    client.updateRequest(false, 1280, 800);
    const asking = setInterval(() => client.updateRequest(true, 1280, 800), 100);
    const drain = (async () => {
      for (;;) await readUpdate(client);
    })().catch(() => {});
    await sleep(seconds * 1000);
    clearInterval(asking);
    client.close();
    await client.closed;
    await drain;
    await sleep(500);
    const stored = statSync(path.join(folder, segmentFileName(sessionId, 1, "rfb"))).size;
    return { stored, mbPerHour: round1(((stored / 1e6) * 3600) / seconds) };
  };
  const rows: RecordingRow[] = [];
  try {
    children.push(spawn("display", ["-window", "root", noise], { env: x11, stdio: "ignore" }));
    await sleep(1500);
    rows.push(await offOn("noise desktop"));
    (children.pop() as ChildProcess).kill();

    // A real scrolling desktop: an xterm over most of the screen printing a directory listing.
    execFileSync("xsetroot", ["-solid", "#2f5f7f"], { env: x11 });
    const scrolling = spawn(
      "xterm",
      ["-geometry", "160x50+0+0", "-e", "sh", "-c", "while :; do ls -l /usr/lib /usr/share; done"],
      { env: x11, stdio: "ignore" },
    );
    children.push(scrolling);
    await sleep(1500);
    rows.push(await offOn("scrolling desktop"));
    const scroll = await storedOver(SCROLL_SECONDS);
    scrolling.kill();
    children.pop();

    // Idle: a solid background and an xterm with a prompt.
    children.push(spawn("xterm", ["-geometry", "80x24+40+40"], { env: x11, stdio: "ignore" }));
    await sleep(1000);
    const idle = await storedOver(IDLE_SECONDS);
    rows.push({
      row: "9 MB per hour",
      variant: "idle desktop (solid background, an xterm)",
      samples: 1,
      values: { storedBytes: idle.stored, seconds: IDLE_SECONDS, mbPerHour: idle.mbPerHour },
      result: `${idle.mbPerHour} MB/h`,
      target: "≤ 50 MB/h (typical desktop)",
      met: idle.mbPerHour <= 50,
      note: `extrapolated from ${IDLE_SECONDS} s; Raw encoding (the bench client sends no SetEncodings, noVNC asks for Tight), so an upper bound: the first full frame is most of it`,
    });
    rows.push({
      row: "9 MB per hour",
      variant: "scrolling desktop (xterm 160×50 listing files without pause)",
      samples: 1,
      values: { storedBytes: scroll.stored, seconds: SCROLL_SECONDS, mbPerHour: scroll.mbPerHour },
      result: `${scroll.mbPerHour} MB/h`,
      target: "(worst case, no target)",
      met: null,
      note: `extrapolated from ${SCROLL_SECONDS} s of incremental updates asked ten times a second, Raw encoding`,
    });
    rows.push({
      row: "9 MB per hour",
      variant: "terminal (asciicast)",
      samples: 0,
      values: {},
      result: "not measured here",
      target: "",
      met: null,
      note: "this bench drives desktops only; terminal segments are asciicast text (see the recording helper's figures)",
    });
    (children.pop() as ChildProcess).kill();

    // Slow disk: noise pulled at full speed through a gateway whose recordings disk takes 2 MB/s.
    children.push(spawn("display", ["-window", "root", noise], { env: x11, stdio: "ignore" }));
    await sleep(1500);
    await setRecording(true);
    const slowUrl = await startGatewayWith(
      createRecordingStore(folder, { sink: throttledSink(SLOW_DISK_BPS), limits: { stallMs: 60_000 } }),
    );
    const rssBefore = process.memoryUsage().rss;
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(process.memoryUsage().rss), 200);
    const { client } = await connect(slowUrl);
    const started = performance.now();
    let bytes = 0;
    while (performance.now() - started < SLOW_SECONDS * 1000) {
      client.updateRequest(false, 1280, 800);
      bytes += await readUpdate(client);
    }
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    client.close();
    await client.closed;
    const failed = await db.audit.list({ action: "recording.failed", limit: 5 });
    const maxRss = Math.max(...samples);
    const half = samples.slice(Math.floor(samples.length / 2));
    rows.push({
      row: "10 memory, slow disk",
      variant: `recording noise at full speed onto a ${SLOW_DISK_BPS / 1e6} MB/s disk`,
      samples: samples.length,
      values: {
        rssBeforeMB: Math.round(rssBefore / 1e6),
        rssMaxMB: Math.round(maxRss / 1e6),
        rssMaxSecondHalfMB: Math.round(Math.max(...half) / 1e6),
        relayedMBps: round1(bytes / 1e6 / seconds),
        recordingFailures: failed.items.length,
      },
      result: `RSS ${Math.round(rssBefore / 1e6)} → max ${Math.round(maxRss / 1e6)} MB`,
      target: "bounded (the relay slows to the disk's pace; no growth)",
      met: maxRss - rssBefore < 100e6,
      note: `the disk is a write stream throttled in-process (the store's sink knob), ${SLOW_SECONDS} s; RSS of this process (gateway and bench client); the relay carried ${round1(bytes / 1e6 / seconds)} MB/s, the recorder held the workspace whenever 4 MiB waited`,
    });
  } finally {
    for (const child of children) child.kill();
    for (const gateway of gateways) await gateway.close();
    for (const http of https) http.close();
    await desktop.stop();
    await database.close();
    await server.stop();
    rmSync(folder, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await recordingRows();
  for (const row of rows)
    console.log(
      `${row.row} | ${row.variant} | ${row.result}${row.ceiling ? ` | ${row.ceiling.result}` : ""}${row.ratio === undefined ? "" : ` | ratio ${row.ratio}`} | ${row.met === null ? "" : row.met ? "met" : "NOT MET"}`,
    );
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    path.join(RESULTS_DIR, "bench-recording.json"),
    `${JSON.stringify({ when: new Date().toISOString(), rows }, null, 2)}\n`,
  );
  process.exit(0);
}
