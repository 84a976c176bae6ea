import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Duplex } from "node:stream";
import type { PomeriumVerifier } from "@neosc/auth/pomerium";
import { SYSTEM_ACTOR } from "@neosc/core/audit";
import { END_DETAIL, END_REASON } from "@neosc/core/end-reason";
import { type PolicyOf, type RecordingMode, recordingMode } from "@neosc/core/policy";
import type { AccessLogEntry } from "@neosc/core/recording";
import type { WorkspaceSession } from "@neosc/core/session";
import {
  APP_ENTRY_PATH,
  APP_TICKET_FIELD,
  type AppsAddressing,
  appBaseUrl,
  appOrigin,
  parseAppRequest,
} from "@neosc/core/web-app";
import type { Database } from "@neosc/db/database";
import type { GatewayLogger } from "./gateway.ts";
import { type ConnectionEnd, ConnectionMonitor } from "./monitor.ts";
import { type AccessLogRecorder, type RecordingStore, startAccessLog } from "./recording.ts";

/*
 * The web proxy (ARCHITECTURE §9): a web workspace is reached only through here, each session on
 * its own origin. The browser exchanges a single-use ticket from `session.connect` once for a
 * host-only cookie of that origin; every request and WebSocket then needs that cookie, and the
 * one monitor per session on this replica keeps the live rules (deadlines, idle from navigations
 * and form posts, revocation within the poll interval) and the `file-transfer` policy. What the
 * app receives carries none of NeoSC's or Pomerium's credentials; what it answers is rewritten so
 * that it stays on the session's origin and can be framed by the portal only. Under the
 * `recording` policy (or the workspace's own rule) each watch writes an access log segment: one
 * JSON line per request (method, path, the query's parameter names, status, bytes, duration),
 * never bodies or the query's values, its hash in the audit chain when the watch ends.
 */

export interface WebProxyOptions {
  db: Database;
  addressing: AppsAddressing;
  /** The portal's origins: the only pages that may frame an app. */
  portalOrigins: readonly string[];
  /** Signs the session cookies (any replica checks any cookie); at least 32 bytes. */
  cookieSecret: string;
  /** Behind Pomerium: every request must carry the assertion of the ticket's person. */
  pomerium: PomeriumVerifier | null;
  /**
   * The session origins are another site than the portal (`*.apps.localhost` under `localhost`):
   * cookies then need `SameSite=None; Secure; Partitioned` to reach the portal's frame.
   */
  crossSite?: boolean;
  /** Where a session's app is (default: the web workspace's URL in the catalogue). */
  targets?: (session: WorkspaceSession) => Promise<URL | null>;
  clock?: () => Date;
  logger?: GatewayLogger;
  revocationPollMs?: number;
  inputWriteIntervalMs?: number;
  /** How long the `file-transfer` policy read is reused (default 2 s). */
  policyRefreshMs?: number;
  connectTimeoutMs?: number;
  /** The recordings folder (the `recording` policy's access logs); null: recording does not work here. */
  recordings?: RecordingStore | null;
}

export interface WebProxy {
  /** Serves the request when it is for a session origin; false when the caller should serve it. */
  handleRequest(request: IncomingMessage, response: ServerResponse): boolean;
  /** The same for a WebSocket upgrade. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Sessions this replica watches now. */
  readonly watchedCount: number;
  close(): Promise<void>;
}

export const APP_COOKIE = "neosc_app";
/** Cookies that belong to NeoSC or Pomerium: never forwarded to an app. */
const PRIVATE_COOKIE = /^(?:neosc_|_pomerium|__Host-neosc|__Secure-neosc)/;
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
/** A watch with no request for this long (and no open socket) is dropped; the next request re-reads. */
const WATCH_IDLE_MS = 60_000;
const MAX_ENTRY_BODY = 4096;

