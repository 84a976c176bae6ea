import type { AuditSigningKey } from "@neosc/auth/audit-signing";
import type { ClaimMappingOptions, ZitadelClient, ZitadelIdentity } from "@neosc/auth/oidc";
import { claimsToIdentity } from "@neosc/auth/oidc";
import {
  generateOneTimePassword,
  generateRecoveryCode,
  hashPassword,
  verifyPasswordOrDummy,
} from "@neosc/auth/password";
import { createPomeriumVerifier, type PomeriumVerifierOptions } from "@neosc/auth/pomerium";
import { issueSessionToken, verifySessionToken } from "@neosc/auth/session-token";
import { createTotpSecret, verifyTotp } from "@neosc/auth/totp";
import { DomainError } from "@neosc/core/errors";
import type {
  ExternalIdentity,
  OidcService,
  PasswordHasher,
  PomeriumVerifier,
  Services,
  SessionTokens,
  TotpService,
} from "@neosc/router/context";

/*
 * Wires the ports of `context.ts` to @neosc/auth. The HTTP host and the tests both build their
 * services here, so what is tested is what runs.
 */

export const passwordHasher: PasswordHasher = {
  hash: hashPassword,
  verify: verifyPasswordOrDummy,
  generateOneTimePassword,
  generateRecoveryCode,
};

export const totpService: TotpService = {
  create: createTotpSecret,
  verify: (secret, code, at) => verifyTotp(secret, code, at)?.step ?? null,
};

export function sessionTokensFor(options: { secret: string | Uint8Array }): SessionTokens {
  return {
    async issue({ sessionId, userId, issuedAt, expiresAt }) {
      const issued = await issueSessionToken(
        { secret: options.secret },
        { sessionId, userId, now: issuedAt, expiresAt },
      );
      return issued.token;
    },
    async verify(token, now) {
      const { sessionId, userId } = await verifySessionToken({ secret: options.secret }, token, { now });
      return { sessionId, userId };
    },
  };
}

function toExternal(
  identity: ZitadelIdentity,
  email: string | null,
  emailVerified: boolean | undefined,
): ExternalIdentity {
  if (email === null) {
    throw new DomainError("UNAUTHORIZED", "sso_failed", "The identity provider sent no email address");
  }
  return {
    subject: identity.subject,
    email,
    ...(emailVerified === undefined ? {} : { emailVerified }),
    name: identity.name,
    roles: identity.rolesAsserted ? identity.roles : null,
    mfa: identity.mfa,
    organization: identity.organization,
  };
}

export function oidcServiceFor(client: ZitadelClient): OidcService {
  return {
    publicSettings: client.publicConfig(),
    async verifyIdToken(idToken, { nonce }) {
      const verified = await client.verifyIdToken(idToken, nonce === undefined ? {} : { nonce });
      return {
        identity: toExternal(verified.identity, verified.identity.email, verified.identity.emailVerified),
        useKey: verified.useKey,
        issuedAt: verified.issuedAt,
      };
    },
    async exchangeCode({ code, codeVerifier, redirectUri, nonce }) {
      const result = await client.exchangeCode({
        code,
        codeVerifier,
        redirectUri,
        ...(nonce === undefined ? {} : { nonce }),
      });
      return toExternal(result.identity, result.identity.email, result.identity.emailVerified);
    },
  };
}

/**
 * Pomerium assertions: roles come from the same claims as for Zitadel (the roles object, or a
 * flat claim Pomerium forwards through `jwt_claims_headers`); without them the stored role stays.
 */
export function pomeriumVerifierFor(
  options: PomeriumVerifierOptions & { claimMapping?: ClaimMappingOptions },
): PomeriumVerifier {
  const verifier = createPomeriumVerifier(options);
  return {
    async verify(assertion, now) {
      const verified = await verifier.verify(assertion, { now });
      const mapped = claimsToIdentity({ ...verified.claims, sub: verified.subject }, options.claimMapping);
      // Pomerium's assertion carries `email_verified` only when `jwt_claims_headers` adds it.
      const emailVerified =
        typeof verified.claims.email_verified === "boolean" ? verified.claims.email_verified : undefined;
      return toExternal(mapped, verified.email, emailVerified);
    },
  };
}

export interface AuthServicesOptions {
  sessionSecret: string | Uint8Array;
  /** Signs audit checkpoints (NEOSC_AUDIT_SIGNING_KEY or the data folder's key file). */
  auditSigningKey: AuditSigningKey;
  pomerium: PomeriumVerifier | null;
  oidc: OidcService | null;
}

/** The identity services; the host adds the workspace hosts and the per-request parts. */
export type AuthServices = Omit<Services, "events" | "responseCookies" | "workspaceHosts" | "recordings">;

export function createAuthServices(options: AuthServicesOptions): AuthServices {
  return {
    auditSigner: options.auditSigningKey,
    passwords: passwordHasher,
    sessionTokens: sessionTokensFor({ secret: options.sessionSecret }),
    totp: totpService,
    pomerium: options.pomerium,
    oidc: options.oidc,
  };
}
