import { webcrypto } from "node:crypto";
import { DomainError } from "@neosc/core/errors";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";

export const SESSION_TOKEN_ISSUER = "neosc";
export const SESSION_TOKEN_AUDIENCE = "neosc-api";
/** Header `typ`, so no other HS256 token made with the same secret can pass as a session. */
export const SESSION_TOKEN_TYPE = "neosc-session+jwt";
export const DEFAULT_SESSION_TTL_SECONDS = 8 * 60 * 60;
export const MIN_SESSION_SECRET_BYTES = 32;

export interface SessionTokenConfig {
  /** At least 32 bytes (UTF-8 for a string). The same on every API replica. */
  secret: string | Uint8Array;
  /** Token lifetime; default 8 h. */
  ttlSeconds?: number;
}

export interface IssueSessionTokenInput {
  /** The `auth_sessions` document id; becomes `jti`. */
  sessionId: string;
  userId: string;
  now?: Date;
  /** Overrides the configured lifetime for this token. */
  expiresAt?: Date;
}

export interface IssuedSessionToken {
  token: string;
  issuedAt: Date;
  expiresAt: Date;
}

export interface VerifiedSessionToken {
  sessionId: string;
  userId: string;
  issuedAt: Date;
  expiresAt: Date;
}

const encoder = new TextEncoder();

function signingKey(secret: string | Uint8Array): Uint8Array {
  const key = typeof secret === "string" ? encoder.encode(secret) : secret;
  if (key.byteLength < MIN_SESSION_SECRET_BYTES) {
    throw new RangeError(`the session secret must be at least ${MIN_SESSION_SECRET_BYTES} bytes`);
  }
  return key;
}

function ttlOf(config: SessionTokenConfig): number {
  const ttl = config.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError("ttlSeconds must be a positive integer");
  return ttl;
}

const toSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** Checks the configuration once (secret length, ttl) so a bad value fails at start-up. */
export function assertSessionTokenConfig(config: SessionTokenConfig): void {
  signingKey(config.secret);
  ttlOf(config);
}

/** Signs an app session token (HS256) for a login session the caller has just stored. */
export async function issueSessionToken(
  config: SessionTokenConfig,
  input: IssueSessionTokenInput,
): Promise<IssuedSessionToken> {
  const now = input.now ?? new Date();
  const issuedAt = toSeconds(now);
  const expires = input.expiresAt === undefined ? issuedAt + ttlOf(config) : toSeconds(input.expiresAt);
  if (expires <= issuedAt) throw new RangeError("a session token must expire after it is issued");
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: SESSION_TOKEN_TYPE })
    .setIssuer(SESSION_TOKEN_ISSUER)
    .setAudience(SESSION_TOKEN_AUDIENCE)
    .setSubject(input.userId)
    .setJti(input.sessionId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expires)
    .sign(signingKey(config.secret));
  return { token, issuedAt: new Date(issuedAt * 1000), expiresAt: new Date(expires * 1000) };
}

/*
 * Every authenticated request verifies its token: with the secret's bytes, jose imports them as
 * a WebCrypto key each time (a third of the verification's CPU in a dashboard profile), so the
 * imported key is kept per secret (a secret is configuration: a handful per process at most).
 */
const verifyKeys = new Map<string, Promise<webcrypto.CryptoKey>>();

function verifyKey(secret: string | Uint8Array): Promise<webcrypto.CryptoKey> {
  const bytes = signingKey(secret);
  const id = typeof secret === "string" ? secret : Buffer.from(bytes).toString("base64");
  let key = verifyKeys.get(id);
  if (key === undefined) {
    key = webcrypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    verifyKeys.set(id, key);
  }
  return key;
}

/**
 * Checks signature, type, issuer, audience and expiry. Says nothing about revocation: the
 * caller must still load the `jti` login session and check it is neither revoked nor expired.
 * Throws `DomainError("UNAUTHORIZED", "session_expired" | "invalid_token")`.
 */
export async function verifySessionToken(
  config: SessionTokenConfig,
  token: string,
  options: { now?: Date } = {},
): Promise<VerifiedSessionToken> {
  const key = await verifyKey(config.secret);
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      typ: SESSION_TOKEN_TYPE,
      issuer: SESSION_TOKEN_ISSUER,
      audience: SESSION_TOKEN_AUDIENCE,
      requiredClaims: ["jti", "sub", "iat", "exp"],
      currentDate: options.now,
    });
    const { jti, sub, iat, exp } = payload;
    if (typeof jti !== "string" || typeof sub !== "string" || iat === undefined || exp === undefined) {
      throw new DomainError("UNAUTHORIZED", "invalid_token", "session token is missing claims");
    }
    return {
      sessionId: jti,
      userId: sub,
      issuedAt: new Date(iat * 1000),
      expiresAt: new Date(exp * 1000),
    };
  } catch (error) {
    if (error instanceof DomainError) throw error;
    if (error instanceof joseErrors.JWTExpired) {
      throw new DomainError("UNAUTHORIZED", "session_expired", "the session has expired", { cause: error });
    }
    const why = error instanceof joseErrors.JOSEError ? error.code : "malformed";
    throw new DomainError("UNAUTHORIZED", "invalid_token", `invalid session token (${why})`, {
      cause: error,
    });
  }
}
