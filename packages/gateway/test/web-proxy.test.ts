import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AppsAddressing } from "@neosc/core/web-app";
import type { Database } from "@neosc/db/database";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { WebSocket } from "ws";
import { type InspectorApp, startInspectorApp } from "../src/inspector-app.ts";
import { APP_COOKIE, createWebProxy, type WebProxy } from "../src/web-proxy.ts";
import { type Launched, launchSession, ORIGIN } from "./support/gateway.ts";

/*
 * The web proxy in front of a real app (the request inspector on a loopback port), on a real
 * database: each session on its own origin (`<sessionId>.apps.test:<port>`, sent as the Host
 * header to the proxy's loopback listener), entered with a single-use ticket.
 */

let database: TestDatabase;
let db: Database;
let app: InspectorApp;
let proxy: WebProxy;
let server: Server;
let port: number;
let addressing: AppsAddressing;

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  db = database.db;
  await db.policies.seedDefaults();
  app = await startInspectorApp();
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  addressing = { mode: "host", scheme: "http", domain: `apps.test:${port}` };
  proxy = createWebProxy({
    db,
    addressing,
    portalOrigins: [ORIGIN],
    cookieSecret: "web-proxy-tests-cookie-secret-0123456789abcdef",
    pomerium: null,
    targets: async () => new URL(app.url),
    revocationPollMs: 200,
    inputWriteIntervalMs: 100,
    policyRefreshMs: 0,
  });
  server.on("request", (request, response) => {
    if (!proxy.handleRequest(request, response)) response.writeHead(404).end("not an app");
  });
  server.on("upgrade", (request, socket, head) => {
    if (!proxy.handleUpgrade(request, socket, head)) socket.destroy();
  });
});

afterAll(async () => {
  await proxy?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await app?.close();
  await database?.drop();
});

afterEach(async () => {
  await db.policies.setEnabled("file-transfer", false, null);
  await db.policies.setEnabled("idle-timeout", false, null);
});

const hostOf = (sessionId: string) => `${sessionId}.apps.test:${port}`;
const originOf = (sessionId: string) => `http://${hostOf(sessionId)}`;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(
  sessionId: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: init.method ?? "GET",
        headers: { host: hostOf(sessionId), ...init.headers },
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
  });
}

/** What the entry page's script does: post the ticket from the session's own origin. */
const enter = (sessionId: string, ticket: string, origin = originOf(sessionId)) =>
  send(sessionId, "/.neosc/enter", {
    method: "POST",
    headers: { origin, "content-type": "application/x-www-form-urlencoded" },
    body: `ticket=${encodeURIComponent(ticket)}`,
  });

/** Enters a fresh web session and answers its `neosc_app=…` cookie pair. */
async function entered(): Promise<{ launched: Launched; cookie: string }> {
  const launched = await launchSession(db, { kind: "web" });
  const answer = await enter(launched.session.id, await launched.ticket());
  expect(answer.status).toBe(200);
  const setCookie = answer.headers["set-cookie"]?.[0] ?? "";
  return { launched, cookie: setCookie.split(";")[0] ?? "" };
}

function openSocket(sessionId: string, cookie: string | null, origin = originOf(sessionId)) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, {
    headers: { host: hostOf(sessionId), ...(cookie === null ? {} : { cookie }) },
    origin,
  });
  const messages: string[] = [];
  ws.on("message", (data) => messages.push(String(data)));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_request, response) =>
      reject(new Error(`refused ${response.statusCode}`)),
    );
    ws.once("error", reject);
  });
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  return { ws, messages, opened, closed };
}

async function lastAudit(action: string, sessionId: string) {
  return (await db.audit.list({ action, resourceId: sessionId, limit: 1 })).items[0];
}

