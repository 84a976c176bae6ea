import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { decodeAccessLog, segmentFileName } from "@neosc/core/recording";
import type { Database } from "@neosc/db/database";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type InspectorApp, startInspectorApp } from "../src/inspector-app.ts";
import { createRecordingStore } from "../src/recording.ts";
import { createWebProxy } from "../src/web-proxy.ts";
import { launchSession, ORIGIN } from "./support/gateway.ts";

/*
 * A web app's access log: with the `recording` policy on, the web proxy in front of a real app
 * (the request inspector) writes one JSON line per request of the session, never a body or a
 * query value, and its hash goes into the audit chain when the watch ends.
 */

let database: TestDatabase;
let db: Database;
let app: InspectorApp;
let server: Server;
let port: number;
let folder: string;

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  db = database.db;
  await db.policies.seedDefaults();
  await db.policies.setSettings("recording", { mode: "on", retentionDays: 30, recordInput: false }, null);
  await db.policies.setEnabled("recording", true, null);
  app = await startInspectorApp();
  folder = mkdtempSync(path.join(tmpdir(), "neosc-access-log-"));
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await app?.close();
  await database?.drop();
  rmSync(folder, { recursive: true, force: true });
});

function send(
  sessionId: string,
  target: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const request = httpRequest(
        {
          host: "127.0.0.1",
          port,
          path: target,
          method: init.method ?? "GET",
          headers: { host: `${sessionId}.apps.test:${port}`, ...init.headers },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString("utf8"),
            }),
          );
        },
      );
      request.on("error", reject);
      request.end(init.body);
    },
  );
}

describe("a web app session's access log", () => {
  it("lists the requests made (method, path, query names, status, bytes), hashed into the audit chain", async () => {
    const proxy = createWebProxy({
      db,
      addressing: { mode: "host", scheme: "http", domain: `apps.test:${port}` },
      portalOrigins: [ORIGIN],
      cookieSecret: "access-log-tests-cookie-secret-0123456789abcdef",
      pomerium: null,
      targets: async () => new URL(app.url),
      revocationPollMs: 200,
      recordings: createRecordingStore(folder),
    });
    server.removeAllListeners("request");
    server.on("request", (request, response) => {
      if (!proxy.handleRequest(request, response)) response.writeHead(404).end("not an app");
    });
    const launched = await launchSession(db, { kind: "web" });
    const sessionId = launched.session.id;
    const entered = await send(sessionId, "/.neosc/enter", {
      method: "POST",
      headers: {
        origin: `http://${sessionId}.apps.test:${port}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: `ticket=${encodeURIComponent(await launched.ticket())}`,
    });
    expect(entered.status).toBe(200);
    const cookie = String((entered.headers["set-cookie"] as string[])[0]).split(";")[0] ?? "";
    const page = await send(sessionId, "/inspect/page?token=s3cret-value&page=2", { headers: { cookie } });
    const posted = await send(sessionId, "/inspect/form", {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: "password=hunter2-body",
    });
    await proxy.close();

    const [entry] = await db.audit.scan(
      { action: "recording.segment", resourceType: "session", resourceId: sessionId },
      10,
    );
    expect(entry?.details).toMatchObject({ segment: 1, kind: "access-log" });
    const stored = readFileSync(path.join(folder, segmentFileName(sessionId, 1, "access-log")));
    expect(entry?.details.sha256).toBe(createHash("sha256").update(stored).digest("hex"));
    const text = gunzipSync(stored).toString("utf8");
    const log = decodeAccessLog(text);
    expect(log.header).toMatchObject({ kind: "access-log", sessionId, segment: 1 });
    expect(log.entries).toMatchObject([
      { method: "GET", path: "/inspect/page", query: ["token", "page"], status: page.status, refused: null },
      { method: "POST", path: "/inspect/form", status: posted.status },
    ]);
    expect(log.entries[0]?.bytes).toBe(Buffer.byteLength(page.body));
    // Neither the query's values nor a body ever reach the log.
    expect(text).not.toContain("s3cret-value");
    expect(text).not.toContain("hunter2-body");
  });
});
