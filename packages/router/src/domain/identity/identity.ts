import { isApiToken } from "@neosc/auth/api-token";
import { actorFor, anonymousActor } from "@neosc/core/audit";
import type { AuthConfig, LoginOutput, Me } from "@neosc/core/auth";
import { DomainError, isDomainError } from "@neosc/core/errors";
import { highestRole } from "@neosc/core/roles";
import type { AuthMethod, User } from "@neosc/core/user";
import type { Database } from "@neosc/db/database";
import type {
  AuthedContext,
  ExternalIdentity,
  Identity,
  InnerContext,
  RequestInfo,
  ResponseCookies,
  Services,
} from "../../context.ts";
import { type AuditContext, audit } from "../audit/record.ts";
import { checkIpAllowlist } from "../policies/checks.ts";
import { resolveApiToken } from "../tokens/resolve.ts";

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
  const [organization, record] = await Promise.all([
    user.organizationId === null ? null : ctx.db.organizations.findById(user.organizationId),
    user.totpEnabled ? ctx.db.users.findAuthRecordById(user.id) : null,
  ]);
  return {
    user,
    organization,
    method,
    mfa,
    sessionExpiresAt: loginSession?.expiresAt ?? null,
    recoveryCodesLeft: record?.recoveryCodes.length ?? 0,
  };
}

/** ip-allowlist applies to every kind of sign-in, not only to launches. */
export async function assertLoginAllowedFrom(ctx: InnerContext, action: string, email: string | null) {
  const refusal = checkIpAllowlist(await ctx.db.policies.get("ip-allowlist"), ctx.request.clientIp);
  if (refusal === null) return;
  await audit(ctx, {
    action,
    actor: anonymousActor(email),
    resource: { type: "user", id: null },
    result: "denied",
    reason: "ip_not_allowed",
  });
  throw refusal;
}

/**
 * Opens an app login session: an `auth_sessions` document plus a signed token whose `jti` is the
 * document id. The HTTP host also receives the token as the `neosc_session` cookie.
 */
export async function openLoginSession(
  ctx: InnerContext,
  user: User,
  login: { method: AuthMethod; mfa: boolean },
): Promise<{ output: LoginOutput; sessionId: string }> {
  const { db, services, config, request } = ctx;
  const now = ctx.clock();
  const expiresAt = new Date(now.getTime() + config.session.ttlSeconds * 1000);
  const session = await db.loginSessions.create({
    userId: user.id,
    method: login.method,
    mfa: login.mfa,
    clientIp: request.clientIp,
    userAgent: request.userAgent,
    createdAt: now,
    expiresAt,
  });
  const token = await services.sessionTokens.issue({
    sessionId: session.id,
    userId: user.id,
    issuedAt: now,
    expiresAt,
  });
  await db.users.recordLogin(user.id, now);
  services.responseCookies.setSession(token, expiresAt);
  return { output: { token, expiresAt, user: { ...user, lastLoginAt: now } }, sessionId: session.id };
}

/**
 * The user behind an external identity (Zitadel or Pomerium), created on first sight. An
 * existing local account with the same email is linked once, unless the IdP says the email is
 * unverified. Roles sent by the IdP win on every login; without roles the stored role stays. The
 * organization comes from resourceowner claims.
 */
export async function upsertExternalUser(
  ctx: AuditContext,
  external: ExternalIdentity,
  source: "sso" | "pomerium",
  action: string,
): Promise<User> {
  const { db } = ctx;
  const email = external.email.trim().toLowerCase();
  const organization = await organizationFor(db, external.organization);
  const idpRole = external.roles === null ? null : (highestRole(external.roles) ?? "user");

  let user = await db.users.findByExternalId(external.subject);
  if (user === null) {
    const byEmail = await db.users.findByEmail(email);
    if (byEmail !== null && byEmail.externalId !== null && byEmail.externalId !== external.subject) {
      throw new DomainError("UNAUTHORIZED", "sso_failed", "This email belongs to another identity", {
        details: { email },
      });
    }
    // Linking hands the account over: only for an address the IdP has verified.
    if (byEmail !== null && external.emailVerified === false) {
      throw new DomainError(
        "UNAUTHORIZED",
        "sso_failed",
        "The identity provider has not verified this email address, so it cannot take over the existing account",
        { details: { email } },
      );
    }
    user = byEmail;
  }
  if (user === null) {
    const created = await db.users.create({
      source,
      email,
      name: external.name ?? email,
      role: idpRole ?? "user",
      organizationId: organization?.id ?? null,
      externalId: external.subject,
    });
    await audit(ctx, {
      action,
      actor: actorFor(created),
      resource: { type: "user", id: created.id },
      reason: "just_in_time",
      details: { source, role: created.role, organizationId: created.organizationId },
    });
    return created;
  }

  const patch: Parameters<Database["users"]["update"]>[1] = {};
  if (user.externalId !== external.subject) patch.externalId = external.subject;
  if (idpRole !== null && idpRole !== user.role) patch.role = idpRole;
  if (organization !== null && organization.id !== user.organizationId)
    patch.organizationId = organization.id;
  if (user.email !== email) patch.email = email;
  if (Object.keys(patch).length === 0) return user;
  const updated = await db.users.update(user.id, patch);
  if (updated === null)
    throw new DomainError("UNAUTHORIZED", "invalid_token", "The account no longer exists");
  if (patch.role !== undefined) {
    await audit(ctx, {
      action,
      actor: actorFor(updated),
      resource: { type: "user", id: updated.id },
      reason: "role_from_idp",
      details: { from: user.role, to: updated.role },
    });
  }
  return updated;
}

