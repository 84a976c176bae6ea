import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { PomeriumVerifier } from "@neosc/auth/pomerium";
import { verifySessionToken } from "@neosc/auth/session-token";
import { SYSTEM_ACTOR } from "@neosc/core/audit";
import {
  CLOSE_CODES,
  type CloseCode,
  GATEWAY_SUBPROTOCOL,
  type GatewayNotice,
  TICKET_SUBPROTOCOL_PREFIX,
} from "@neosc/core/connection";
import { clipboardRule, type RecordingMode, recordingMode } from "@neosc/core/policy";
import type { WorkspaceSession } from "@neosc/core/session";
import type { Database } from "@neosc/db/database";
import type { ConnectionSlot } from "@neosc/db/repositories/gateway";
import { type WebSocket, WebSocketServer } from "ws";
import type { EndpointResolver, WorkspaceEndpoint } from "./endpoint.ts";
import { type ConnectionEnd, ConnectionMonitor, closeFrameFor } from "./monitor.ts";
import { type ClipboardGuard, WorkspaceError } from "./protocol.ts";
import {
  type DesktopRecorder,
  type RecordingStore,
  type SegmentRecorder,
  startDesktopRecording,
  startTerminalRecording,
  type TerminalRecorder,
} from "./recording.ts";
import { connectEndpoint, type EarlyMessage, Relay } from "./relay.ts";
import { rfbSession } from "./rfb.ts";
import { connectSsh, terminalSession } from "./terminal.ts";

/*
 * The workspace gateway (ARCHITECTURE §9): admits a WebSocket only with a valid single-use
 * ticket from an allowed Origin (and, behind Pomerium, the same person's assertion), relays it
 * to the session's workspace, and keeps every policy on the live connection through one monitor
 * per connection. Nothing about a person lives only in this process: tickets, connection slots
 * and the revocation signal are in MongoDB, so any replica can serve any connection and an end
 * decided anywhere reaches the replica that holds the socket.
 */

export interface GatewayLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface GatewayOptions {
  db: Database;
  endpoints: EndpointResolver;
  /** Page origins that may open gateway connections (the portal's); the server's own origin always may. */
  allowedOrigins: ReadonlySet<string>;
  /** When Pomerium is in front: the upgrade must carry the ticket owner's assertion. */
  pomerium: PomeriumVerifier | null;
  /**
   * When the gateway shares the portal's origin (the embedded default): a ticket issued to a
   * signed-in login is accepted only with that same login's session cookie, so a ticket that
   * leaks to someone else is worthless to them.
   */
  loginCookie: { name: string; secret: string } | null;
  clock?: () => Date;
  logger?: GatewayLogger;
  /** Open connections per session, across replicas (default 2: a tab and its reconnect). */
  maxConnectionsPerSession?: number;
  /** Largest WebSocket message (and clipboard) accepted from a browser (default 1 MiB). */
  maxFrameBytes?: number;
  /** Keeps proxies' idle timeouts from cutting quiet connections, and finds dead peers (25 s). */
  pingIntervalMs?: number;
  /** How often the revocation signal is read (default 1 s). */
  revocationPollMs?: number;
  /** At most one `lastInputAt` write per connection per this many ms (default 10 s). */
  inputWriteIntervalMs?: number;
  /** Pause the workspace while this much is unsent to the browser (default 1 MiB). */
  highWaterBytes?: number;
  connectTimeoutMs?: number;
  /** This replica's name in the coordination state (default a random id). */
  replicaId?: string;
  /** The recordings folder (the `recording` policy); null: recording does not work here. */
  recordings?: RecordingStore | null;
}

export interface Gateway {
  /** For `server.on("upgrade")` on the gateway's path. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Open connections on this replica. */
  readonly connectionCount: number;
  /** Closes every connection (1012, try another replica) and stops polling. */
  close(): Promise<void>;
}

/** A slot held by a replica not seen for this long may be taken over. */
const REPLICA_STALE_MS = 30_000;
const REPLICA_HEARTBEAT_MS = 5_000;
/**
 * An open watch is on the watched session as a lease the watching connection renews (the
 * person's viewer, on any replica, shows a notice while it runs); a replica that dies mid-watch
 * leaves a lease that runs out within WATCH_LEASE_MS.
 */
const WATCH_LEASE_MS = 45_000;
const WATCH_RENEW_MS = 15_000;

