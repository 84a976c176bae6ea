import { DomainError } from "@neosc/core/errors";
import type { Identity, InnerContext } from "../context.ts";

/**
 * The identity of a signed-in caller. Anonymous callers get UNAUTHORIZED: with the reason of the
 * credential they presented (revoked, expired, forged) when there was one, else `not_authenticated`.
 */
export function requireIdentity(ctx: Pick<InnerContext, "identity" | "credentialError">): Identity {
  if (ctx.identity !== null) return ctx.identity;
  throw ctx.credentialError ?? new DomainError("UNAUTHORIZED", "not_authenticated", "Sign in first");
}
