import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { GATEWAY_PATH } from "@neosc/core/connection";
import { segmentFileName } from "@neosc/core/recording";
import type { Database } from "@neosc/db/database";
import { connectDatabase } from "@neosc/db/database";
import { startLocalServer } from "@neosc/db/local-server";
import { createGateway } from "@neosc/gateway/gateway";
import { createRecordingStore } from "@neosc/gateway/recording";
import { RfbTestClient } from "@neosc/gateway/testing/rfb-client";
import { startXvnc } from "@neosc/provisioner/testing/xvnc";

/*
 * What recording costs at the gateway (issue 13): relay throughput of full-screen Raw updates of
 * an incompressible (noise) desktop with recording off and on in the same run, and the stored
 * size of an idle desktop (solid background, an xterm) extrapolated to an hour. Real Xvnc, real
 * gateway, real database. `pnpm --filter @neosc/e2e bench:recording`.
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
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

async function main() {
  // A throwaway database of its own (`@neosc/db/testing` is for vitest suites).
  const server = await startLocalServer({ mode: "throwaway" });
  const database = await connectDatabase({ url: server.url, dbName: "bench_recording" });
  const { db } = database;
  const folder = mkdtempSync(path.join(tmpdir(), "neosc-bench-recordings-"));
  const desktop = await startXvnc({ geometry: "1280x800" });
  const x11 = { ...process.env, DISPLAY: `:${desktop.display}` };
  const noise = path.join(folder, "noise.png");
  execFileSync("convert", ["-size", "1280x800", "xc:", "+noise", "Random", noise]);
  const http = createServer((_request, response) => response.writeHead(404).end());
  const gateway = createGateway({
    db,
    endpoints: async () => ({ protocol: "rfb", endpoint: { transport: "unix", path: desktop.socketPath } }),
    allowedOrigins: new Set([ORIGIN]),
    pomerium: null,
    loginCookie: null,
    recordings: createRecordingStore(folder),
  });
  http.on("upgrade", (request, socket, head) => {
    if ((request.url ?? "").startsWith(GATEWAY_PATH)) gateway.handleUpgrade(request, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}${GATEWAY_PATH}`;
  const memory: number[] = [];
  const sampler = setInterval(() => memory.push(process.memoryUsage().rss), 200);

  const connect = async () => {
    const { sessionId, ticket } = await person(db);
    const client = await RfbTestClient.open(url, { ticket, origin: ORIGIN });
    await client.handshake();
    return { sessionId, client };
  };
  const setRecording = async (on: boolean) => {
    await db.policies.setSettings("recording", { mode: "on", retentionDays: 30, recordInput: false }, null);
    await db.policies.setEnabled("recording", on, null);
  };

  const shown = spawn("display", ["-window", "root", noise], { env: x11, stdio: "ignore" });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const throughput: Record<string, number> = {};
  for (const mode of ["off", "on", "off", "on"] as const) {
    await setRecording(mode === "on");
    const { client } = await connect();
    const started = performance.now();
    let bytes = 0;
    while (performance.now() - started < SECONDS * 1000) {
      client.updateRequest(false, 1280, 800);
      bytes += await readUpdate(client);
    }
    const mbps = bytes / 1e6 / ((performance.now() - started) / 1000);
    throughput[mode] = Math.max(throughput[mode] ?? 0, mbps);
    client.close();
    await client.closed;
    console.log(`relay, recording ${mode}: ${mbps.toFixed(1)} MB/s of Raw noise updates`);
  }
  shown.kill();

  // Idle: a solid background and an xterm; the viewer asks for changes ten times a second.
  execFileSync("xsetroot", ["-solid", "#2f5f7f"], { env: x11 });
  const xterm = spawn("xterm", ["-geometry", "80x24+40+40"], { env: x11, stdio: "ignore" });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await setRecording(true);
  const { sessionId, client } = await connect();
  client.updateRequest(false, 1280, 800);
  const asking = setInterval(() => client.updateRequest(true, 1280, 800), 100);
  const drain = (async () => {
    for (;;) await readUpdate(client);
  })().catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
  clearInterval(asking);
  client.close();
  await client.closed;
  await drain;
  await new Promise((resolve) => setTimeout(resolve, 500));
  xterm.kill();
  const stored = statSync(path.join(folder, segmentFileName(sessionId, 1, "rfb"))).size;
  clearInterval(sampler);

  const cost = 1 - (throughput.on ?? 0) / (throughput.off ?? 1);
  console.log(
    JSON.stringify(
      {
        relayMBps: throughput,
        recordingCostPercent: Math.round(cost * 1000) / 10,
        idleDesktop: {
          seconds: IDLE_SECONDS,
          storedBytes: stored,
          mbPerHour: Math.round(((stored / 1e6) * 3600 * 10) / IDLE_SECONDS) / 10,
          note: "an upper bound: the one-off first full frame (Raw: the bench client sends no SetEncodings) is most of it",
        },
        gatewayProcessRssMB: { max: Math.round(Math.max(...memory) / 1e6) },
      },
      null,
      2,
    ),
  );
  await gateway.close();
  http.close();
  await desktop.stop();
  await database.close();
  await server.stop();
  rmSync(folder, { recursive: true, force: true });
}

await main();