describe("entering a web app", () => {
  it("serves an entry page whose only script posts the fragment's ticket back to its own origin", async () => {
    const launched = await launchSession(db, { kind: "web" });
    const page = await send(launched.session.id, "/.neosc/enter");
    expect(page.status).toBe(200);
    expect(page.body).toContain("location.hash");
    expect(page.headers["content-security-policy"]).toMatch(
      new RegExp(`^default-src 'none'; script-src 'sha256-[\\w+/=]+'; .*frame-ancestors ${ORIGIN}$`),
    );
  });

  it("exchanges the ticket once for a host-only HttpOnly cookie and sends on to the start path without it", async () => {
    const launched = await launchSession(db, { kind: "web" });
    const ticket = await launched.ticket();
    const answer = await enter(launched.session.id, ticket);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ location: `${originOf(launched.session.id)}/` });
    const cookie = answer.headers["set-cookie"]?.[0] ?? "";
    expect(cookie).toMatch(new RegExp(`^${APP_COOKIE}=v1\\.`));
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie.toLowerCase()).not.toContain("domain=");
    expect(cookie).not.toContain(ticket);

    const again = await enter(launched.session.id, ticket);
    expect(again.status).toBe(403);
    expect(again.headers["set-cookie"]).toBeUndefined();
    expect(await lastAudit("webapp.open", launched.session.id)).toMatchObject({
      result: "denied",
      reason: "ticket_replayed",
    });
  });

  it("refuses a ticket posted by any page but the session's own entry (the portal's too), or to another session", async () => {
    const launched = await launchSession(db, { kind: "web" });
    const other = await launchSession(db, { kind: "web" });
    expect((await enter(launched.session.id, await launched.ticket(), "http://evil.test")).status).toBe(403);
    expect((await enter(launched.session.id, await launched.ticket(), ORIGIN)).status).toBe(403);
    expect(
      (await enter(launched.session.id, await launched.ticket(), originOf(other.session.id))).status,
    ).toBe(403);
    const misplaced = await enter(other.session.id, await launched.ticket());
    expect(misplaced.status).toBe(403);
    expect(await lastAudit("webapp.open", other.session.id)).toMatchObject({
      reason: "ticket_other_session",
    });
  });

  it("refuses a ticket naming someone else's session", async () => {
    const mine = await launchSession(db, { kind: "web" });
    const theirs = await launchSession(db, { kind: "web" });
    const ticket = "forged-ticket-for-another-persons-session-0123456789";
    const now = new Date();
    await db.connectTickets.issue(ticket, {
      sessionId: theirs.session.id,
      userId: mine.user.id,
      loginSessionId: mine.loginSessionId,
      subject: null,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + 60_000),
    });
    const answer = await enter(theirs.session.id, ticket);
    expect(answer.status).toBe(403);
    expect(answer.headers["set-cookie"]).toBeUndefined();
  });
});

describe("proxied requests", () => {
  it("reach the app without NeoSC's or Pomerium's cookies, the assertion or Authorization", async () => {
    const { launched, cookie } = await entered();
    const answer = await send(launched.session.id, "/headers", {
      headers: {
        cookie: `${launched.cookie}; ${cookie}; _pomerium=pomerium-session; theme=light`,
        "x-pomerium-jwt-assertion": "eyJhbGciOiJFUzI1NiJ9.e30.sig",
        authorization: "Bearer neosc_secret_token",
      },
    });
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body) as { headers: Record<string, string> };
    expect(seen.headers.cookie).toBe("theme=light");
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["x-pomerium-jwt-assertion"]).toBeUndefined();
    expect(seen.headers.host).toBe(new URL(app.url).host);
    expect(answer.body).not.toContain("neosc_");
  });

  it("refuses a request without the session's cookie, or with another session's", async () => {
    const first = await entered();
    const second = await entered();
    const none = await send(first.launched.session.id, "/headers");
    expect(none.status).toBe(403);
    expect(none.body).toContain("Open this app from the portal");
    const crossed = await send(first.launched.session.id, "/headers", { headers: { cookie: second.cookie } });
    expect(crossed.status).toBe(403);
    const forged = await send(first.launched.session.id, "/headers", {
      headers: { cookie: `${first.cookie.slice(0, -4)}AAAA` },
    });
    expect(forged.status).toBe(403);
    expect(
      (await send(first.launched.session.id, "/headers", { headers: { cookie: first.cookie } })).status,
    ).toBe(200);
  });

  it("keeps the app's cookies and redirects on the session origin and lets only the portal frame it", async () => {
    const { launched, cookie } = await entered();
    const id = launched.session.id;
    const cookies = await send(id, "/set-cookie", { headers: { cookie } });
    const set = cookies.headers["set-cookie"] ?? [];
    expect(set).toHaveLength(2);
    for (const value of set) expect(value.toLowerCase()).not.toContain("domain=");
    expect(set[0]).toMatch(/^app_sid=s-\d+; Path=\/; HttpOnly$/);
    expect(set[1]).toBe("pref=dark; Path=/settings");

    const redirect = await send(id, "/redirect", { headers: { cookie } });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe(`${originOf(id)}/landed?from=redirect`);

    const home = await send(id, "/", { headers: { cookie } });
    expect(home.status).toBe(200);
    expect(home.headers["x-frame-options"]).toBeUndefined();
    expect(home.headers["content-security-policy"]).toBe(
      `default-src 'self'; style-src 'unsafe-inline', frame-ancestors ${ORIGIN}`,
    );
  });

  it("passes the app's WebSocket through with the same checks", async () => {
    const { launched, cookie } = await entered();
    const id = launched.session.id;
    const socket = openSocket(id, `${launched.cookie}; ${cookie}; theme=light`);
    await socket.opened;
    socket.ws.send("ping through the proxy");
    await expect.poll(() => socket.messages.length).toBe(2);
    expect(JSON.parse(socket.messages[0] ?? "{}")).toMatchObject({ cookie: "theme=light" });
    expect(socket.messages[1]).toBe("ping through the proxy");
    socket.ws.close();

    await expect(openSocket(id, null).opened).rejects.toThrow("refused 403");
    await expect(openSocket(id, cookie, ORIGIN).opened).rejects.toThrow("refused 403");
  });
});

