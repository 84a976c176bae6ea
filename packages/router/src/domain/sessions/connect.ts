import { randomBytes } from "node:crypto";
import {
  type ConnectProtocol,
  type ConnectSessionOutput,
  GATEWAY_PATH,
  TICKET_TTL_SECONDS,
} from "@neosc/core/connection";
import { DomainError } from "@neosc/core/errors";
import { isAdmin } from "@neosc/core/roles";
import type { WorkspaceSession } from "@neosc/core/session";
import { APP_ENTRY_PATH, type AppsAddressing, appBaseUrl } from "@neosc/core/web-app";
import type { AuthedContext } from "../../context.ts";
import { audit, refuse } from "../audit/record.ts";
import { checkAccessHours, checkIpAllowlist } from "../policies/checks.ts";
import { loadPolicies } from "../policies/policies.ts";
import { expireIfDue } from "./end.ts";

/** What the browser's viewer speaks to the gateway for a session of this kind. */
function protocolFor(session: WorkspaceSession, apps: AppsAddressing | undefined): ConnectProtocol | null {
  if (session.workspaceKind === "web") return apps === undefined ? null : "http";
  return "rfb";
}

/**
 * Stores the hash of a fresh single-use ticket (≤ 60 s) for one gateway connection of the caller
 * to `session`; `watch` makes it a view-only connection (an admin watching). The ticket itself is
 * answered to the caller only.
 */
export async function issueTicket(
  ctx: AuthedContext,
  session: WorkspaceSession,
  now: Date,
  options: { watch: boolean },
): Promise<{ ticket: string; expiresAt: Date }> {
  const { user, loginSession } = ctx.identity;
  const ticket = randomBytes(32).toString("base64url");
  const expiresAt = new Date(now.getTime() + TICKET_TTL_SECONDS * 1000);
  await ctx.db.connectTickets.issue(ticket, {
    sessionId: session.id,
    userId: user.id,
    loginSessionId: loginSession?.id ?? null,
    subject: user.externalId,
    issuedAt: now,
    expiresAt,
    ...(options.watch ? { watch: true } : {}),
  });
  return { ticket, expiresAt };
}

/**
 * A single-use ticket (≤ 60 s) for one gateway connection to the caller's own active session.
 * Re-checks what launch checked that can change while a session runs: the owner, the session's
 * state and deadlines, the ip-allowlist and access hours. Every refusal and every ticket is
 * audited; the ticket itself is never stored or logged, only its hash.
 */
export async function connectSession(
  ctx: AuthedContext,
  input: { sessionId: string },
): Promise<ConnectSessionOutput> {
  const { user } = ctx.identity;
  const now = ctx.clock();
  const deny = (error: DomainError) =>
    refuse(ctx, { action: "session.connect", resource: { type: "session", id: input.sessionId } }, error);

  const missing = new DomainError("NOT_FOUND", "not_found", "No such session", {
    details: { sessionId: input.sessionId },
  });
  const session = await ctx.db.sessions.findById(input.sessionId);
  if (session === null) return deny(missing);
  if (session.userId !== user.id) {
    // Admins see every session; anyone else is answered as if this one did not exist.
    return refuse(
      ctx,
      { action: "session.connect", resource: { type: "session", id: input.sessionId } },
      new DomainError("FORBIDDEN", "not_owner", "Only the person who launched a session can open it"),
      isAdmin(user) ? undefined : missing,
    );
  }
  const ended = new DomainError("CONFLICT", "session_not_active", "This session has already ended", {
    details: { sessionId: session.id, endReason: session.endReason },
  });
  if (session.status !== "active") return deny(ended);
  if ((await expireIfDue(ctx, session, now)) !== null) return deny(ended);

  const policies = await loadPolicies(ctx.db);
  const refusal =
    checkIpAllowlist(policies["ip-allowlist"], ctx.request.clientIp) ??
    checkAccessHours(policies["access-hours"], now);
  if (refusal !== null) return deny(refusal);

  const protocol = protocolFor(session, ctx.config.apps);
  if (protocol === null) {
    return deny(
      new DomainError("CONFLICT", "not_connectable", "Web apps are not served by this installation", {
        details: { sessionId: session.id, kind: session.workspaceKind },
      }),
    );
  }

  const { ticket, expiresAt } = await issueTicket(ctx, session, now, { watch: false });
  await audit(ctx, {
    action: "session.connect",
    resource: { type: "session", id: session.id },
    details: { protocol, expiresAt: expiresAt.toISOString() },
  });
  // A web app's ticket is posted to its session origin's entry; the others open a gateway WebSocket.
  const url =
    protocol === "http" && ctx.config.apps !== undefined
      ? `${appBaseUrl(ctx.config.apps, session.id)}${APP_ENTRY_PATH}`
      : (ctx.config.gateway?.url ?? GATEWAY_PATH);
  return { ticket, url, protocol, expiresAt };
}
