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
): Promise<ExternalIdentity> {
  try {
    return await obtain();
  } catch (error) {
    await audit(ctx, {
      action,
      actor: anonymousActor(null),
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

/** Verifies a Zitadel ID token obtained by the SPA and signs the person in. */
export async function ssoLogin(ctx: InnerContext, input: { idToken: string; nonce?: string | undefined }) {
  const oidc = oidcOf(ctx);
  const external = await verified(ctx, "auth.sso", () =>
    oidc.verifyIdToken(input.idToken, { nonce: input.nonce }),
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
