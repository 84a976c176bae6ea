import { accessHoursCloseAt, isWithinAccessHours } from "@neosc/core/access-hours";
import { SYSTEM_ACTOR } from "@neosc/core/audit";
import { CLOSE_CODES, type WorkspaceCloseReason } from "@neosc/core/connection";
import type { PolicyOf } from "@neosc/core/policy";
import type { SessionEndReason, WorkspaceSession } from "@neosc/core/session";
import type { Database } from "@neosc/db/database";

/*
 * One monitor per live connection (after Teleport's lib/srv/monitor.go): it owns the
 * connection's timers (max duration, access hours, login expiry, idle from real input) and the
 * re-check after a revocation, and it is the one place that decides why a connection ends. A
 * session end it decides is written with a compare-and-set and audited once, like the sweeper's;
 * when another replica or the API ended the session first, the connection reports that reason.
 */

/** Why a connection ended. `session` ends also end the workspace session; the others do not. */
export type ConnectionEnd =
  | { kind: "session"; reason: SessionEndReason }
  | {
      kind: "protocol";
      code: typeof CLOSE_CODES.protocolViolation | typeof CLOSE_CODES.tooLarge;
      detail: string;
    }
  | { kind: "workspace_closed"; detail: string; reason?: WorkspaceCloseReason }
  | { kind: "login_expired" }
  | { kind: "client_closed"; code: number }
  | { kind: "unresponsive" }
  | { kind: "gateway_stopping" };

/** The close frame for an end: the code, and a reason text the viewer turns into words. */
export function closeFrameFor(end: ConnectionEnd): { code: number; reason: string } {
  switch (end.kind) {
    case "session":
      return { code: CLOSE_CODES.sessionEnded, reason: end.reason };
    case "protocol":
      return {
        code: end.code,
        reason: end.code === CLOSE_CODES.tooLarge ? "too_large" : "protocol_violation",
      };
    case "workspace_closed":
      return { code: CLOSE_CODES.workspaceUnavailable, reason: end.reason ?? "workspace_closed" };
    case "login_expired":
      return { code: CLOSE_CODES.refused, reason: "login_expired" };
    case "client_closed":
      return { code: 1000, reason: "" };
    case "unresponsive":
      return { code: 1001, reason: "unresponsive" };
    case "gateway_stopping":
      return { code: 1012, reason: "gateway_restarting" };
  }
}

export interface MonitorPolicies {
  idleTimeout: PolicyOf<"idle-timeout">;
  accessHours: PolicyOf<"access-hours">;
}

export interface MonitorOptions {
  db: Database;
  clock: () => Date;
  session: WorkspaceSession;
  userId: string;
  loginSessionId: string | null;
  loginExpiresAt: Date | null;
  policies: MonitorPolicies;
  /** At most one `lastInputAt` write per this many ms per connection (default 10 s). */
  inputWriteIntervalMs: number;
  /** Closes the socket; called exactly once. */
  close(end: ConnectionEnd): void;
  /** The session as re-read after a revocation signal, when the connection goes on. */
  onSession?: (session: WorkspaceSession) => void;
  onError(error: unknown, what: string): void;
}

/** setTimeout takes at most 2^31-1 ms; later deadlines are re-armed on the way. */
const MAX_TIMER_MS = 2_147_483_647;

export class ConnectionMonitor {
  private readonly timers = new Set<NodeJS.Timeout>();
  private idleTimer: NodeJS.Timeout | null = null;
  private ended: ConnectionEnd | null = null;
  private idleEndsAt: Date | null;
  private lastInputAt: Date | null = null;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private writeTimer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;

  constructor(private readonly options: MonitorOptions) {
    this.idleEndsAt = options.session.idleEndsAt;
  }

  get end(): ConnectionEnd | null {
    return this.ended;
  }

