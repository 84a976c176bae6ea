import { type ConnectSessionOutput, GATEWAY_PATH } from "@neosc/core/connection";
import { DomainError } from "@neosc/core/errors";
import type { AuthedContext } from "../../context.ts";
import { audit, refuse } from "../audit/record.ts";
import { issueTicket } from "./connect.ts";

/**
 * An admin watches someone's running desktop or local shell: a single-use ticket (≤ 60 s) for one
 * view-only gateway connection. The gateway that redeems it (any replica) opens a connection of
 * its own to the session's workspace — a shared VNC client, or another viewer of the shell host,
 * which replays the shell's recent output first — and drops every input message the watcher
 * sends; the watch ends with the session. An ssh terminal cannot be watched: each connection to
 * it is a login of its own, not the person's shell. Who watched whom, and when, is in the audit log
 * (`session.watch` here, the gateway's connect/disconnect entries with `watch: true`). Only
 * admins reach this (the role gate audits everyone else's attempt).
 */
export async function watchSession(
  ctx: AuthedContext,
  input: { sessionId: string },
): Promise<ConnectSessionOutput> {
  const now = ctx.clock();
  const deny = (error: DomainError) =>
    refuse(ctx, { action: "session.watch", resource: { type: "session", id: input.sessionId } }, error);
  const session = await ctx.db.sessions.findById(input.sessionId);
  if (session === null) {
    return deny(
      new DomainError("NOT_FOUND", "not_found", "No such session", {
        details: { sessionId: input.sessionId },
      }),
    );
  }
  if (session.status !== "active") {
    return deny(
      new DomainError("CONFLICT", "session_not_active", "This session has already ended", {
        details: { sessionId: session.id, endReason: session.endReason },
      }),
    );
  }
  if (session.workspaceKind === "web") {
    return deny(
      new DomainError("CONFLICT", "not_connectable", "Only desktops and terminals can be watched", {
        details: { sessionId: session.id, kind: session.workspaceKind },
      }),
    );
  }
  if (session.workspaceKind === "terminal") {
    const workspace = await ctx.db.workspaces.findById(session.workspaceId);
    if (workspace?.driver === "ssh") {
      return deny(
        new DomainError(
          "CONFLICT",
          "not_connectable",
          "An ssh terminal cannot be watched: each connection is a login of its own",
          { details: { sessionId: session.id, kind: session.workspaceKind } },
        ),
      );
    }
  }
  const { ticket, expiresAt } = await issueTicket(ctx, session, now, { watch: true });
  await audit(ctx, {
    action: "session.watch",
    resource: { type: "session", id: session.id },
    details: { watched: session.userId, watchedEmail: session.userEmail, expiresAt: expiresAt.toISOString() },
  });
  // What session.connect answers for the same session (the viewer is chosen by the session's kind).
  return { ticket, url: ctx.config.gateway?.url ?? GATEWAY_PATH, protocol: "rfb", expiresAt };
}
