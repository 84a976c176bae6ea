import { createHash } from "node:crypto";
import { DomainError } from "@neosc/core/errors";
import type { Role } from "@neosc/core/roles";
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import {
  allowInsecureRequests,
  authorizationCodeGrant,
  ClientError,
  ClientSecretBasic,
  type Configuration,
  discovery,
  fetchUserInfo,
  None,
  ResponseBodyError,
  tokenIntrospection,
  WWWAuthenticateChallengeError,
} from "openid-client";
import { describeJwtError } from "./jwt-errors.ts";
import { type RoleClaimOptions, rolesFromClaims } from "./role-claims.ts";

export const ZITADEL_ORG_ID_CLAIM = "urn:zitadel:iam:user:resourceowner:id";
export const ZITADEL_ORG_NAME_CLAIM = "urn:zitadel:iam:user:resourceowner:name";
export const ZITADEL_ORG_DOMAIN_CLAIM = "urn:zitadel:iam:user:resourceowner:primary_domain";
/** Scopes the SPA (and any code flow) requests; see `zitadelScopes` for the project audience. */
export const ZITADEL_BASE_SCOPES = [
  "openid",
  "profile",
  "email",
  "urn:zitadel:iam:org:projects:roles",
  "urn:zitadel:iam:user:resourceowner",
] as const;
/** ID tokens are signed asymmetrically (Zitadel: RS256); HMAC with the client secret is refused. */
export const ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] as const;

/**
 * The scopes to request. Without the project audience scope Zitadel returns no roles unless the
 * project asserts roles on authentication, so it is added whenever the project id is known.
 */
export function zitadelScopes(projectId?: string): string[] {
  const scopes: string[] = [...ZITADEL_BASE_SCOPES];
  if (projectId) scopes.push(`urn:zitadel:iam:org:project:id:${projectId}:aud`);
  return scopes;
}

export interface ZitadelPublicConfig {
  issuer: string;
  clientId: string;
  scopes: string[];
}

/** What the sign-in page needs to start a PKCE flow (the `sso` part of `AuthConfig`). */
export function zitadelPublicConfig(options: {
  issuer: string;
  clientId: string;
  projectId?: string;
}): ZitadelPublicConfig {
  return { issuer: options.issuer, clientId: options.clientId, scopes: zitadelScopes(options.projectId) };
}

/** Role-claim names for `claimsToIdentity` (the same options `rolesFromClaims` takes). */
export type ClaimMappingOptions = RoleClaimOptions;

export interface ZitadelOrganization {
  /** Zitadel organization id (resourceowner id). */
  externalId: string;
  name: string | null;
  domain: string | null;
}