/** The entry page's only script: post the fragment's ticket to this origin, then go where it says. */
const ENTRY_SCRIPT = `(async () => {
  const ticket = decodeURIComponent(location.hash.slice(1));
  history.replaceState(null, "", location.pathname);
  const answer = await fetch(location.pathname, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "${APP_TICKET_FIELD}=" + encodeURIComponent(ticket),
  });
  if (answer.ok) {
    location.replace((await answer.json()).location);
    return;
  }
  document.open();
  document.write(await answer.text());
  document.close();
})();`;
const ENTRY_SCRIPT_HASH = `sha256-${createHash("sha256").update(ENTRY_SCRIPT).digest("base64")}`;
const ENTRY_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Opening</title></head><body><script>${ENTRY_SCRIPT}</script></body></html>`;

interface CookieClaims {
  sessionId: string;
  userId: string;
  loginSessionId: string | null;
  subject: string | null;
}

interface Watch {
  key: string;
  session: WorkspaceSession;
  target: URL;
  monitor: ConnectionMonitor;
  /** Sockets of in-flight requests and open WebSockets: destroyed when the session ends. */
  sockets: Set<Duplex>;
  lastUsedAt: number;
  evicted: boolean;
  /** This watch's access log segment, while it is being written. */
  accessLog: AccessLogRecorder | null;
}

const b64 = (value: string) => Buffer.from(value, "utf8").toString("base64url");
const unb64 = (value: string) => Buffer.from(value, "base64url").toString("utf8");

function cookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  for (const part of (header ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at === -1) continue;
    if (part.slice(0, at).trim() === name) values.push(part.slice(at + 1).trim());
  }
  return values;
}

/** The request's cookies without NeoSC's and Pomerium's; null when none are left. */
export function appCookies(header: string | undefined): string | null {
  const kept = (header ?? "")
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part !== "" && !PRIVATE_COOKIE.test(part.split("=")[0]?.trim() ?? ""));
  return kept.length === 0 ? null : kept.join("; ");
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char] ?? char,
  );
}

/** A page of NeoSC's own in place of the app: why it is not shown. */
function page(
  status: number,
  title: string,
  detail: string,
  frameAncestors: string,
): { status: number; headers: Record<string, string>; body: string } {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f7f9;color:#1d2330}main{max-width:32rem;padding:2rem;text-align:center}h1{font-size:1.25rem}</style>
</head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p></main></body></html>`;
  return {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": `default-src 'none'; style-src 'unsafe-inline'; frame-ancestors ${frameAncestors}`,
      "x-content-type-options": "nosniff",
    },
    body,
  };
}

/** What the access log keeps of a request target: the path, and the query's parameter names only. */
export function accessLogTarget(target: string): { path: string; query: string[] } {
  const at = target.indexOf("?");
  const path = (at === -1 ? target : target.slice(0, at)).slice(0, 2048);
  if (at === -1) return { path, query: [] };
  const names = new Set<string>();
  for (const name of new URLSearchParams(target.slice(at + 1)).keys()) names.add(name.slice(0, 128));
  return { path, query: [...names].slice(0, 64) };
}

/** Navigations (a document or frame load) and anything but GET/HEAD/OPTIONS are a person's activity. */
export function isActivity(request: IncomingMessage): boolean {
  const method = request.method ?? "GET";
  if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS") return true;
  if (method !== "GET") return false;
  const dest = request.headers["sec-fetch-dest"];
  if (typeof dest === "string") return dest === "document" || dest === "iframe";
  // Browsers without Fetch Metadata: an HTML navigation asks for text/html first.
  return (request.headers.accept ?? "").startsWith("text/html");
}

function isUpload(headers: IncomingHttpHeaders): boolean {
  return (headers["content-type"] ?? "").toLowerCase().startsWith("multipart/form-data");
}

/** A response the browser saves instead of showing. */
function isDownload(headers: IncomingHttpHeaders): boolean {
  const disposition = String(headers["content-disposition"] ?? "").toLowerCase();
  if (disposition.startsWith("attachment")) return true;
  const type = String(headers["content-type"] ?? "").toLowerCase();
  return type.startsWith("application/octet-stream") || type.startsWith("application/zip");
}

/** Drops a `frame-ancestors` directive of the app's own policy; ours is sent beside it. */
function withoutFrameAncestors(policy: string): string {
  return policy
    .split(";")
    .map((directive) => directive.trim())
    .filter((directive) => directive !== "" && !/^frame-ancestors\b/i.test(directive))
    .join("; ");
}

