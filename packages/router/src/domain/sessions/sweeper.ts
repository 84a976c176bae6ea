import { isWithinAccessHours } from "@neosc/core/access-hours";
import { SYSTEM_ACTOR } from "@neosc/core/audit";
import type { Database } from "@neosc/db/database";
import type { AuditContext } from "../audit/record.ts";
import { loadPolicies } from "../policies/policies.ts";
import { isLive } from "../workspaces/availability.ts";
import { endSessionOnce, expireIfDue } from "./end.ts";

export interface SweepOptions {
  db: Database;
  clock: () => Date;
  /** Sessions read per round (default 200). */
  batchSize?: number;
}

export interface SweepResult {
  maxDuration: number;
  idleTimeout: number;
  accessHours: number;
  hostLost: number;
}

/**
 * Ends sessions past `endsAt` (max_duration) or `idleEndsAt` (idle_timeout), and every active
 * session once access hours are closed (access_hours), and the sessions of workspace hosts that
 * stopped heartbeating (host_lost). Each end is a compare-and-set, and only
 * the call that ended a session audits it, so any number of API replicas may sweep at once.
 */
export async function sweepSessions(options: SweepOptions): Promise<SweepResult> {
  const { db, clock } = options;
  const batchSize = options.batchSize ?? 200;
  const ctx: AuditContext = { db, identity: null, request: { clientIp: null, userAgent: null } };
  const result: SweepResult = { maxDuration: 0, idleTimeout: 0, accessHours: 0, hostLost: 0 };
  const now = clock();

  // Every round ends or skips (already ended elsewhere) each session it read, so this terminates.
  for (let round = 0; round < 1000; round++) {
    const expired = await db.sessions.findExpired(now, batchSize);
    for (const session of expired) {
      const reason = await expireIfDue(ctx, session, now);
      if (reason === "max_duration") result.maxDuration++;
      else if (reason === "idle_timeout") result.idleTimeout++;
    }
    if (expired.length < batchSize) break;
  }

  // A host that stopped heartbeating took its sandboxes with it (or cannot be reached to stop them).
  for (const host of await db.workspaceHosts.list()) {
    if (isLive(host, now)) continue;
    for (const session of await db.sessions.listActive({ hostId: host.id })) {
      const ended = await endSessionOnce(ctx, session, {
        reason: "host_lost",
        at: now,
        action: "session.expire",
        actor: SYSTEM_ACTOR,
        details: { hostId: host.id, lastHeartbeatAt: host.heartbeatAt.toISOString() },
      });
      if (ended !== null) result.hostLost++;
    }
  }

  const policies = await loadPolicies(db);
  const hours = policies["access-hours"];
  if (hours.enabled && !isWithinAccessHours(now, hours.settings)) {
    for (const session of await db.sessions.listActive()) {
      const ended = await endSessionOnce(ctx, session, {
        reason: "access_hours",
        at: now,
        action: "session.expire",
        actor: SYSTEM_ACTOR,
        details: { timeZone: hours.settings.timeZone, start: hours.settings.start, end: hours.settings.end },
      });
      if (ended !== null) result.accessHours++;
    }
  }
  return result;
}

export interface SweeperHandle {
  /** Stops the interval and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `sweepSessions` every `intervalMs` (default 30 s) until stopped; a sweep never overlaps
 * the previous one. Errors (database down) are handed to `onError` and the next tick retries.
 */
export function startSweeper(
  options: SweepOptions & {
    intervalMs?: number;
    onError?: (error: unknown) => void;
    onSweep?: (result: SweepResult) => void;
  },
): SweeperHandle {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running !== null) return;
    running = sweepSessions(options)
      .then((result) => options.onSweep?.(result))
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, options.intervalMs ?? 30_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      if (running !== null) await running;
    },
  };
}
