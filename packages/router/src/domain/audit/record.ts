import {
  type AuditActor,
  type AuditEvent,
  type AuditResult,
  actorFor,
  anonymousActor,
} from "@neosc/core/audit";
import type { DomainError } from "@neosc/core/errors";
import type { InnerContext } from "../../context.ts";

export interface AuditInput {
  /** The procedure name (`workspace.launch`) or a system action (`session.expire`). */
  action: string;
  resource?: { type: string; id: string | null };
  result?: AuditResult;
  reason?: string | null;
  details?: Record<string, unknown>;
  /** Defaults to the caller; set it when nobody is signed in yet (a failed login names the email). */
  actor?: AuditActor;
}

export type AuditContext = Pick<InnerContext, "db" | "identity" | "request">;

/** The caller of a procedure as its audit entries name them. */
export function actorOf(ctx: Pick<InnerContext, "identity">): AuditActor {
  return ctx.identity === null ? anonymousActor() : actorFor(ctx.identity.user);
}

/** Appends one audit entry, filling actor, client IP and user agent from the request context. */
export async function audit(ctx: AuditContext, input: AuditInput): Promise<void> {
  const event: AuditEvent = {
    actor: input.actor ?? actorOf(ctx),
    action: input.action,
    resource: input.resource ?? { type: "none", id: null },
    clientIp: ctx.request.clientIp,
    userAgent: ctx.request.userAgent,
    result: input.result ?? "success",
    reason: input.reason ?? null,
    details: input.details ?? {},
  };
  await ctx.db.audit.append(event);
}

/**
 * Audits a refusal as denied, with the error's reason and details, and throws the error — or
 * `answer` instead, when the caller must not learn the real reason (a thing they may not see
 * answers as missing).
 */
export async function refuse(
  ctx: AuditContext,
  entry: Pick<AuditInput, "action" | "resource" | "actor">,
  error: DomainError,
  answer: DomainError = error,
): Promise<never> {
  await audit(ctx, { ...entry, result: "denied", reason: error.reason, details: error.details ?? {} });
  throw answer;
}