/**
 * The organization named by resourceowner claims, created on first sight. Looked up first so a
 * request authenticated by a Pomerium assertion does not write when nothing changed.
 */
async function organizationFor(db: Database, claimed: ExternalIdentity["organization"]) {
  if (claimed === null) return null;
  const name = claimed.name ?? claimed.domain ?? claimed.externalId;
  const existing = await db.organizations.findByExternalId(claimed.externalId);
  if (existing !== null && existing.name === name && existing.domain === claimed.domain) return existing;
  return db.organizations.upsertByExternalId({
    externalId: claimed.externalId,
    name,
    domain: claimed.domain,
  });
}

/** Credentials the host found on a request, in the order they are tried. */
export interface PresentedCredentials {
  pomeriumAssertion?: string | undefined;
  bearerToken?: string | undefined;
  sessionCookie?: string | undefined;
}

export interface ResolvedIdentity {
  identity: Identity | null;
  /** Why a presented credential was refused (null when none was presented or it was valid). */
  credentialError: DomainError | null;
}

export interface ResolveIdentityDeps {
  db: Database;
  clock: () => Date;
  request: RequestInfo;
  services: Pick<Services, "pomerium" | "sessionTokens"> & { responseCookies: ResponseCookies };
}

/**
 * Resolves the caller once per request: a verified Pomerium assertion (only with Pomerium
 * trust configured), else a bearer token, else the session cookie. A credential that fails is not
 * silently skipped: the request becomes anonymous with the reason recorded, and a stale cookie is
 * cleared. Plain identity headers are never consulted.
 */
export async function resolveIdentity(
  deps: ResolveIdentityDeps,
  credentials: PresentedCredentials,
): Promise<ResolvedIdentity> {
  const { pomerium } = deps.services;
  if (pomerium !== null && credentials.pomeriumAssertion) {
    return resolvePomerium(deps, pomerium, credentials.pomeriumAssertion);
  }
  if (credentials.bearerToken) {
    // API tokens only as a bearer value: never as the portal's session cookie.
    if (isApiToken(credentials.bearerToken)) return resolveApiToken(deps, credentials.bearerToken);
    return resolveSessionToken(deps, credentials.bearerToken);
  }
  if (credentials.sessionCookie) {
    const resolved = await resolveSessionToken(deps, credentials.sessionCookie);
    if (resolved.identity === null) deps.services.responseCookies.clearSession();
    return resolved;
  }
  return { identity: null, credentialError: null };
}

async function resolvePomerium(
  deps: ResolveIdentityDeps,
  pomerium: NonNullable<Services["pomerium"]>,
  assertion: string,
): Promise<ResolvedIdentity> {
  let external: ExternalIdentity;
  try {
    external = await pomerium.verify(assertion, deps.clock());
  } catch (error) {
    return refusedBy(error, "invalid_assertion", "The identity assertion is not valid");
  }
  let user: User;
  try {
    user = await upsertExternalUser({ ...deps, identity: null }, external, "pomerium", "auth.pomerium");
  } catch (error) {
    if (isDomainError(error) && error.code === "UNAUTHORIZED")
      return { identity: null, credentialError: error };
    throw error;
  }
  if (user.disabled) return refused("account_disabled", "This account is disabled");
  return {
    identity: { user, loginSession: null, method: "pomerium", mfa: external.mfa },
    credentialError: null,
  };
}

async function resolveSessionToken(deps: ResolveIdentityDeps, token: string): Promise<ResolvedIdentity> {
  let claims: { sessionId: string; userId: string };
  try {
    claims = await deps.services.sessionTokens.verify(token, deps.clock());
  } catch (error) {
    return refusedBy(error, "invalid_token", "The session token is not valid");
  }
  // Both by `_id` and at once (the signed token names both): one round trip of waiting, not two.
  const [session, user] = await Promise.all([
    deps.db.loginSessions.findById(claims.sessionId),
    deps.db.users.findById(claims.userId),
  ]);
  if (session === null || session.userId !== claims.userId) {
    return refused("invalid_token", "The session token is not valid");
  }
  if (session.revokedAt !== null) return refused("session_revoked", "This session has been signed out");
  if (session.expiresAt.getTime() <= deps.clock().getTime()) {
    return refused("session_expired", "This session has expired");
  }
  if (user === null) return refused("invalid_token", "The session token is not valid");
  if (user.disabled) return refused("account_disabled", "This account is disabled");
  return {
    identity: { user, loginSession: session, method: session.method, mfa: session.mfa },
    credentialError: null,
  };
}

/** Keeps the verifier's own UNAUTHORIZED reason (e.g. `session_expired`) when it gave one. */
function refusedBy(
  error: unknown,
  fallback: "invalid_token" | "invalid_assertion",
  message: string,
): ResolvedIdentity {
  if (isDomainError(error) && error.code === "UNAUTHORIZED")
    return { identity: null, credentialError: error };
  return refused(fallback, message, error);
}

function refused(
  reason: "invalid_token" | "invalid_assertion" | "session_revoked" | "session_expired" | "account_disabled",
  message: string,
  cause?: unknown,
): ResolvedIdentity {
  return { identity: null, credentialError: new DomainError("UNAUTHORIZED", reason, message, { cause }) };
}
