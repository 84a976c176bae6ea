import type { Page } from "@neosc/core/common";
import { DomainError } from "@neosc/core/errors";
import { isAdmin, readsEverything } from "@neosc/core/roles";
import type { ActiveSessionsInput, ListSessionsInput, WorkspaceSession } from "@neosc/core/session";
import type { AuthedContext } from "../../context.ts";
import { refuse } from "../audit/record.ts";
import { endSessionOnce, expireIfDue } from "./end.ts";

/** Own sessions, newest first; admins and auditors see everyone's and may filter by person. */
export function listSessions(ctx: AuthedContext, input: ListSessionsInput): Promise<Page<WorkspaceSession>> {
  if (readsEverything(ctx.identity.user)) return ctx.db.sessions.list(input);
  return ctx.db.sessions.list({ ...input, userId: ctx.identity.user.id });
}

/** Own active sessions; admins and auditors see everyone's, optionally filtered. */
export function activeSessions(ctx: AuthedContext, input: ActiveSessionsInput): Promise<WorkspaceSession[]> {
  if (readsEverything(ctx.identity.user)) return ctx.db.sessions.listActive(input);
  return ctx.db.sessions.listActive({
    userId: ctx.identity.user.id,
    ...(input.workspaceId === undefined ? {} : { workspaceId: input.workspaceId }),
  });
}

function sessionNotFound(sessionId: string): DomainError {
  return new DomainError("NOT_FOUND", "not_found", "No such session", { details: { sessionId } });
}

function notActive(sessionId: string): DomainError {
  return new DomainError("CONFLICT", "session_not_active", "This session has already ended", {
    details: { sessionId },
  });
}

function denied(ctx: AuthedContext, action: string, sessionId: string, error: DomainError): Promise<never> {
  return refuse(ctx, { action, resource: { type: "session", id: sessionId } }, error);
}

/** Someone else's session: admins see every session; anyone else is answered as if it did not exist. */
function notTheirs(
  ctx: AuthedContext,
  action: string,
  sessionId: string,
  error: DomainError,
): Promise<never> {
  const answer = isAdmin(ctx.identity.user) ? error : sessionNotFound(sessionId);
  return refuse(ctx, { action, resource: { type: "session", id: sessionId } }, error, answer);
}

/**
 * The owner's portal says it is still open: records `lastHeartbeatAt`. It does not keep a session
 * from idling — idle is measured from real input at the gateway (`lastInputAt`), never from an
 * open tab. A session already past a deadline is ended instead (the sweeper may not have reached
 * it yet). Successful heartbeats are not audited: they carry no decision.
 */
export async function heartbeat(ctx: AuthedContext, sessionId: string): Promise<WorkspaceSession> {
  const now = ctx.clock();
  const session = await ctx.db.sessions.findById(sessionId);
  if (session === null) return denied(ctx, "session.heartbeat", sessionId, sessionNotFound(sessionId));
  if (session.userId !== ctx.identity.user.id) {
    return notTheirs(
      ctx,
      "session.heartbeat",
      sessionId,
      new DomainError("FORBIDDEN", "not_owner", "Only the person who launched a session keeps it alive"),
    );
  }
  if (session.status !== "active") throw notActive(sessionId);
  if ((await expireIfDue(ctx, session, now)) !== null) throw notActive(sessionId);
  const updated = await ctx.db.sessions.heartbeat(sessionId, { at: now });
  if (updated === null) throw notActive(sessionId);
  return updated;
}

/** The owner or an admin ends a session, with an optional note. */
export async function disconnectSession(
  ctx: AuthedContext,
  input: { sessionId: string; note?: string | undefined },
): Promise<WorkspaceSession> {
  const { user } = ctx.identity;
  const session = await ctx.db.sessions.findById(input.sessionId);
  if (session === null)
    return denied(ctx, "session.disconnect", input.sessionId, sessionNotFound(input.sessionId));
  const own = session.userId === user.id;
  if (!own && !isAdmin(ctx.identity.user)) {
    return notTheirs(
      ctx,
      "session.disconnect",
      input.sessionId,
      new DomainError("FORBIDDEN", "not_owner", "Only the owner or an admin can end this session"),
    );
  }
  const ended = await endSessionOnce(ctx, session, {
    reason: own ? "user_disconnected" : "admin_disconnected",
    at: ctx.clock(),
    action: "session.disconnect",
    note: input.note ?? null,
    details: input.note === undefined ? {} : { note: input.note },
  });
  if (ended === null) throw notActive(input.sessionId);
  return ended;
}

/** Ends the caller's own active sessions of one workspace. */
export async function stopWorkspace(
  ctx: AuthedContext,
  input: { workspaceId: string },
): Promise<{ ended: WorkspaceSession[] }> {
  const at = ctx.clock();
  const ended: WorkspaceSession[] = [];
  const running = await ctx.db.sessions.listActive({
    userId: ctx.identity.user.id,
    workspaceId: input.workspaceId,
  });
  for (const session of running) {
    const result = await endSessionOnce(ctx, session, {
      reason: "user_stopped",
      at,
      action: "workspace.stop",
    });
    if (result !== null) ended.push(result);
  }
  return { ended };
}