interface Live {
  id: string;
  ws: WebSocket;
  monitor: ConnectionMonitor;
  /** A watcher's own standing (admin, enabled, signed in), re-checked when the revocation signal moves. */
  recheck?: () => Promise<void>;
}

/** An admin's watch lease on the session runs at `at`. */
function watchedAt(session: WorkspaceSession, at: Date): boolean {
  return session.watchedUntil !== undefined && session.watchedUntil.getTime() > at.getTime();
}

function isTerminal(endpoint: WorkspaceEndpoint): boolean {
  return endpoint.protocol === "ssh" || endpoint.protocol === "shell";
}

/**
 * The workspace side of a connection: a socket for desktops and local shells, an ssh login (the
 * gateway is the client, with the credential NeoSC holds) for ssh targets.
 */
function connectWorkspace(endpoint: WorkspaceEndpoint, timeoutMs: number): Promise<Duplex> {
  if (endpoint.protocol !== "ssh") return connectEndpoint(endpoint.endpoint, timeoutMs);
  if (endpoint.ssh === undefined || endpoint.secret === undefined) {
    return Promise.reject(new WorkspaceError("the ssh target has no login", "workspace_auth_failed"));
  }
  return connectSsh({ endpoint: endpoint.endpoint, login: endpoint.ssh, secret: endpoint.secret, timeoutMs });
}

/**
 * Keeps what the browser sends before the relay starts, up to `limit` bytes; the relay checks
 * it like everything else. More than that before the workspace answers is refused (4009).
 */
function holdEarlyMessages(ws: WebSocket, limit: number) {
  const held: EarlyMessage[] = [];
  let bytes = 0;
  const hold = (data: Buffer, isBinary: boolean) => {
    bytes += data.length;
    if (bytes <= limit) held.push({ data, isBinary });
  };
  ws.on("message", hold);
  return {
    get overflowed() {
      return bytes > limit;
    },
    /** Stops holding and hands over what was held; call right before the relay listens. */
    take(): EarlyMessage[] {
      ws.off("message", hold);
      return held;
    },
  };
}

/** The ticket and the protocol version among the offered subprotocols. */
export function parseSubprotocols(header: string | undefined): { ticket: string | null; speaksV1: boolean } {
  const offered = (header ?? "")
    .split(",")
    .map((value) => value.trim())
    .filter(Boolean);
  const ticket = offered.find((value) => value.startsWith(TICKET_SUBPROTOCOL_PREFIX));
  return {
    ticket: ticket === undefined ? null : ticket.slice(TICKET_SUBPROTOCOL_PREFIX.length) || null,
    speaksV1: offered.includes(GATEWAY_SUBPROTOCOL),
  };
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return null;
}