export function createWebProxy(options: WebProxyOptions): WebProxy {
  const { db, addressing } = options;
  const clock = options.clock ?? (() => new Date());
  const logger = options.logger ?? { info: () => {}, warn: () => {} };
  const frameAncestors = options.portalOrigins.length === 0 ? "'none'" : options.portalOrigins.join(" ");
  const crossSite = options.crossSite ?? false;
  const policyRefreshMs = options.policyRefreshMs ?? 2000;
  const cookieKey = createHmac("sha256", options.cookieSecret)
    .update("neosc web app session cookie")
    .digest();
  const watches = new Map<string, Watch>();
  /** Access logs being closed; shutting down waits for them, so each one's hash reaches the audit. */
  const finishingLogs = new Set<Promise<void>>();
  // Upstream connections are reused across requests (a new TCP connection per request cost ~3×).
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  const opening = new Map<string, Promise<Watch | ConnectionEnd | null>>();
  const targets =
    options.targets ??
    (async (session: WorkspaceSession) => {
      const workspace = await db.workspaces.findById(session.workspaceId);
      return workspace?.kind === "web" && workspace.url !== null ? new URL(workspace.url) : null;
    });

  const sign = (payload: string) => createHmac("sha256", cookieKey).update(payload).digest("base64url");
  const cookieFor = (claims: CookieClaims) => {
    const payload = [
      "v1",
      claims.sessionId,
      claims.userId,
      claims.loginSessionId ?? "-",
      claims.subject === null ? "-" : b64(claims.subject),
    ].join(".");
    return `${payload}.${sign(payload)}`;
  };
  const readCookie = (value: string): CookieClaims | null => {
    const parts = value.split(".");
    if (parts.length !== 6 || parts[0] !== "v1") return null;
    const payload = parts.slice(0, 5).join(".");
    const given = Buffer.from(parts[5] ?? "", "base64url");
    const expected = Buffer.from(sign(payload), "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const [, sessionId, userId, login, subject] = parts as [string, string, string, string, string];
    return {
      sessionId,
      userId,
      loginSessionId: login === "-" ? null : login,
      subject: subject === "-" ? null : unb64(subject),
    };
  };
  /** The session's cookie among those sent: only a valid one for this very session counts. */
  const claimsFor = (request: IncomingMessage, sessionId: string): CookieClaims | null => {
    for (const value of cookieValues(request.headers.cookie, APP_COOKIE)) {
      const claims = readCookie(value);
      if (claims !== null && claims.sessionId === sessionId) return claims;
    }
    return null;
  };
  const cookieAttributes = (sessionId: string) => {
    const path = addressing.mode === "path" ? new URL(appBaseUrl(addressing, sessionId)).pathname : "/";
    const site = crossSite ? "SameSite=None; Secure; Partitioned" : "SameSite=Lax";
    const secure =
      !crossSite && addressing.mode === "host" && addressing.scheme === "https" ? "; Secure" : "";
    return `Path=${path}; HttpOnly; ${site}${secure}`;
  };

  let fileTransfer: { policy: PolicyOf<"file-transfer">; readAt: number } | null = null;
  const fileTransferPolicy = async () => {
    if (fileTransfer === null || Date.now() - fileTransfer.readAt >= policyRefreshMs) {
      fileTransfer = { policy: await db.policies.get("file-transfer"), readAt: Date.now() };
    }
    return fileTransfer.policy;
  };

  const audit = async (
    request: IncomingMessage,
    entry: {
      action: string;
      sessionId: string | null;
      userId: string | null;
      result: "success" | "denied";
      reason: string | null;
      details?: Record<string, unknown>;
    },
  ) => {
    try {
      await db.audit.append({
        actor: entry.userId === null ? SYSTEM_ACTOR : { id: entry.userId, email: null, role: null },
        action: entry.action,
        resource: { type: "session", id: entry.sessionId },
        clientIp: request.socket.remoteAddress ?? null,
        userAgent: request.headers["user-agent"]?.slice(0, 512) ?? null,
        result: entry.result,
        reason: entry.reason,
        details: entry.details ?? {},
      });
    } catch (error) {
      logger.warn({ err: error }, "web proxy audit append failed");
    }
  };

  const auditRecording = async (
    claims: CookieClaims,
    action: string,
    result: "success" | "error",
    reason: string | null,
    details: Record<string, unknown>,
  ) => {
    try {
      await db.audit.append({
        actor: { id: claims.userId, email: null, role: null },
        action,
        resource: { type: "session", id: claims.sessionId },
        clientIp: null,
        userAgent: null,
        result,
        reason,
        details,
      });
    } catch (error) {
      logger.warn({ err: error }, "web proxy audit append failed");
    }
  };

  /**
   * Opens the watch's access log. A failure is audited; under `required` the session may not go
   * on ("refused"), under `on` it goes on unlogged (null).
   */
  const startRecording = async (
    claims: CookieClaims,
    mode: Exclude<RecordingMode, "off">,
  ): Promise<AccessLogRecorder | null | "refused"> => {
    const store = options.recordings ?? null;
    let segment: number | null = null;
    try {
      if (store === null) throw new Error("this gateway has no recordings folder");
      const startedAt = clock();
      segment = await db.gateway.claimRecordingSegment(claims.sessionId, startedAt);
      const log = await startAccessLog(store, { sessionId: claims.sessionId, segment, startedAt });
      await auditRecording(claims, "recording.start", "success", null, { segment, kind: "access-log" });
      return log;
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      await auditRecording(claims, "recording.failed", "error", "recording_unavailable", {
        segment,
        kind: "access-log",
        detail,
        mode,
      });
      logger.warn({ sessionId: claims.sessionId, detail }, "web proxy: access log did not start");
      return mode === "required" ? "refused" : null;
    }
  };

  /** Closes the watch's access log and puts its hash into the audit chain (`recording.segment`). */
  const finishRecording = (watch: Watch, claims: CookieClaims) => {
    const log = watch.accessLog;
    watch.accessLog = null;
    if (log === null || log.writer.failed) return;
    const { segment } = log.writer;
    const finishing = log.writer
      .finish(clock())
      .then((result) =>
        auditRecording(claims, "recording.segment", "success", null, {
          segment,
          kind: "access-log",
          sha256: result.sha256,
          bytes: result.bytes,
          startedAt: result.startedAt.toISOString(),
          endedAt: result.endedAt.toISOString(),
          durationMs: result.endedAt.getTime() - result.startedAt.getTime(),
        }),
      )
      .catch((error: unknown) =>
        auditRecording(claims, "recording.failed", "error", "recording_write_failed", {
          segment,
          kind: "access-log",
          detail: error instanceof Error ? error.message : String(error),
        }),
      );
    finishingLogs.add(finishing);
    void finishing.finally(() => finishingLogs.delete(finishing));
  };

  /** One line of the watch's access log (nothing when the session is not recorded). */
  const logRequest = (watch: Watch, entry: AccessLogEntry) => watch.accessLog?.request(entry);

  const send = (response: ServerResponse, shown: ReturnType<typeof page>) => {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.writeHead(shown.status, shown.headers).end(shown.body);
  };
  const refusedPage = (detail: string) => page(403, "This app is not open here", detail, frameAncestors);
  const endPage = (end: ConnectionEnd) => {
    switch (end.kind) {
      case "session":
        return page(
          410,
          `This session ended: ${END_REASON[end.reason]}`,
          END_DETAIL[end.reason],
          frameAncestors,
        );
      case "login_expired":
        return page(
          401,
          "Your sign-in expired",
          "Sign in to the portal again and reopen the app.",
          frameAncestors,
        );
      case "gateway_stopping":
        return page(503, "The gateway is restarting", "Reload in a moment.", frameAncestors);
      default:
        return page(
          502,
          "The app cannot be reached",
          "The app did not answer. Try again later.",
          frameAncestors,
        );
    }
  };

  const drop = (watch: Watch) => {
    if (watches.get(watch.key) === watch) watches.delete(watch.key);
  };

  /** The session's watch on this replica, opened (and checked) on its first request. */
  const watchFor = (claims: CookieClaims): Promise<Watch | ConnectionEnd | null> => {
    const key = `${claims.sessionId}:${claims.loginSessionId ?? "-"}`;
    const existing = watches.get(key);
    if (existing !== undefined) {
      existing.lastUsedAt = Date.now();
      return Promise.resolve(existing.monitor.end ?? existing);
    }
    let pending = opening.get(key);
    if (pending === undefined) {
      pending = openWatch(key, claims).finally(() => opening.delete(key));
      opening.set(key, pending);
    }
    return pending;
  };

  const openWatch = async (key: string, claims: CookieClaims): Promise<Watch | ConnectionEnd | null> => {
    const now = clock();
    const [session, user, login, idleTimeout, accessHours, recordingPolicy] = await Promise.all([
      db.sessions.findById(claims.sessionId),
      db.users.findById(claims.userId),
      claims.loginSessionId === null
        ? Promise.resolve(null)
        : db.loginSessions.findById(claims.loginSessionId),
      db.policies.get("idle-timeout"),
      db.policies.get("access-hours"),
      db.policies.get("recording"),
    ]);
    if (session === null || session.userId !== claims.userId || session.workspaceKind !== "web") return null;
    if (session.status !== "active") {
      return { kind: "session", reason: session.endReason ?? "admin_disconnected" };
    }
    const sockets = new Set<Duplex>();
    let watch: Watch | null = null;
    const monitor = new ConnectionMonitor({
      db,
      clock,
      session,
      userId: claims.userId,
      loginSessionId: claims.loginSessionId,
      loginExpiresAt: login?.expiresAt ?? null,
      policies: { idleTimeout, accessHours },
      inputWriteIntervalMs: options.inputWriteIntervalMs ?? 10_000,
      close: (end) => {
        if (watch !== null) finishRecording(watch, claims);
        if (watch?.evicted) return;
        logger.info({ sessionId: session.id, end }, "web app session closed");
        for (const socket of sockets) socket.destroy();
        sockets.clear();
        // The ended watch answers with the end page until it is dropped like any other.
      },
      onError: (error, what) =>
        logger.warn({ err: error, sessionId: session.id }, `web proxy: failed ${what}`),
    });
    if (!(await monitor.admit(user, login, now))) return monitor.end;
    const target = await targets(session);
    if (target === null) {
      monitor.finish({ kind: "gateway_stopping" });
      return { kind: "workspace_closed", detail: "the web workspace has no URL" };
    }
    // The policy as it was when the watch opened; a change applies from the next watch.
    const workspace = await db.workspaces.findById(session.workspaceId);
    const mode = recordingMode(recordingPolicy, workspace?.recording ?? null);
    let accessLog: AccessLogRecorder | null = null;
    if (mode !== "off") {
      const started = await startRecording(claims, mode);
      if (started === "refused") {
        await monitor.endSession("recording_failed", "session.expire");
        return monitor.end;
      }
      accessLog = started;
    }
    const opened: Watch = {
      key,
      session,
      target,
      monitor,
      sockets,
      lastUsedAt: Date.now(),
      evicted: false,
      accessLog,
    };
    watch = opened;
    accessLog?.writer.onFailure((why, detail) => {
      opened.accessLog = null;
      void auditRecording(claims, "recording.failed", "error", why, {
        segment: accessLog?.writer.segment ?? null,
        kind: "access-log",
        detail,
        mode,
      });
      if (mode === "required") void monitor.endSession("recording_failed", "session.expire");
    });
    watches.set(key, opened);
    monitor.start();
    return opened;
  };

  const pomeriumAllows = async (request: IncomingMessage, subject: string | null) => {
    if (options.pomerium === null) return true;
    const assertion = request.headers["x-pomerium-jwt-assertion"];
    if (typeof assertion !== "string" || subject === null) return false;
    try {
      return (await options.pomerium.verify(assertion, { now: clock() })).subject === subject;
    } catch {
      return false;
    }
  };

  /** What the app receives: the person's request without NeoSC's and Pomerium's credentials. */
  const upstreamHeaders = (request: IncomingMessage, watch: Watch, sessionId: string) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      if (name === "cookie" || name === "authorization" || name === "host") continue;
      if (name.startsWith("x-pomerium-") || name === "forwarded" || name.startsWith("x-forwarded-")) continue;
      headers[name] = value;
    }
    const cookies = appCookies(request.headers.cookie);
    if (cookies !== null) headers.cookie = cookies;
    headers.host = watch.target.host;
    // The app checks its own origin on form posts and WebSockets: it sees itself as the origin.
    const sessionOrigin = appOrigin(addressing, sessionId);
    if (headers.origin === sessionOrigin) headers.origin = watch.target.origin;
    const referer = headers.referer;
    const base = appBaseUrl(addressing, sessionId);
    if (typeof referer === "string" && referer.startsWith(base)) {
      headers.referer = `${watch.target.origin}${referer.slice(base.length) || "/"}`;
    }
    headers["x-forwarded-proto"] =
      addressing.mode === "host" ? addressing.scheme : new URL(addressing.origin).protocol.slice(0, -1);
    return headers;
  };

  /** The app's answer, kept on the session origin. */
  const downstreamHeaders = (headers: IncomingHttpHeaders, watch: Watch, sessionId: string) => {
    const base = appBaseUrl(addressing, sessionId);
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || name === "x-frame-options") continue;
      out[name] = value;
    }
    const location = headers.location;
    if (typeof location === "string") out.location = rewriteLocation(location, watch.target, base);
    const cookies = headers["set-cookie"];
    if (cookies !== undefined) {
      out["set-cookie"] = cookies
        .filter((cookie) => cookie.split("=")[0]?.trim() !== APP_COOKIE)
        .map((cookie) =>
          rewriteSetCookie(cookie, addressing.mode === "path" ? new URL(base).pathname : null, crossSite),
        );
    }
    const policies = [headers["content-security-policy"]].flat().filter((value) => value !== undefined);
    const kept = policies.map(withoutFrameAncestors).filter((value) => value !== "");
    out["content-security-policy"] = [...kept, `frame-ancestors ${frameAncestors}`];
    return out;
  };

  /**
   * The entry: the portal frames `<entry>#<ticket>` (a fragment never reaches a server or a log);
   * this page posts the ticket back to its own origin, which answers the session cookie and where
   * to go. Only the entry page itself can make that post: its Origin must be the session's.
   */
  const handleEntry = async (request: IncomingMessage, response: ServerResponse, sessionId: string) => {
    if (request.method === "GET") {
      response
        .writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          "referrer-policy": "same-origin",
          "content-security-policy": `default-src 'none'; script-src '${ENTRY_SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors ${frameAncestors}`,
          "x-content-type-options": "nosniff",
        })
        .end(ENTRY_PAGE);
      return;
    }
    const deny = async (reason: string, detail: string, userId: string | null = null) => {
      await audit(request, { action: "webapp.open", sessionId, userId, result: "denied", reason });
      send(response, refusedPage(detail));
    };
    if (request.method !== "POST") return deny("entry_method", "Open this app from the portal.");
    if (request.headers.origin !== appOrigin(addressing, sessionId)) {
      return deny("origin_not_allowed", "Open this app from the portal.");
    }
    const body = await readBody(request, MAX_ENTRY_BODY);
    const ticket = body === null ? null : new URLSearchParams(body).get(APP_TICKET_FIELD);
    if (ticket === null || ticket === "") return deny("ticket_missing", "Open this app from the portal.");
    const redeemed = await db.connectTickets.redeem(ticket, clock());
    if (!redeemed.ok) {
      return deny(
        `ticket_${redeemed.why}`,
        "This link was already used or is too old. Open the app from the portal again.",
      );
    }
    const { userId, loginSessionId, subject } = redeemed.ticket;
    if (redeemed.ticket.sessionId !== sessionId) {
      return deny("ticket_other_session", "This ticket is for another session.", userId);
    }
    if (!(await pomeriumAllows(request, subject))) {
      return deny("identity_mismatch", "You are signed in as someone else.", userId);
    }
    const claims: CookieClaims = { sessionId, userId, loginSessionId, subject };
    const watched = await watchFor(claims);
    if (watched === null) {
      return deny("ticket_unknown", "This session is not yours or not a web app.", userId);
    }
    if (!("monitor" in watched)) {
      await audit(request, {
        action: "webapp.open",
        sessionId,
        userId,
        result: "denied",
        reason: "session_ended",
      });
      return send(response, endPage(watched));
    }
    await audit(request, { action: "webapp.open", sessionId, userId, result: "success", reason: null });
    watched.monitor.input();
    const start = `${watched.target.pathname}${watched.target.search}`;
    response
      .writeHead(200, {
        "content-type": "application/json",
        "set-cookie": `${APP_COOKIE}=${cookieFor(claims)}; ${cookieAttributes(sessionId)}`,
        "cache-control": "no-store",
      })
      .end(JSON.stringify({ location: `${appBaseUrl(addressing, sessionId)}${start}` }));
  };

  /** The cookie, the person and the session; the watch to proxy under, or an answer already sent. */
  const admitted = async (
    request: IncomingMessage,
    sessionId: string,
    refuse: (shown: ReturnType<typeof page>) => void,
  ): Promise<{ watch: Watch; claims: CookieClaims } | null> => {
    const claims = claimsFor(request, sessionId);
    if (claims === null) {
      refuse(refusedPage("Open this app from the portal: this browser holds no pass for this session."));
      return null;
    }
    if (!(await pomeriumAllows(request, claims.subject))) {
      await audit(request, {
        action: "webapp.request",
        sessionId,
        userId: claims.userId,
        result: "denied",
        reason: "identity_mismatch",
      });
      refuse(refusedPage("You are signed in as someone else."));
      return null;
    }
    const watched = await watchFor(claims);
    if (watched === null) {
      refuse(refusedPage("This session is not yours or not a web app."));
      return null;
    }
    if (!("monitor" in watched)) {
      refuse(endPage(watched));
      return null;
    }
    return { watch: watched, claims };
  };

  const proxyRequest = async (
    request: IncomingMessage,
    response: ServerResponse,
    sessionId: string,
    path: string,
  ) => {
    const entry = await admitted(request, sessionId, (shown) => send(response, shown));
    if (entry === null) {
      request.resume();
      return;
    }
    const { watch, claims } = entry;
    const arrivedAt = clock();
    let logged = false;
    /** The request's line in the access log, once, with what the browser got. */
    const log = (status: number, bytes: number, refused: string | null = null) => {
      if (logged) return;
      logged = true;
      logRequest(watch, {
        at: arrivedAt.toISOString(),
        method: (request.method ?? "GET").slice(0, 16),
        ...accessLogTarget(path),
        status,
        bytes,
        durationMs: Math.max(0, clock().getTime() - arrivedAt.getTime()),
        refused,
      });
    };
    const policy = await fileTransferPolicy();
    if (policy.enabled && !policy.settings.upload && isUpload(request.headers)) {
      log(403, 0, "file_transfer_off");
      request.resume();
      await audit(request, {
        action: "webapp.upload",
        sessionId,
        userId: claims.userId,
        result: "denied",
        reason: "file_transfer_off",
        details: { path: path.split("?")[0] },
      });
      return send(
        response,
        page(
          403,
          "Uploads are off",
          "The file-transfer policy does not allow sending files to this app.",
          frameAncestors,
        ),
      );
    }
    if (isActivity(request)) watch.monitor.input();

    const socket = request.socket;
    watch.sockets.add(socket);
    const release = () => watch.sockets.delete(socket);
    response.once("close", release);
    const requester = watch.target.protocol === "https:" ? httpsRequest : httpRequest;
    const upstream = requester({
      protocol: watch.target.protocol,
      hostname: watch.target.hostname,
      port: watch.target.port || (watch.target.protocol === "https:" ? 443 : 80),
      method: request.method,
      path,
      headers: upstreamHeaders(request, watch, sessionId),
      agent: watch.target.protocol === "https:" ? agents.https : agents.http,
      timeout: options.connectTimeoutMs ?? 30_000,
    });
    upstream.on("timeout", () => upstream.destroy(new Error("the app did not answer in time")));
    upstream.on("error", (error) => {
      logger.warn({ err: error, sessionId }, "web proxy: app request failed");
      log(502, 0);
      send(
        response,
        page(502, "The app cannot be reached", "The app did not answer. Try again later.", frameAncestors),
      );
    });
    upstream.on("response", (answer) => {
      if (policy.enabled && !policy.settings.download && isDownload(answer.headers)) {
        answer.destroy();
        log(403, 0, "file_transfer_off");
        void audit(request, {
          action: "webapp.download",
          sessionId,
          userId: claims.userId,
          result: "denied",
          reason: "file_transfer_off",
          details: { path: path.split("?")[0], contentType: answer.headers["content-type"] ?? null },
        }).then(() =>
          send(
            response,
            page(
              403,
              "Downloads are off",
              "The file-transfer policy does not allow saving files from this app.",
              frameAncestors,
            ),
          ),
        );
        return;
      }
      if (watch.monitor.end !== null) {
        answer.destroy();
        return send(response, endPage(watch.monitor.end));
      }
      response.writeHead(
        answer.statusCode ?? 502,
        answer.statusMessage,
        downstreamHeaders(answer.headers, watch, sessionId),
      );
      if (watch.accessLog !== null) {
        let bytes = 0;
        answer.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
        });
        response.once("close", () => log(answer.statusCode ?? 502, bytes));
      }
      answer.pipe(response);
    });
    request.pipe(upstream);
  };

  const proxyUpgrade = async (
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    sessionId: string,
    path: string,
  ) => {
    const refuseWith = (status: number, text: string) =>
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    if (request.headers.origin !== appOrigin(addressing, sessionId)) return refuseWith(403, "Forbidden");
    const entry = await admitted(request, sessionId, (shown) =>
      refuseWith(shown.status, shown.status === 410 ? "Gone" : "Forbidden"),
    );
    if (entry === null) return;
    const { watch } = entry;
    const arrivedAt = clock();
    watch.sockets.add(socket);
    socket.once("close", () => watch.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const requester = watch.target.protocol === "https:" ? httpsRequest : httpRequest;
    const headers = upstreamHeaders(request, watch, sessionId);
    headers.connection = "Upgrade";
    headers.upgrade = String(request.headers.upgrade ?? "websocket");
    const upstream = requester({
      protocol: watch.target.protocol,
      hostname: watch.target.hostname,
      port: watch.target.port || (watch.target.protocol === "https:" ? 443 : 80),
      method: "GET",
      path,
      headers,
    });
    upstream.on("error", () => refuseWith(502, "Bad Gateway"));
    upstream.on("response", (answer) => {
      answer.resume();
      refuseWith(answer.statusCode ?? 502, answer.statusMessage ?? "Refused");
    });
    upstream.on("upgrade", (answer, appSocket, appHead) => {
      if (socket.destroyed || watch.monitor.end !== null) {
        appSocket.destroy();
        socket.destroy();
        return;
      }
      const lines = [`HTTP/1.1 101 ${answer.statusMessage ?? "Switching Protocols"}`];
      for (let i = 0; i < answer.rawHeaders.length; i += 2)
        lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (appHead.length > 0) socket.write(appHead);
      if (head.length > 0) appSocket.write(head);
      appSocket.on("error", () => socket.destroy());
      appSocket.once("close", () => socket.destroy());
      if (watch.accessLog !== null) {
        // A WebSocket is one line when it closes: its bytes both ways and how long it was open.
        let bytes = 0;
        const count = (chunk: Buffer) => {
          bytes += chunk.length;
        };
        appSocket.on("data", count);
        socket.on("data", count);
        socket.once("close", () =>
          logRequest(watch, {
            at: arrivedAt.toISOString(),
            method: "GET",
            ...accessLogTarget(path),
            status: 101,
            bytes,
            durationMs: Math.max(0, clock().getTime() - arrivedAt.getTime()),
            refused: null,
          }),
        );
      }
      socket.once("close", () => appSocket.destroy());
      watch.sockets.add(appSocket);
      appSocket.once("close", () => watch.sockets.delete(appSocket));
      appSocket.pipe(socket);
      socket.pipe(appSocket);
    });
    upstream.end();
  };

  // The revocation watch, as the gateway's: one `_id` read per poll; the watched sessions are
  // re-read only when the signal changed. Unused watches are dropped on the way.
  let token: string | null | undefined;
  let polling: Promise<void> | null = null;
  const poll = async () => {
    const idleBefore = Date.now() - WATCH_IDLE_MS;
    for (const watch of watches.values()) {
      if (watch.lastUsedAt < idleBefore && watch.sockets.size === 0) {
        watch.evicted = true;
        // The monitor's close finishes the access log: the next request opens a new segment.
        watch.monitor.finish({ kind: "client_closed", code: 1000 });
        drop(watch);
      }
    }
    const current = await db.gateway.revocationToken();
    if (current === token) return;
    token = current;
    await Promise.all([...watches.values()].map((watch) => watch.monitor.revalidate()));
  };
  const poller = setInterval(() => {
    if (polling !== null) return;
    polling = poll()
      .catch((error: unknown) => logger.warn({ err: error }, "web proxy: revocation poll failed"))
      .finally(() => {
        polling = null;
      });
  }, options.revocationPollMs ?? 1000);
  poller.unref();

  const failed = (error: unknown) => logger.warn({ err: error }, "web proxy: request failed");

  return {
    handleRequest(request, response) {
      const parsed = parseAppRequest(addressing, request.headers.host, request.url ?? "/");
      if (parsed === null) return false;
      const work =
        parsed.path.split("?")[0] === APP_ENTRY_PATH
          ? handleEntry(request, response, parsed.sessionId)
          : proxyRequest(request, response, parsed.sessionId, parsed.path);
      work.catch((error: unknown) => {
        failed(error);
        send(response, page(500, "Something went wrong", "Reload to try again.", frameAncestors));
      });
      return true;
    },
    handleUpgrade(request, socket, head) {
      const parsed = parseAppRequest(addressing, request.headers.host, request.url ?? "/");
      if (parsed === null) return false;
      proxyUpgrade(request, socket, head, parsed.sessionId, parsed.path).catch((error: unknown) => {
        failed(error);
        socket.destroy();
      });
      return true;
    },
    get watchedCount() {
      return watches.size;
    },
    async close() {
      clearInterval(poller);
      await polling;
      for (const watch of watches.values()) watch.monitor.finish({ kind: "gateway_stopping" });
      watches.clear();
      agents.http.destroy();
      agents.https.destroy();
      await Promise.all([...finishingLogs]);
    },
  };
}