describe("live enforcement", () => {
  it("answers the end in words once the session ended elsewhere, and closes its WebSockets within 3 s", async () => {
    const { launched, cookie } = await entered();
    const id = launched.session.id;
    expect((await send(id, "/headers", { headers: { cookie } })).status).toBe(200);
    const socket = openSocket(id, cookie);
    await socket.opened;
    const endedAt = Date.now();
    await db.sessions.end(id, { reason: "admin_disconnected", at: new Date() });
    await Promise.race([socket.closed, new Promise((resolve) => setTimeout(resolve, 3000))]);
    expect(socket.ws.readyState).toBe(WebSocket.CLOSED);
    expect(Date.now() - endedAt).toBeLessThan(3000);
    const answer = await send(id, "/headers", { headers: { cookie } });
    expect(answer.status).toBe(410);
    expect(answer.body).toContain("This session ended: Ended by an administrator");
  });

  it("counts navigations and form posts as input, not static asset loads", async () => {
    await db.policies.setEnabled("idle-timeout", true, null);
    const { launched, cookie } = await entered();
    const id = launched.session.id;
    // The entry itself was a navigation: wait until it is written, then start from a clean slate.
    await expect.poll(async () => (await db.sessions.findById(id))?.lastInputAt ?? null).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = (await db.sessions.findById(id))?.lastInputAt?.getTime() ?? 0;

    await send(id, "/inspector.js", { headers: { cookie, "sec-fetch-dest": "script" } });
    await send(id, "/headers", { headers: { cookie, "sec-fetch-dest": "empty" } });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await db.sessions.findById(id))?.lastInputAt?.getTime()).toBe(before);

    await send(id, "/landed", { headers: { cookie, "sec-fetch-dest": "iframe" } });
    await expect
      .poll(async () => (await db.sessions.findById(id))?.lastInputAt?.getTime() ?? 0)
      .toBeGreaterThan(before);
    const afterNavigation = (await db.sessions.findById(id))?.lastInputAt?.getTime() ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await send(id, "/form", {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: "a=1",
    });
    await expect
      .poll(async () => (await db.sessions.findById(id))?.lastInputAt?.getTime() ?? 0)
      .toBeGreaterThan(afterNavigation);
  });
});

describe("the file-transfer policy", () => {
  const multipart = (boundary: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\nsecret notes\r\n--${boundary}--\r\n`;
  const upload = (id: string, cookie: string) =>
    send(id, "/upload", {
      method: "POST",
      headers: { cookie, "content-type": "multipart/form-data; boundary=xyz" },
      body: multipart("xyz"),
    });

  it("off: blocks uploads and downloads with a page and an audit entry each", async () => {
    await db.policies.setSettings("file-transfer", { upload: false, download: false }, null);
    await db.policies.setEnabled("file-transfer", true, null);
    const { launched, cookie } = await entered();
    const id = launched.session.id;

    const up = await upload(id, cookie);
    expect(up.status).toBe(403);
    expect(up.body).toContain("Uploads are off");
    expect(await lastAudit("webapp.upload", id)).toMatchObject({
      result: "denied",
      reason: "file_transfer_off",
    });

    const down = await send(id, "/download", { headers: { cookie } });
    expect(down.status).toBe(403);
    expect(down.body).toContain("Downloads are off");
    expect(down.body).not.toContain("a report from the internal app");
    expect(await lastAudit("webapp.download", id)).toMatchObject({
      result: "denied",
      reason: "file_transfer_off",
    });

    // Ordinary pages and form posts still work.
    expect((await send(id, "/headers", { headers: { cookie } })).status).toBe(200);
  });

  it("on (or only one way): lets the allowed direction through", async () => {
    await db.policies.setSettings("file-transfer", { upload: true, download: false }, null);
    await db.policies.setEnabled("file-transfer", true, null);
    const { launched, cookie } = await entered();
    const id = launched.session.id;
    const up = await upload(id, cookie);
    expect(up.status).toBe(200);
    expect(JSON.parse(up.body)).toMatchObject({ received: multipart("xyz").length });
    expect((await send(id, "/download", { headers: { cookie } })).status).toBe(403);

    await db.policies.setSettings("file-transfer", { upload: true, download: true }, null);
    const down = await send(id, "/download", { headers: { cookie } });
    expect(down.status).toBe(200);
    expect(down.headers["content-disposition"]).toContain("attachment");
    expect(down.body).toBe("a report from the internal app\n");

    await db.policies.setEnabled("file-transfer", false, null);
    await db.policies.setSettings("file-transfer", { upload: false, download: false }, null);
    expect((await upload(id, cookie)).status).toBe(200);
  });
});