export interface ZitadelIdentity {
  subject: string;
  /** Lower-cased; null when the IdP sent none. */
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  /** Known NeoSC roles granted by any of the role claims (unknown role names are ignored). */
  roles: Role[];
  /** The most privileged of `roles`; undefined when none was granted. */
  role: Role | undefined;
  /** True when at least one role claim was present, even if it granted no known role. */
  rolesAsserted: boolean;
  organization: ZitadelOrganization | null;
  /** `amr` contains `mfa`: the person used two or more factors. */
  mfa: boolean;
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

function displayName(claims: Record<string, unknown>): string | null {
  const name = nonEmptyString(claims.name);
  if (name) return name;
  const parts = [nonEmptyString(claims.given_name), nonEmptyString(claims.family_name)].filter(Boolean);
  if (parts.length > 0) return parts.join(" ");
  return nonEmptyString(claims.preferred_username);
}

/** Maps (verified) Zitadel claims onto a NeoSC identity. Pure: no I/O, no clock. */
export function claimsToIdentity(
  claims: Record<string, unknown>,
  options: RoleClaimOptions = {},
): ZitadelIdentity {
  const subject = nonEmptyString(claims.sub);
  if (subject === null) throw new DomainError("UNAUTHORIZED", "invalid_token", "ID token has no subject");

  const { roles, role, rolesAsserted } = rolesFromClaims(claims, options);
  const organizationId = nonEmptyString(claims[ZITADEL_ORG_ID_CLAIM]);
  const email = nonEmptyString(claims.email);
  const amr = Array.isArray(claims.amr) ? claims.amr : [];
  return {
    subject,
    email: email === null ? null : email.toLowerCase(),
    emailVerified: claims.email_verified === true,
    name: displayName(claims),
    roles,
    role,
    rolesAsserted,
    organization:
      organizationId === null
        ? null
        : {
            externalId: organizationId,
            name: nonEmptyString(claims[ZITADEL_ORG_NAME_CLAIM]),
            domain: nonEmptyString(claims[ZITADEL_ORG_DOMAIN_CLAIM]),
          },
    mfa: amr.includes("mfa"),
  };
}

export interface ZitadelClientConfig {
  /** Issuer URL exactly as in the discovery document, e.g. `https://manager.example.com`. */
  issuer: string;
  /** The backend's (confidential) application, e.g. `123456@neosc`. */
  clientId: string;
  /** Needed for `exchangeCode` and `introspect` (client_secret_basic). */
  clientSecret?: string;
  /** Client id of the portal SPA when it runs its own PKCE flow as a separate public app. */
  spaClientId?: string;
  roleClaim?: string;
  projectId?: string;
  /** Allow an `http:` issuer (tests and local stand-ins only). */
  allowHttp?: boolean;
  /** Clock skew accepted on ID token exp/iat (default 30 s). */
  clockToleranceSeconds?: number;
  /**
   * Read userinfo after a code exchange and merge it under the ID token claims (default true):
   * Zitadel puts roles in the ID token only with "user roles inside ID token" enabled.
   */
  fetchUserinfo?: boolean;
  /** HTTP timeout for discovery, token, userinfo and introspection requests (default 10 s). */
  timeoutSeconds?: number;
}

export interface VerifiedIdToken {
  identity: ZitadelIdentity;
  /** All verified claims (merged with userinfo after a code exchange). */
  claims: JWTPayload;
  /** Names this token and no other, for accepting it once (see `idTokenUseKey`). */
  useKey: string;
  /** Its `iat`. */
  issuedAt: Date;
}

/**
 * What names one ID token: issuer and `jti` when the IdP sets one; otherwise a hash of its
 * verified claims — never of the token text, whose signature can be re-encoded and still verify.
 */
export function idTokenUseKey(claims: JWTPayload): string {
  if (typeof claims.jti === "string" && claims.jti !== "") return `jti:${claims.iss}:${claims.jti}`;
  const sorted = Object.fromEntries(Object.entries(claims).sort(([a], [b]) => (a < b ? -1 : 1)));
  return `claims:${createHash("sha256").update(JSON.stringify(sorted)).digest("base64url")}`;
}

export interface CodeExchangeResult extends VerifiedIdToken {
  idToken: string;
  accessToken: string;
  refreshToken: string | null;
  /** Seconds until the access token expires, when the IdP said. */
  expiresIn: number | null;
}

export interface CodeExchangeInput {
  code: string;
  codeVerifier: string;
  /** The redirect URI used in the authorization request (registered, without query). */
  redirectUri: string;
  /** The nonce sent in the authorization request; without it the ID token must carry none. */
  nonce?: string;
}

export interface IntrospectionResult {
  active: boolean;
  subject: string | null;
  clientId: string | null;
  scopes: string[];
  expiresAt: Date | null;
  claims: Record<string, unknown>;
}

export interface ZitadelClient {
  readonly issuer: string;
  readonly clientId: string;
  /** Issuer, SPA client id and scopes for the sign-in page. */
  publicConfig(): ZitadelPublicConfig;
  /** Fetches discovery now (readiness checks); otherwise it happens on first use. */
  discover(): Promise<void>;
  /** Authorization code + PKCE → verified identity. Throws `DomainError` (`sso_failed`, `invalid_token`). */
  exchangeCode(input: CodeExchangeInput): Promise<CodeExchangeResult>;
  /** Verifies an ID token from the SPA's own flow. Throws `DomainError("UNAUTHORIZED", "invalid_token")`. */
  verifyIdToken(idToken: string, options?: { nonce?: string; now?: Date }): Promise<VerifiedIdToken>;
  /** RFC 7662 introspection of an (opaque) access token, authenticated with client_secret_basic. */
  introspect(accessToken: string): Promise<IntrospectionResult>;
  /** `claimsToIdentity` with this client's role claim and project id. */
  identity(claims: Record<string, unknown>): ZitadelIdentity;
}

interface Discovered {
  configuration: Configuration;
  issuer: string;
  keys: ReturnType<typeof createRemoteJWKSet>;
}

/** The OAuth error code of a failed token/introspection/userinfo request, if the IdP sent one. */
function oauthErrorOf(error: unknown): string | null {
  if (error instanceof ResponseBodyError) return error.error;
  if (error instanceof WWWAuthenticateChallengeError) {
    return error.cause[0]?.parameters.error ?? `http_${error.status}`;
  }
  return null;
}

/** The message plus the failed claim's name, which openid-client keeps deeper in the cause chain. */
function describeClientError(error: unknown): string {
  if (!(error instanceof Error)) return "unknown error";
  let claim: string | undefined;
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 4 && typeof cause === "object" && cause !== null; depth++) {
    const candidate = (cause as { claim?: unknown }).claim;
    if (typeof candidate === "string") claim = candidate;
    cause = (cause as { cause?: unknown }).cause;
  }
  return claim === undefined ? error.message : `${error.message} (claim "${claim}")`;
}

