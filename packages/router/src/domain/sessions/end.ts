import { type AuditActor, SYSTEM_ACTOR } from "@neosc/core/audit";
import type { SessionEndReason, WorkspaceSession } from "@neosc/core/session";
import { type AuditContext, audit } from "../audit/record.ts";

export interface EndSessionOptions {
  reason: SessionEndReason;
  at: Date;
  /** The audit action, e.g. `session.disconnect`, `session.expire`. */
  action: string;
  note?: string | null;
  actor?: AuditActor;
  details?: Record<string, unknown>;
}

/**
 * Ends a session with a compare-and-set and audits it only when this call did the ending, so
 * several replicas (or a person racing the sweeper) never record one end twice.
 */
export async function endSessionOnce(
  ctx: AuditContext,
  session: Pick<WorkspaceSession, "id" | "userId" | "workspaceId">,
  options: EndSessionOptions,
): Promise<WorkspaceSession | null> {
  const ended = await ctx.db.sessions.end(session.id, {
    reason: options.reason,
    at: options.at,
    note: options.note ?? null,
  });
  if (ended === null) return null;
  await audit(ctx, {
    action: options.action,
    resource: { type: "session", id: ended.id },
    reason: options.reason,
    details: { userId: ended.userId, workspaceId: ended.workspaceId, ...options.details },
    ...(options.actor === undefined ? {} : { actor: options.actor }),
  });
  return ended;
}

/** Which deadline a session has passed at `now`, if any (the earlier one wins). */
export function expiryReason(session: WorkspaceSession, now: Date): "max_duration" | "idle_timeout" | null {
  const hard = session.endsAt !== null && session.endsAt.getTime() <= now.getTime() ? session.endsAt : null;
  const idle =
    session.idleEndsAt !== null && session.idleEndsAt.getTime() <= now.getTime() ? session.idleEndsAt : null;
  if (hard !== null && (idle === null || hard.getTime() <= idle.getTime())) return "max_duration";
  if (idle !== null) return "idle_timeout";
  return null;
}

/** Ends a session that has passed a deadline; the reason when this call ended it, else null. */
export async function expireIfDue(
  ctx: AuditContext,
  session: WorkspaceSession,
  now: Date,
): Promise<"max_duration" | "idle_timeout" | null> {
  if (session.status !== "active") return null;
  const reason = expiryReason(session, now);
  if (reason === null) return null;
  const ended = await endSessionOnce(ctx, session, {
    reason,
    at: now,
    action: "session.expire",
    actor: SYSTEM_ACTOR,
    details: {
      deadline: (reason === "max_duration" ? session.endsAt : session.idleEndsAt)?.toISOString() ?? null,
    },
  });
  return ended === null ? null : reason;
}