  /** Arms the deadlines: max duration, the access-hours close, the login's expiry, idle. */
  start(): void {
    const { session, policies, loginExpiresAt, clock } = this.options;
    if (session.endsAt !== null)
      this.at(session.endsAt, () => this.endSession("max_duration", "session.expire"));
    if (policies.accessHours.enabled) {
      this.at(accessHoursCloseAt(clock(), policies.accessHours.settings), () =>
        this.endSession("access_hours", "session.expire"),
      );
    }
    if (loginExpiresAt !== null) this.at(loginExpiresAt, () => this.finish({ kind: "login_expired" }));
    this.armIdle();
  }

  /**
   * What may have changed since the ticket was issued: a disabled person, a revoked login, a
   * passed deadline. Ends the session (and the connection) and answers false when one did.
   */
  async admit(
    user: { disabled: boolean } | null,
    login: { revokedAt: Date | null } | null,
    now: Date,
  ): Promise<boolean> {
    const { session, loginSessionId, policies } = this.options;
    if (user === null || user.disabled) await this.endSession("user_disabled", "session.revoke");
    else if (loginSessionId !== null && (login === null || login.revokedAt !== null)) {
      await this.endSession("login_revoked", "session.revoke");
    } else if (session.endsAt !== null && session.endsAt <= now) {
      await this.endSession("max_duration", "session.expire");
    } else if (session.idleEndsAt !== null && session.idleEndsAt <= now) {
      await this.endSession("idle_timeout", "session.expire");
    } else if (policies.accessHours.enabled && !isWithinAccessHours(now, policies.accessHours.settings)) {
      await this.endSession("access_hours", "session.expire");
    }
    return this.ended === null;
  }

  /** A person's input (keys, pointer moves, clipboard) arrived: idle starts again from now. */
  input(): void {
    if (this.ended !== null || !this.options.policies.idleTimeout.enabled) return;
    this.lastInputAt = this.options.clock();
    const sinceWrite = this.lastInputAt.getTime() - this.lastWriteAt;
    if (sinceWrite >= this.options.inputWriteIntervalMs) this.writeInput();
    else if (this.writeTimer === null) {
      this.writeTimer = setTimeout(() => {
        this.writeTimer = null;
        this.writeInput();
      }, this.options.inputWriteIntervalMs - sinceWrite);
      this.writeTimer.unref();
    }
  }

  /**
   * After a revocation signal: re-reads this connection's session, person and login by `_id` and
   * ends the connection when any of them says so.
   */
  async revalidate(): Promise<void> {
    if (this.ended !== null) return;
    const { db, session, userId, loginSessionId, clock } = this.options;
    const [current, user, login] = await Promise.all([
      db.sessions.findById(session.id),
      db.users.findById(userId),
      loginSessionId === null ? Promise.resolve(null) : db.loginSessions.findById(loginSessionId),
    ]);
    if (current === null) return this.finish({ kind: "session", reason: "workspace_deleted" });
    if (current.status !== "active") {
      return this.finish({ kind: "session", reason: current.endReason ?? "admin_disconnected" });
    }
    if (user === null || user.disabled) return this.endSession("user_disabled", "session.revoke");
    if (loginSessionId !== null && (login === null || login.revokedAt !== null)) {
      return this.endSession("login_revoked", "session.revoke");
    }
    if (login !== null && login.expiresAt.getTime() <= clock().getTime())
      return this.finish({ kind: "login_expired" });
    this.idleEndsAt = current.idleEndsAt;
    this.options.onSession?.(current);
  }

  /** Ends the connection for a reason that does not end the session (or was decided elsewhere). */
  finish(end: ConnectionEnd): void {
    if (this.ended !== null) return;
    this.ended = end;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    if (this.writeTimer !== null) clearTimeout(this.writeTimer);
    this.options.close(end);
  }

