import { apiTokenSecretMatches, parseApiToken } from "@neosc/auth/api-token";
import { DomainError, type Reason } from "@neosc/core/errors";
import type { Database } from "@neosc/db/database";
import type { Identity } from "../../context.ts";

/** `lastUsedAt` is written at most this often per token, so a busy script does not write per call. */
const TOUCH_EVERY_MS = 60_000;

export interface ResolvedApiToken {
  identity: Identity | null;
  credentialError: DomainError | null;
}

function refused(reason: Reason, message: string): ResolvedApiToken {
  return { identity: null, credentialError: new DomainError("UNAUTHORIZED", reason, message) };
}

/**
 * The caller behind an API token (`Authorization: Bearer neosc_<id>.<secret>`): found by `_id`,
 * the secret compared with its stored hash in constant time, refused when revoked, expired, or
 * its owner is gone or disabled. The identity has method `token`, no login session and no MFA.
 */
export async function resolveApiToken(
  deps: { db: Database; clock: () => Date },
  value: string,
): Promise<ResolvedApiToken> {
  const parsed = parseApiToken(value);
  if (parsed === null) return refused("invalid_token", "The API token is not valid");
  const found = await deps.db.apiTokens.findForAuthentication(parsed.id);
  if (found === null || !apiTokenSecretMatches(parsed.secret, found.secretHash)) {
    return refused("invalid_token", "The API token is not valid");
  }
  const { token } = found;
  const now = deps.clock();
  if (token.revokedAt !== null) return refused("token_revoked", "This API token has been revoked");
  if (token.expiresAt.getTime() <= now.getTime())
    return refused("token_expired", "This API token has expired");
  const user = await deps.db.users.findById(token.ownerId);
  if (user === null) return refused("invalid_token", "The API token is not valid");
  if (user.disabled) return refused("account_disabled", "This account is disabled");
  if (token.lastUsedAt === null || now.getTime() - token.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
    await deps.db.apiTokens.touch(token.id, now);
  }
  return {
    identity: {
      user,
      loginSession: null,
      method: "token",
      mfa: false,
      apiToken: { id: token.id, name: token.name, scope: token.scope },
    },
    credentialError: null,
  };
}
