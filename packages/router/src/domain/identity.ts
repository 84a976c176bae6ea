import type { AuthConfig, Me } from "@neosc/core/auth";
import type { AuthedContext, InnerContext } from "../context.ts";

/** Public facts for the sign-in page. */
export async function authConfig(ctx: InnerContext): Promise<AuthConfig> {
  const { db, services } = ctx;
  const [localLogin, selfRegistration] = await Promise.all([
    db.policies.get("local-login"),
    db.policies.get("self-registration"),
  ]);
  return {
    localLogin: localLogin.enabled,
    selfRegistration: selfRegistration.enabled,
    pomerium: services.pomerium !== null,
    sso: services.oidc?.publicSettings ?? null,
  };
}

/** The caller as the portal shows them. */
export async function me(ctx: AuthedContext): Promise<Me> {
  const { user, loginSession, method, mfa } = ctx.identity;
  const organization =
    user.organizationId === null ? null : await ctx.db.organizations.findById(user.organizationId);
  return { user, organization, method, mfa, sessionExpiresAt: loginSession?.expiresAt ?? null };
}