  /** Ends the workspace session (once, across replicas) and then this connection. */
  async endSession(reason: SessionEndReason, action: string): Promise<void> {
    if (this.ended !== null) return;
    const { db, session, clock } = this.options;
    const at = clock();
    try {
      const ended = await db.sessions.end(session.id, { reason, at });
      if (ended !== null) {
        await db.audit.append({
          actor: SYSTEM_ACTOR,
          action,
          resource: { type: "session", id: session.id },
          clientIp: null,
          userAgent: null,
          result: "success",
          reason,
          details: { userId: session.userId, workspaceId: session.workspaceId, by: "gateway" },
        });
        return this.finish({ kind: "session", reason });
      }
      // Someone else ended it first: report what they decided.
      const current = await db.sessions.findById(session.id);
      this.finish({ kind: "session", reason: current?.endReason ?? reason });
    } catch (error) {
      this.options.onError(error, "ending a session");
      this.finish({ kind: "session", reason });
    }
  }

  /** Waits for an input write in flight (tests, shutdown). */
  async flush(): Promise<void> {
    await this.writing;
  }

  private at(deadline: Date, fire: () => void) {
    const delay = deadline.getTime() - this.options.clock().getTime();
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (delay > MAX_TIMER_MS) this.at(deadline, fire);
        else fire();
      },
      Math.max(0, Math.min(delay, MAX_TIMER_MS)),
    );
    timer.unref();
    this.timers.add(timer);
  }

  private idleMs(): number | null {
    const policy = this.options.policies.idleTimeout;
    return policy.enabled ? policy.settings.minutes * 60_000 : null;
  }

  /** The idle end: the later of the stored `idleEndsAt` and this connection's own last input. */
  private idleDeadline(): Date | null {
    const idleMs = this.idleMs();
    if (idleMs === null) return null;
    const local = this.lastInputAt === null ? null : this.lastInputAt.getTime() + idleMs;
    const stored = this.idleEndsAt?.getTime() ?? null;
    if (local === null && stored === null) return null;
    return new Date(Math.max(local ?? Number.NEGATIVE_INFINITY, stored ?? Number.NEGATIVE_INFINITY));
  }

  private armIdle() {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const deadline = this.idleDeadline();
    if (deadline === null || this.ended !== null) return;
    const delay = Math.max(0, Math.min(deadline.getTime() - this.options.clock().getTime(), MAX_TIMER_MS));
    this.idleTimer = setTimeout(() => void this.idleCheck(), delay);
    this.idleTimer.unref();
  }

  /**
   * The idle deadline passed on this connection's clock. Input on another connection of the same
   * session (this replica or another) moves the stored `idleEndsAt`, so read it before ending.
   */
  private async idleCheck(): Promise<void> {
    this.idleTimer = null;
    if (this.ended !== null) return;
    try {
      await this.writing;
      const current = await this.options.db.sessions.findById(this.options.session.id);
      if (current === null || current.status !== "active") {
        return this.finish({ kind: "session", reason: current?.endReason ?? "workspace_deleted" });
      }
      this.idleEndsAt = current.idleEndsAt;
    } catch (error) {
      this.options.onError(error, "checking idle");
    }
    const deadline = this.idleDeadline();
    if (deadline !== null && deadline.getTime() <= this.options.clock().getTime()) {
      await this.endSession("idle_timeout", "session.expire");
      return;
    }
    this.armIdle();
  }

  private writeInput() {
    const at = this.lastInputAt;
    const idleMs = this.idleMs();
    if (at === null || idleMs === null || this.writing !== null) return;
    this.lastWriteAt = at.getTime();
    const idleEndsAt = new Date(at.getTime() + idleMs);
    this.armIdle();
    this.writing = this.options.db.sessions
      .recordInput(this.options.session.id, { at, idleEndsAt })
      .then((updated) => {
        if (updated !== null) this.idleEndsAt = updated.idleEndsAt;
      })
      .catch((error: unknown) => this.options.onError(error, "recording input"))
      .finally(() => {
        this.writing = null;
      });
  }
}