/** openid-client codes for a response that arrived but failed validation (not an outage). */
const VALIDATION_FAILURE = /CLAIM_COMPARISON|TIMESTAMP_CHECK|JWT|INVALID_RESPONSE|UNEXPECTED_ALGORITHM/;

/**
 * The IdP said no, or its answer failed our checks → UNAUTHORIZED; it could not be reached or
 * answered nonsense → UNAVAILABLE. Both carry `sso_failed` and say why (never a token).
 */
function ssoFailure(step: string, error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  const oauthError = oauthErrorOf(error);
  if (oauthError !== null) {
    return new DomainError(
      "UNAUTHORIZED",
      "sso_failed",
      `${step} refused by the identity provider: ${oauthError}`,
      {
        cause: error,
      },
    );
  }
  const why = describeClientError(error);
  if (error instanceof ClientError && typeof error.code === "string" && VALIDATION_FAILURE.test(error.code)) {
    return new DomainError("UNAUTHORIZED", "sso_failed", `${step} response rejected: ${why}`, {
      cause: error,
    });
  }
  return new DomainError("UNAVAILABLE", "sso_failed", `${step} failed: ${why}`, { cause: error });
}

function invalidIdToken(why: string, cause?: unknown): DomainError {
  return new DomainError("UNAUTHORIZED", "invalid_token", `ID token rejected: ${why}`, { cause });
}

