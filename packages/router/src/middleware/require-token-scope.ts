import { tokenMayCall } from "@neosc/core/api-token";
import { DomainError, isDomainError } from "@neosc/core/errors";
import type { ProcedurePath } from "@neosc/core/permissions";
import type { ApiTokenGrant, AuthedContext } from "../context.ts";
import { audit } from "../domain/audit/record.ts";

interface Call {
  path: ProcedurePath;
  type: "query" | "mutation" | "subscription";
}

function inScope(token: ApiTokenGrant, call: Call): boolean {
  if (!tokenMayCall(call.path)) return false;
  if (token.scope.kind === "read") return call.type === "query";
  return token.scope.procedures.includes(call.path);
}

/**
 * The API-token gate, around the role gate and the procedure: FORBIDDEN `token_scope` for a
 * procedure the token's scope does not cover (or that no token may call). Every call made with a
 * token — allowed, refused or failed — leaves one `api_token.use` audit entry naming the token.
 */
export async function withApiTokenScope<T extends { ok: boolean; error?: unknown }>(
  ctx: AuthedContext,
  token: ApiTokenGrant,
  call: Call,
  run: () => Promise<T>,
): Promise<T> {
  const record = (result: "success" | "denied" | "error", reason: string | null) =>
    audit(ctx, {
      action: "api_token.use",
      resource: { type: "api_token", id: token.id },
      result,
      reason,
      details: { token: token.name, procedure: call.path },
    });
  if (!inScope(token, call)) {
    await record("denied", "token_scope");
    throw new DomainError("FORBIDDEN", "token_scope", `This token's scope does not include ${call.path}`, {
      details: { procedure: call.path, scope: token.scope.kind },
    });
  }
  let outcome: T;
  try {
    outcome = await run();
  } catch (error) {
    await record(outcomeOf(error), isDomainError(error) ? error.reason : null);
    throw error;
  }
  if (outcome.ok) await record("success", null);
  else await record(outcomeOf(causeOf(outcome.error)), reasonOf(causeOf(outcome.error)));
  return outcome;
}

function causeOf(error: unknown): unknown {
  return error instanceof Error && error.cause !== undefined && !isDomainError(error) ? error.cause : error;
}

function outcomeOf(error: unknown): "denied" | "error" {
  return isDomainError(error) && (error.code === "FORBIDDEN" || error.code === "UNAUTHORIZED")
    ? "denied"
    : "error";
}

function reasonOf(error: unknown): string | null {
  return isDomainError(error) ? error.reason : null;
}