export function createGateway(options: GatewayOptions): Gateway {
  const { db } = options;
  const clock = options.clock ?? (() => new Date());
  const logger = options.logger ?? { info: () => {}, warn: () => {} };
  const replica = options.replicaId ?? randomUUID();
  const cap = options.maxConnectionsPerSession ?? 2;
  const maxFrameBytes = options.maxFrameBytes ?? 1024 * 1024;
  const pingIntervalMs = options.pingIntervalMs ?? 25_000;
  const live = new Map<string, Live>();
  /** Segments being closed; shutting down waits for them, so each one's hash reaches the audit. */
  const finishingRecordings = new Set<Promise<void>>();

  const wss = new WebSocketServer({
    noServer: true,
    // Frames above the limit are refused by our own check with 4009; ws cuts only far larger ones (1009).
    maxPayload: maxFrameBytes * 2,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(GATEWAY_SUBPROTOCOL) ? GATEWAY_SUBPROTOCOL : false),
  });

  const refuse = (ws: WebSocket, code: CloseCode, reason: string) => {
    ws.close(code, reason);
  };

  const auditConnection = async (
    request: { clientIp: string | null; userAgent: string | null },
    entry: {
      sessionId: string | null;
      userId: string | null;
      result: "success" | "denied" | "error";
      reason: string | null;
      details?: Record<string, unknown>;
    },
    action = "gateway.connect",
  ) => {
    try {
      await db.audit.append({
        actor: entry.userId === null ? SYSTEM_ACTOR : { id: entry.userId, email: null, role: null },
        action,
        resource: { type: "session", id: entry.sessionId },
        clientIp: request.clientIp,
        userAgent: request.userAgent,
        result: entry.result,
        reason: entry.reason,
        details: entry.details ?? {},
      });
    } catch (error) {
      logger.warn({ err: error }, "gateway audit append failed");
    }
  };

  /** A configured portal origin, or the page's own origin (the portal served by this server). */
  const originAllowed = (origin: string, host: string | undefined) => {
    if (options.allowedOrigins.has(origin)) return true;
    try {
      return host !== undefined && new URL(origin).host === host;
    } catch {
      return false;
    }
  };

  type ConnectionInfo = { clientIp: string | null; userAgent: string | null };

  /**
   * Opens the connection's recording segment (asciicast for a terminal, the viewer's stream for a
   * desktop). A failure is audited; under `required` the connection may not go on ("refused"),
   * under `on` it goes on unrecorded (null).
   */
  async function startRecording(
    sessionId: string,
    terminal: boolean,
    recording: { mode: Exclude<RecordingMode, "off">; recordInput: boolean },
    info: ConnectionInfo,
    userId: string,
  ): Promise<DesktopRecorder | TerminalRecorder | null | "refused"> {
    const { mode } = recording;
    const failed = async (reason: string, detail: string, segment: number | null) => {
      await auditConnection(
        info,
        { sessionId, userId, result: "error", reason, details: { segment, detail, mode } },
        "recording.failed",
      );
      logger.warn({ sessionId, reason, detail }, "gateway: recording did not start");
      return mode === "required" ? ("refused" as const) : null;
    };
    const store = options.recordings ?? null;
    if (store === null) return failed("recording_unavailable", "this gateway has no recordings folder", null);
    let segment: number | null = null;
    try {
      const startedAt = clock();
      segment = await db.gateway.claimRecordingSegment(sessionId, startedAt);
      const start = { sessionId, segment, startedAt };
      // The size until the browser's first resize (a frame at 0 s): the pty's own default.
      const recorder = terminal
        ? await startTerminalRecording(store, start, {
            cols: 80,
            rows: 24,
            recordInput: recording.recordInput,
          })
        : await startDesktopRecording(store, start);
      await auditConnection(
        info,
        {
          sessionId,
          userId,
          result: "success",
          reason: null,
          details: {
            segment,
            kind: recorder.writer.kind,
            ...(terminal ? { recordInput: recording.recordInput } : {}),
          },
        },
        "recording.start",
      );
      return recorder;
    } catch (error) {
      return failed("recording_unavailable", error instanceof Error ? error.message : String(error), segment);
    }
  }

  /** Closes the segment and puts its hash into the audit chain (`recording.segment`). */
  async function finishRecording(recorder: SegmentRecorder, info: ConnectionInfo, userId: string) {
    if (recorder.failed) return;
    const { sessionId, segment, kind } = recorder;
    try {
      const result = await recorder.finish(clock());
      await auditConnection(
        info,
        {
          sessionId,
          userId,
          result: "success",
          reason: null,
          details: {
            segment,
            kind,
            sha256: result.sha256,
            bytes: result.bytes,
            startedAt: result.startedAt.toISOString(),
            endedAt: result.endedAt.toISOString(),
            durationMs: result.endedAt.getTime() - result.startedAt.getTime(),
          },
        },
        "recording.segment",
      );
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      logger.warn({ sessionId, segment, detail }, "gateway: recording segment could not be finished");
      await auditConnection(
        info,
        {
          sessionId,
          userId,
          result: "error",
          reason: "recording_write_failed",
          details: { segment, kind, detail },
        },
        "recording.failed",
      );
    }
  }

  async function admit(ws: WebSocket, request: IncomingMessage): Promise<void> {
    // A terminal's first keys and size can arrive while it is admitted and its workspace connected.
    const early = holdEarlyMessages(ws, maxFrameBytes);
    const now = clock();
    const info = {
      clientIp: request.socket.remoteAddress ?? null,
      userAgent: request.headers["user-agent"]?.slice(0, 512) ?? null,
    };
    // The refusal is on record before the client learns of it.
    const deny = async (code: CloseCode, reason: string, sessionId: string | null, userId: string | null) => {
      await auditConnection(info, { sessionId, userId, result: "denied", reason });
      refuse(ws, code, reason);
    };

    const origin = request.headers.origin;
    if (origin === undefined || !originAllowed(origin, request.headers.host)) {
      return deny(CLOSE_CODES.refused, "origin_not_allowed", null, null);
    }
    const { ticket } = parseSubprotocols(request.headers["sec-websocket-protocol"]);
    if (ticket === null) return deny(CLOSE_CODES.ticketInvalid, "ticket_missing", null, null);
    const redeemed = await db.connectTickets.redeem(ticket, now);
    if (!redeemed.ok) return deny(CLOSE_CODES.ticketInvalid, `ticket_${redeemed.why}`, null, null);
    const { sessionId, userId, loginSessionId, subject } = redeemed.ticket;
    // An admin watching someone's desktop or local shell (`session.watch`): view-only, its own
    // connection to the workspace (a shared VNC client; another viewer of the shell host, which
    // replays its scrollback first), none of the person's slots, nothing recorded.
    const watch = redeemed.ticket.watch === true;

    if (options.pomerium !== null) {
      const assertion = request.headers["x-pomerium-jwt-assertion"];
      let asserted: string | null = null;
      if (typeof assertion === "string") {
        try {
          asserted = (await options.pomerium.verify(assertion, { now })).subject;
        } catch {
          asserted = null;
        }
      }
      if (asserted === null || subject === null || asserted !== subject) {
        return deny(CLOSE_CODES.refused, "identity_mismatch", sessionId, userId);
      }
    }

    if (options.loginCookie !== null && loginSessionId !== null) {
      const token = cookieValue(request.headers.cookie, options.loginCookie.name);
      let login: string | null = null;
      if (token !== null) {
        try {
          login = (await verifySessionToken({ secret: options.loginCookie.secret }, token, { now }))
            .sessionId;
        } catch {
          login = null;
        }
      }
      if (login !== loginSessionId) return deny(CLOSE_CODES.refused, "identity_mismatch", sessionId, userId);
    }

    const [session, user, login, idleTimeout, accessHours, clipboardPolicy, recordingPolicy] =
      await Promise.all([
        db.sessions.findById(sessionId),
        db.users.findById(userId),
        loginSessionId === null ? Promise.resolve(null) : db.loginSessions.findById(loginSessionId),
        db.policies.get("idle-timeout"),
        db.policies.get("access-hours"),
        db.policies.get("clipboard"),
        db.policies.get("recording"),
      ]);
    if (session === null || (!watch && session.userId !== userId)) {
      return deny(CLOSE_CODES.ticketInvalid, "ticket_unknown", sessionId, userId);
    }
    /** The watcher may still watch: an enabled admin whose sign-in (if any) is still valid. */
    const watcherStanding = async (at: Date): Promise<boolean> => {
      const [admin, adminLogin] = await Promise.all([
        db.users.findById(userId),
        loginSessionId === null ? Promise.resolve(null) : db.loginSessions.findById(loginSessionId),
      ]);
      if (admin === null || admin.disabled || admin.role !== "admin") return false;
      if (loginSessionId === null) return true;
      return (
        adminLogin !== null && adminLogin.revokedAt === null && adminLogin.expiresAt.getTime() > at.getTime()
      );
    };
    if (watch && !(await watcherStanding(now))) {
      return deny(CLOSE_CODES.refused, "role_required", sessionId, userId);
    }
    if (session.status !== "active") {
      return deny(CLOSE_CODES.sessionEnded, session.endReason ?? "admin_disconnected", sessionId, userId);
    }
    // Where the workspace listens and its catalogue entry are read while the person is admitted
    // and a slot taken (reads only: a refused connection has done nothing with them), instead of
    // one round trip after another; the workspace is connected only once all of it passed.
    const lookups = Promise.all([
      options.endpoints(session).catch((error: unknown) => {
        logger.warn({ err: error, sessionId }, "gateway: endpoint lookup failed");
        return null;
      }),
      db.workspaces.findById(session.workspaceId),
    ]);
    lookups.catch(() => {});

    const connectionId = randomUUID();
    let slot: ConnectionSlot | null = null;
    let relay: Relay | null = null;
    let recorder: DesktopRecorder | TerminalRecorder | null = null;
    /** What the person's viewer last heard of admins' watches (their watches, not a watcher's). */
    let toldWatched = watchedAt(session, now);
    const tellWatch = (current: WorkspaceSession) => {
      const watched = watchedAt(current, clock());
      if (watched === toldWatched || ws.readyState !== ws.OPEN) return;
      toldWatched = watched;
      ws.send(JSON.stringify({ type: "watch", watched } satisfies GatewayNotice));
    };
    const closeWith = (end: ConnectionEnd) => {
      relay?.stop();
      const frame = closeFrameFor(end);
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(frame.code, frame.reason);
    };
    // A watcher's connection follows the session and its person (it ends when the session does);
    // the watcher's own sign-in only ends the watch (below), never the person's session.
    const monitor = new ConnectionMonitor({
      db,
      clock,
      session,
      userId: watch ? session.userId : userId,
      loginSessionId: watch ? null : loginSessionId,
      loginExpiresAt: watch ? null : (login?.expiresAt ?? null),
      policies: { idleTimeout, accessHours },
      inputWriteIntervalMs: options.inputWriteIntervalMs ?? 10_000,
      close: closeWith,
      ...(watch ? {} : { onSession: tellWatch }),
      onError: (error, what) => logger.warn({ err: error, sessionId }, `gateway: failed ${what}`),
    });

    const admitted = watch
      ? await monitor.admit(await db.users.findById(session.userId), null, now)
      : await monitor.admit(user, login, now);
    if (!admitted) return;

    slot = watch
      ? null
      : await db.gateway.takeSlot({
          sessionId,
          cap,
          replica,
          connectionId,
          at: now,
          staleBefore: new Date(now.getTime() - REPLICA_STALE_MS),
        });
    if (slot === null && !watch)
      return deny(CLOSE_CODES.tooManyConnections, "too_many_connections", sessionId, userId);
    const heldSlot = slot;

    const entry: Live = {
      id: connectionId,
      ws,
      monitor,
      ...(watch
        ? {
            recheck: async () => {
              if (!(await watcherStanding(clock())))
                monitor.finish({ kind: "session", reason: "login_revoked" });
            },
          }
        : {}),
    };
    live.set(connectionId, entry);
    const openedAt = Date.now();
    let watchLease: NodeJS.Timeout | null = null;
    let watchWrites: Promise<void> = Promise.resolve();
    /** Puts the watch on the session (a lease until `until`), or takes it off (null); in order. */
    const leaseWatch = (until: Date | null) => {
      watchWrites = watchWrites.then(() =>
        db.sessions
          .setWatch(sessionId, { connectionId, until, at: clock() })
          .catch((error: unknown) => logger.warn({ err: error, sessionId }, "gateway: watch lease failed")),
      );
      return watchWrites;
    };
    ws.once("close", (code: number) => {
      live.delete(connectionId);
      clearInterval(pinger);
      if (watchLease !== null) {
        clearInterval(watchLease);
        void leaseWatch(null);
      }
      // The client (or the network) ended it when the monitor did not.
      monitor.finish({ kind: "client_closed", code });
      relay?.stop();
      if (recorder !== null) {
        const finishing = finishRecording(recorder.writer, info, userId);
        finishingRecordings.add(finishing);
        void finishing.finally(() => finishingRecordings.delete(finishing));
      }
      if (heldSlot !== null)
        void db.gateway
          .releaseSlot(heldSlot)
          .catch((error: unknown) => logger.warn({ err: error }, "slot release failed"));
      const end = monitor.end ?? { kind: "client_closed", code };
      const frame = closeFrameFor(end);
      logger.info(
        { sessionId, connectionId, code: frame.code, reason: frame.reason },
        "gateway connection closed",
      );
      void auditConnection(
        info,
        {
          sessionId,
          userId,
          result: "success",
          reason: end.kind === "session" ? end.reason : end.kind,
          details: {
            code: frame.code,
            seconds: Math.round((Date.now() - openedAt) / 1000),
            bytesToClient: relay?.bytesToClient ?? 0,
            bytesToServer: relay?.bytesToServer ?? 0,
            ...(watch ? { watch: true } : {}),
            ...(end.kind === "protocol" || end.kind === "workspace_closed" ? { detail: end.detail } : {}),
          },
        },
        "gateway.disconnect",
      );
    });

    let alive = true;
    ws.on("pong", () => {
      alive = true;
    });
    const pinger = setInterval(() => {
      if (!alive) {
        monitor.finish({ kind: "unresponsive" });
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, pingIntervalMs);
    pinger.unref();

    monitor.start();
    const [endpoint, workspace] = await lookups;
    if (endpoint === null || (endpoint.protocol !== "rfb" && !isTerminal(endpoint))) {
      return monitor.finish({ kind: "workspace_closed", detail: "the workspace is not running" });
    }
    // An ssh target's connection is a login of its own, not the person's shell: nothing to watch.
    if (watch && endpoint.protocol === "ssh") {
      return monitor.finish({ kind: "workspace_closed", detail: "an ssh terminal cannot be watched" });
    }
    let upstream: Duplex;
    try {
      upstream = await connectWorkspace(endpoint, options.connectTimeoutMs ?? 5_000);
    } catch (error) {
      return monitor.finish({
        kind: "workspace_closed",
        detail: error instanceof Error ? error.message : String(error),
        ...(error instanceof WorkspaceError ? { reason: error.reason } : {}),
      });
    }
    if (monitor.end !== null) {
      upstream.destroy();
      return;
    }
    const terminal = isTerminal(endpoint);
    // The policy as it was when the connection opened; a change applies from the next connection.
    // The workspace's own rule can only make recording stricter than the policy.
    // A watcher's view is not a segment of the session: the person's own connection is recorded.
    const recording = watch ? "off" : recordingMode(recordingPolicy, workspace?.recording ?? null);
    if (recording !== "off") {
      const started = await startRecording(
        sessionId,
        terminal,
        { mode: recording, recordInput: recordingPolicy.settings.recordInput },
        info,
        userId,
      );
      if (started === "refused") {
        upstream.destroy();
        return monitor.endSession("recording_failed", "session.expire");
      }
      recorder = started;
      if (monitor.end !== null) {
        upstream.destroy();
        return;
      }
    }
    const clipboard: ClipboardGuard = {
      rule: clipboardRule(clipboardPolicy),
      refused: (reason, bytes) =>
        void auditConnection(
          info,
          {
            sessionId,
            userId,
            result: "denied",
            reason,
            details: { bytes, protocol: endpoint.protocol },
          },
          "gateway.clipboard",
        ),
    };
    // A local shell's pty is shared by every connection of the session and `stty` can change it
    // from inside: its host reports each size, which is what a recording of it must follow.
    const shellSizes = endpoint.protocol === "shell" && recorder !== null && "resize" in recorder;
    relay = new Relay(
      ws,
      upstream,
      terminal
        ? terminalSession(clipboard, {
            viewOnly: watch,
            watchShell: endpoint.protocol === "shell" && (watch || shellSizes),
          })
        : rfbSession({
            password: endpoint.secret,
            maxClipboardBytes: maxFrameBytes,
            clipboard,
            viewOnly: watch,
          }),
      {
        highWaterBytes: options.highWaterBytes ?? 1024 * 1024,
        maxFrameBytes,
        connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      },
      {
        onInput: () => monitor.input(),
        // A watcher of a shell is one more reader of the person's pty: waiting for a slow one
        // would stop the person's output too. It is closed instead, and reconnects to the
        // scrollback. (A shared VNC client is paced by Xvnc on its own.)
        ...(watch && terminal ? { onBrowserBehind: () => monitor.finish({ kind: "unresponsive" }) } : {}),
        onViolation: (error) =>
          monitor.finish({
            kind: "protocol",
            code: error.kind === "too_large" ? CLOSE_CODES.tooLarge : CLOSE_CODES.protocolViolation,
            detail: error.message,
          }),
        ...(recorder === null
          ? {}
          : {
              onClientBytes: (bytes: Buffer) => recorder?.server(bytes) ?? true,
              onPointer: (pointer: { mask: number; x: number; y: number }) => {
                if (recorder !== null && "pointer" in recorder)
                  recorder.pointer(pointer.mask, pointer.x, pointer.y);
              },
              onTerminal: ({ resizes, typed, markers }) => {
                if (recorder === null || !("resize" in recorder)) return;
                for (const marker of markers ?? []) recorder.marker(marker);
                if (!shellSizes) for (const size of resizes ?? []) recorder.resize(size.cols, size.rows);
                for (const bytes of typed ?? []) recorder.input(bytes);
              },
              ...(shellSizes
                ? {
                    onShellSize: (size: { cols: number; rows: number }) => {
                      if (recorder !== null && "resize" in recorder) recorder.resize(size.cols, size.rows);
                    },
                  }
                : {}),
            }),
        onWorkspaceClosed: (detail, ended, reason) => {
          // A terminal whose shell exited (logout, `exit`) is over: the session ends with it.
          if (terminal && ended) void monitor.endSession("workspace_exited", "session.expire");
          else
            monitor.finish({ kind: "workspace_closed", detail, ...(reason === undefined ? {} : { reason }) });
        },
      },
    );
    if (recorder !== null) {
      const held = recorder.writer;
      const activeRelay = relay;
      held.onDrain(() => activeRelay.release("recorder"));
      held.onFailure((why, detail) => {
        recorder = null;
        void auditConnection(
          info,
          {
            sessionId,
            userId,
            result: "error",
            reason: why,
            details: { segment: held.segment, detail, mode: recording },
          },
          "recording.failed",
        );
        logger.warn({ sessionId, segment: held.segment, why, detail }, "gateway: recording failed");
        if (recording === "required") void monitor.endSession("recording_failed", "session.expire");
      });
    }
    const admittedOnRecord = auditConnection(info, {
      sessionId,
      userId,
      result: "success",
      reason: null,
      details: {
        connectionId,
        ...(watch ? { watch: true, watched: session.userId } : {}),
        ...(recorder === null ? {} : { recordingSegment: recorder.writer.segment }),
      },
    });
    // A desktop's RFB handshake carries nothing of the desktop (versions, security None), so it
    // runs while the admission is written to the audit, and the relay starts once it is; a
    // terminal's handshake may already carry the shell's output, so it waits for the entry.
    if (terminal) await admittedOnRecord;
    if (watch && ws.readyState === ws.OPEN) {
      const renew = () => leaseWatch(new Date(clock().getTime() + WATCH_LEASE_MS));
      watchLease = setInterval(() => void renew(), WATCH_RENEW_MS);
      watchLease.unref();
      await renew();
    }
    if (early.overflowed) {
      relay.stop();
      return monitor.finish({
        kind: "protocol",
        code: CLOSE_CODES.tooLarge,
        detail: "too much sent before the workspace answered",
      });
    }
    await relay.start(early.take(), admittedOnRecord);
  }

  // The revocation watch: one `_id` read per poll; the held connections are re-checked only when
  // the signal changed. A replica also says it is alive, so its slots are not taken over.
  let token: string | null | undefined;
  let polling: Promise<void> | null = null;
  let lastSeenAt = 0;
  const poll = async () => {
    const now = clock();
    if (now.getTime() - lastSeenAt >= REPLICA_HEARTBEAT_MS) {
      lastSeenAt = now.getTime();
      await db.gateway.replicaSeen(replica, now);
    }
    const current = await db.gateway.revocationToken();
    if (current === token) return;
    token = current;
    await Promise.all([...live.values()].map((entry) => entry.monitor.revalidate()));
    await Promise.all([...live.values()].map((entry) => entry.recheck?.()));
  };
  const poller = setInterval(() => {
    if (polling !== null) return;
    polling = poll()
      .catch((error: unknown) => logger.warn({ err: error }, "gateway: revocation poll failed"))
      .finally(() => {
        polling = null;
      });
  }, options.revocationPollMs ?? 1000);
  poller.unref();

  return {
    handleUpgrade(request, socket, head) {
      const { speaksV1 } = parseSubprotocols(request.headers["sec-websocket-protocol"]);
      if (!speaksV1) {
        socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        ws.on("error", (error) => logger.warn({ err: error }, "gateway websocket error"));
        admit(ws, request).catch((error: unknown) => {
          logger.warn({ err: error }, "gateway: admission failed");
          if (ws.readyState === ws.OPEN) ws.close(1011, "gateway_error");
        });
      });
    },
    get connectionCount() {
      return live.size;
    },
    async close() {
      clearInterval(poller);
      await polling;
      for (const entry of live.values()) entry.monitor.finish({ kind: "gateway_stopping" });
      await Promise.all(
        [...live.values()].map(
          (entry) =>
            new Promise<void>((resolve) => {
              if (entry.ws.readyState === entry.ws.CLOSED) resolve();
              else entry.ws.once("close", () => resolve());
              setTimeout(() => {
                entry.ws.terminate();
                resolve();
              }, 2000).unref();
            }),
        ),
      );
      wss.close();
      await Promise.all([...finishingRecordings]);
    },
  };
}