/** A Zitadel (OIDC) relying party: discovery is lazy and retried after a failure. */
export function createZitadelClient(config: ZitadelClientConfig): ZitadelClient {
  const acceptedClientIds = [config.clientId];
  if (config.spaClientId && config.spaClientId !== config.clientId)
    acceptedClientIds.push(config.spaClientId);
  const clockTolerance = config.clockToleranceSeconds ?? 30;
  const mapping: RoleClaimOptions = { roleClaim: config.roleClaim, projectId: config.projectId };
  let pending: Promise<Discovered> | undefined;

  function discovered(): Promise<Discovered> {
    pending ??= (async () => {
      const configuration = await discovery(
        new URL(config.issuer),
        config.clientId,
        config.clientSecret ? { client_secret: config.clientSecret } : undefined,
        config.clientSecret ? ClientSecretBasic(config.clientSecret) : None(),
        {
          execute: config.allowHttp ? [allowInsecureRequests] : [],
          timeout: config.timeoutSeconds ?? 10,
        },
      );
      const metadata = configuration.serverMetadata();
      if (!metadata.jwks_uri) throw new Error("the discovery document has no jwks_uri");
      return {
        configuration,
        issuer: metadata.issuer,
        keys: createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: 5_000 }),
      };
    })().catch((error: unknown) => {
      pending = undefined;
      throw ssoFailure("identity provider discovery", error);
    });
    return pending;
  }

  async function verifyIdToken(
    idToken: string,
    options: { nonce?: string; now?: Date } = {},
  ): Promise<VerifiedIdToken> {
    if (idToken.length === 0 || idToken.length > 16_384) throw invalidIdToken("empty or oversized token");
    const { issuer, keys } = await discovered();
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(idToken, keys, {
        algorithms: [...ID_TOKEN_ALGORITHMS],
        issuer,
        audience: acceptedClientIds,
        clockTolerance,
        requiredClaims: ["iss", "sub", "aud", "exp", "iat"],
        currentDate: options.now,
      }));
    } catch (error) {
      throw invalidIdToken(describeJwtError(error), error);
    }
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const azp = claims.azp;
    if (azp !== undefined && (typeof azp !== "string" || !acceptedClientIds.includes(azp))) {
      throw invalidIdToken("unexpected azp (authorized party)");
    }
    if (azp === undefined && audiences.length > 1) {
      throw invalidIdToken("several audiences but no azp");
    }
    if (options.nonce !== undefined && claims.nonce !== options.nonce) {
      throw invalidIdToken("nonce mismatch");
    }
    return {
      claims,
      identity: claimsToIdentity(claims, mapping),
      useKey: idTokenUseKey(claims),
      // `iat` is a required claim above.
      issuedAt: new Date((claims.iat ?? 0) * 1000),
    };
  }

  return {
    issuer: config.issuer,
    clientId: config.clientId,
    publicConfig: () =>
      zitadelPublicConfig({
        issuer: config.issuer,
        clientId: config.spaClientId ?? config.clientId,
        projectId: config.projectId,
      }),
    async discover() {
      await discovered();
    },
    verifyIdToken,
    async exchangeCode(input) {
      if (!config.clientSecret) {
        throw new DomainError(
          "UNAVAILABLE",
          "sso_not_configured",
          "no client secret configured for code exchange",
        );
      }
      const { configuration, issuer } = await discovered();
      const callback = new URL(input.redirectUri);
      callback.search = "";
      callback.hash = "";
      callback.searchParams.set("code", input.code);
      if (configuration.serverMetadata().authorization_response_iss_parameter_supported) {
        callback.searchParams.set("iss", issuer);
      }
      let tokens: Awaited<ReturnType<typeof authorizationCodeGrant>>;
      try {
        tokens = await authorizationCodeGrant(configuration, callback, {
          pkceCodeVerifier: input.codeVerifier,
          expectedNonce: input.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        throw ssoFailure("code exchange", error);
      }
      const idToken = tokens.id_token;
      if (!idToken) throw new DomainError("UNAUTHORIZED", "sso_failed", "the token response has no ID token");
      const verified = await verifyIdToken(idToken, { nonce: input.nonce });
      let claims = verified.claims;
      if (config.fetchUserinfo !== false && configuration.serverMetadata().userinfo_endpoint) {
        try {
          const userinfo = await fetchUserInfo(configuration, tokens.access_token, verified.identity.subject);
          claims = { ...userinfo, ...verified.claims };
        } catch (error) {
          throw ssoFailure("userinfo", error);
        }
      }
      return {
        ...verified,
        claims,
        identity: claimsToIdentity(claims, mapping),
        idToken,
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token ?? null,
        expiresIn: tokens.expiresIn() ?? null,
      };
    },
    async introspect(accessToken) {
      if (!config.clientSecret) {
        throw new DomainError(
          "UNAVAILABLE",
          "sso_not_configured",
          "no client secret configured for introspection",
        );
      }
      const { configuration } = await discovered();
      let response: Awaited<ReturnType<typeof tokenIntrospection>>;
      try {
        response = await tokenIntrospection(configuration, accessToken);
      } catch (error) {
        throw ssoFailure("introspection", error);
      }
      return {
        active: response.active === true,
        subject: nonEmptyString(response.sub),
        clientId: nonEmptyString(response.client_id),
        scopes: typeof response.scope === "string" ? response.scope.split(" ").filter(Boolean) : [],
        expiresAt: typeof response.exp === "number" ? new Date(response.exp * 1000) : null,
        claims: { ...response },
      };
    },
    identity: (claims) => claimsToIdentity(claims, mapping),
  };
}
