import { actorFor, anonymousActor } from "@neosc/core/audit";
import type { LoginOutput } from "@neosc/core/auth";
import { DomainError, isDomainError } from "@neosc/core/errors";
import type { User } from "@neosc/core/user";
import type { ExternalIdentity, InnerContext, OidcService } from "../../context.ts";
import { audit, refuse } from "../audit/record.ts";
import { assertLoginAllowedFrom, openLoginSession, upsertExternalUser } from "./identity.ts";

/*
 * Zitadel sign-in: the SPA's ID token (auth.sso) or a backend code exchange with the PKCE
 * verifier (auth.tokenExchange). Both end in a just-in-time user and an app login session whose
 * MFA flag comes from the IdP's `amr`.
 */

type SsoAction = "auth.sso" | "auth.tokenExchange";

function oidcOf(ctx: InnerContext): OidcService {
  if (ctx.services.oidc === null) {
    throw new DomainError("BAD_REQUEST", "sso_not_configured", "Single sign-on is not configured");
  }
  return ctx.services.oidc;
}

async function verified(
  ctx: InnerContext,
  action: SsoAction,
  obtain: () => Promise<ExternalIdentity>,
  /** The email a refused but genuine token named, for the audit entry. */
  claimedEmail: () => string | null = () => null,
): Promise<ExternalIdentity> {
  try {
    return await obtain();
  } catch (error) {
    await audit(ctx, {
      action,
      actor: anonymousActor(claimedEmail()),
      resource: { type: "user", id: null },
      result: isDomainError(error) && error.code === "UNAVAILABLE" ? "error" : "denied",
      reason: isDomainError(error) ? error.reason : "sso_failed",
    });
    if (isDomainError(error)) throw error;
    throw new DomainError("UNAUTHORIZED", "sso_failed", "The identity provider's answer was not accepted", {
      cause: error,
    });
  }
}

async function signInExternal(
  ctx: InnerContext,
  action: SsoAction,
  external: ExternalIdentity,
): Promise<LoginOutput> {
  await assertLoginAllowedFrom(ctx, action, external.email);
  let user: User;
  try {
    user = await upsertExternalUser(ctx, external, "sso", action);
  } catch (error) {
    if (isDomainError(error) && error.code === "UNAUTHORIZED") {
      return refuse(
        ctx,
        { action, actor: anonymousActor(external.email), resource: { type: "user", id: null } },
        error,
      );
    }
    throw error;
  }
  if (user.disabled) {
    await audit(ctx, {
      action,
      actor: anonymousActor(user.email),
      resource: { type: "user", id: user.id },
      result: "denied",
      reason: "account_disabled",
    });
    throw new DomainError("FORBIDDEN", "account_disabled", "This account is disabled");
  }
  const { output, sessionId } = await openLoginSession(ctx, user, { method: "sso", mfa: external.mfa });
  await audit(ctx, {
    action,
    actor: actorFor(user),
    resource: { type: "login_session", id: sessionId },
    details: { method: "sso", mfa: external.mfa, roleFromIdp: external.roles !== null },
  });
  return output;
}

/** How long after `iat` an ID token is accepted unless the config says otherwise. */
export const DEFAULT_ID_TOKEN_MAX_AGE_SECONDS = 300;
/** Clock skew between the IdP and us that a use record outlives the maximum age by. */
const USE_RECORD_SLACK_MS = 60_000;

/**
 * Verifies a Zitadel ID token obtained by the SPA and signs the person in. A token is accepted
 * once (a use record in the database, so on any replica) and only while younger than the
 * maximum age: a token that leaked (logs, browser history, a proxy) cannot sign anyone in again.
 */
export async function ssoLogin(ctx: InnerContext, input: { idToken: string; nonce?: string | undefined }) {
  const oidc = oidcOf(ctx);
  let email: string | null = null;
  const external = await verified(
    ctx,
    "auth.sso",
    async () => {
      const token = await oidc.verifyIdToken(input.idToken, { nonce: input.nonce });
      email = token.identity.email;
      const now = ctx.clock();
      const maxAgeSeconds = ctx.config.idTokenMaxAgeSeconds ?? DEFAULT_ID_TOKEN_MAX_AGE_SECONDS;
      if (now.getTime() - token.issuedAt.getTime() > maxAgeSeconds * 1000) {
        throw new DomainError("UNAUTHORIZED", "token_too_old", "This sign-in is too old; sign in again", {
          details: { maxAgeSeconds },
        });
      }
      const keepUntil = new Date(token.issuedAt.getTime() + maxAgeSeconds * 1000 + USE_RECORD_SLACK_MS);
      if (!(await ctx.db.idTokenUses.claim(token.useKey, now, keepUntil))) {
        throw new DomainError(
          "UNAUTHORIZED",
          "token_replayed",
          "This sign-in was already used; sign in again",
        );
      }
      return token.identity;
    },
    () => email,
  );
  return signInExternal(ctx, "auth.sso", external);
}

/** Exchanges an authorization code (with its PKCE verifier) at Zitadel and signs the person in. */
export async function tokenExchange(
  ctx: InnerContext,
  input: { code: string; codeVerifier: string; redirectUri: string; nonce?: string | undefined },
) {
  const oidc = oidcOf(ctx);
  const external = await verified(ctx, "auth.tokenExchange", () => oidc.exchangeCode(input));
  return signInExternal(ctx, "auth.tokenExchange", external);
}
