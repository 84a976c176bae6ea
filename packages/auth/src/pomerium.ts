import { DomainError } from "@neosc/core/errors";
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import { describeJwtError } from "./jwt-errors.ts";
import { type ClaimedRoles, rolesFromClaims } from "./role-claims.ts";

/** The only header NeoSC takes identity from behind Pomerium; `X-Pomerium-Claim-*` are unsigned. */
export const POMERIUM_ASSERTION_HEADER = "x-pomerium-jwt-assertion";
export const POMERIUM_JWKS_PATH = "/.well-known/pomerium/jwks.json";
/** Pomerium signs with ES256 by default and RS256 with an RSA signing key. */
export const POMERIUM_ALGORITHMS = ["ES256", "RS256"] as const;
export const MAX_POMERIUM_CLOCK_TOLERANCE_SECONDS = 30;

export interface PomeriumVerifierOptions {
  /** Pomerium's key set, e.g. `https://api.portal.example.com/.well-known/pomerium/jwks.json`. */
  jwksUrl: string | URL;
  /** Accepted `aud` values: the route hosts the API is served on (e.g. `api.portal.example.com`). */
  audiences: readonly string[];
  /**
   * Accepted `iss` values; Pomerium sets iss = the route host, so the default (unset or empty,
   * as an unset comma-list variable parses) is `audiences`.
   */
  issuers?: readonly string[];
  /** Allowed clock skew for exp/iat/nbf, 0..30 s (default 30). */
  clockToleranceSeconds?: number;
  /**
   * After a successful key-set fetch, an unknown `kid` may trigger another fetch only after this
   * long (default 30 s): rotation is picked up, forged kids cannot hammer Pomerium.
   */
  jwksCooldownMs?: number;
  /** Keys are refetched at most this often even when all kids are known (default 10 min). */
  jwksMaxAgeMs?: number;
  /** Timeout of one key-set fetch (default 5 s). */
  jwksTimeoutMs?: number;
  /**
   * The flat role claim (default `neosc_roles`), present when Pomerium's `jwt_claims_headers`
   * names it (comma-joined). Zitadel role objects in the assertion are read too.
   */
  roleClaim?: string;
}

export interface PomeriumIdentity extends ClaimedRoles {
  /** IdP subject (`sub`, falling back to `user`). */
  subject: string;
  /** Lower-cased email. */
  email: string;
  name: string | null;
  groups: string[];
  /** Pomerium session id (`sid`), when present. */
  sessionId: string | null;
  /** Every verified claim, including any `jwt_claims_headers` additions (e.g. `neosc_roles`). */
  claims: JWTPayload;
}

export interface PomeriumVerifier {
  /** Verifies an `X-Pomerium-Jwt-Assertion`; throws `DomainError("UNAUTHORIZED", "invalid_assertion")`. */
  verify(assertion: string, options?: { now?: Date }): Promise<PomeriumIdentity>;
}

function reject(why: string, cause?: unknown): DomainError {
  return new DomainError("UNAUTHORIZED", "invalid_assertion", `Pomerium assertion rejected: ${why}`, {
    cause,
  });
}

function stringClaim(payload: JWTPayload, name: string): string | null {
  const value = payload[name];
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

function groupsOf(payload: JWTPayload): string[] {
  const value = payload.groups;
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === "string");
  if (typeof value === "string" && value !== "") return value.split(",").map((group) => group.trim());
  return [];
}

/** Builds a verifier that trusts only assertions signed by Pomerium's current keys for our hosts. */
export function createPomeriumVerifier(options: PomeriumVerifierOptions): PomeriumVerifier {
  const audiences = [...options.audiences];
  const issuers = [...(options.issuers?.length ? options.issuers : options.audiences)];
  if (audiences.length === 0) throw new RangeError("at least one Pomerium audience (host) is required");
  if (issuers.length === 0) throw new RangeError("at least one Pomerium issuer (host) is required");
  const tolerance = options.clockToleranceSeconds ?? MAX_POMERIUM_CLOCK_TOLERANCE_SECONDS;
  if (!(tolerance >= 0 && tolerance <= MAX_POMERIUM_CLOCK_TOLERANCE_SECONDS)) {
    throw new RangeError(`clockToleranceSeconds must be 0..${MAX_POMERIUM_CLOCK_TOLERANCE_SECONDS}`);
  }
  const keys = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: options.jwksCooldownMs ?? 30_000,
    cacheMaxAge: options.jwksMaxAgeMs ?? 600_000,
    timeoutDuration: options.jwksTimeoutMs ?? 5_000,
  });

  return {
    async verify(assertion, verifyOptions = {}) {
      if (assertion.length === 0 || assertion.length > 16_384) throw reject("empty or oversized assertion");
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(assertion, keys, {
          algorithms: [...POMERIUM_ALGORITHMS],
          audience: audiences,
          issuer: issuers,
          clockTolerance: tolerance,
          requiredClaims: ["exp", "iss", "aud"],
          currentDate: verifyOptions.now,
        }));
      } catch (error) {
        throw reject(describeJwtError(error), error);
      }
      const subject = stringClaim(payload, "sub") ?? stringClaim(payload, "user");
      if (subject === null) throw reject("no subject (sub/user) claim");
      const email = stringClaim(payload, "email");
      if (email === null) throw reject("no email claim");
      return {
        subject,
        email: email.toLowerCase(),
        name: stringClaim(payload, "name"),
        groups: groupsOf(payload),
        sessionId: stringClaim(payload, "sid"),
        ...rolesFromClaims(payload, { roleClaim: options.roleClaim }),
        claims: payload,
      };
    },
  };
}