/** An absolute `Location` to the app goes to the session's base instead; a path gets the base's path. */
export function rewriteLocation(location: string, target: URL, base: string): string {
  if (location.startsWith("//")) location = `${target.protocol}${location}`;
  if (/^[a-z][a-z0-9+.-]*:/i.test(location)) {
    try {
      const url = new URL(location);
      if (url.origin !== target.origin) return location;
      return `${base}${url.pathname}${url.search}${url.hash}`;
    } catch {
      return location;
    }
  }
  if (location.startsWith("/")) return `${base}${location}`;
  return location;
}

/**
 * An app's cookie is kept to the session origin: its `Domain` goes (host-only), in path mode its
 * `Path` is put under the session's path, and across sites it is made partitioned.
 */
export function rewriteSetCookie(cookie: string, basePath: string | null, crossSite: boolean): string {
  const [pair = "", ...attributes] = cookie.split(";");
  const kept: string[] = [];
  let path = "/";
  for (const raw of attributes) {
    const attribute = raw.trim();
    const name = attribute.split("=")[0]?.toLowerCase() ?? "";
    if (name === "domain") continue;
    if (name === "path") {
      path = attribute.slice(attribute.indexOf("=") + 1).trim() || "/";
      continue;
    }
    if (crossSite && (name === "samesite" || name === "secure" || name === "partitioned")) continue;
    if (attribute !== "") kept.push(attribute);
  }
  const fullPath = basePath === null ? path : `${basePath}${path === "/" ? "" : path}` || "/";
  kept.unshift(`Path=${fullPath}`);
  if (crossSite) kept.push("SameSite=None", "Secure", "Partitioned");
  return [pair.trim(), ...kept].join("; ");
}

function readBody(request: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(null);
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(size > limit ? null : Buffer.concat(chunks).toString("utf8")));
    request.on("error", () => resolve(null));
  });
}
