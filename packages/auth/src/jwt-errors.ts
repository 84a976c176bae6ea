import { errors as joseErrors } from "jose";

/**
 * Why a JWT was refused, in words safe to log and return: jose's messages name the failed check
 * (`unexpected "aud" claim value`, `signature verification failed`) and never echo the token.
 */
export function describeJwtError(error: unknown): string {
  if (error instanceof joseErrors.JWKSTimeout) return "timed out fetching the key set";
  if (error instanceof joseErrors.JOSEError) return `${error.message} (${error.code})`;
  if (error instanceof TypeError && error.message === "fetch failed") return "could not fetch the key set";
  return "malformed token";
}

/** True when the error says the token's `exp` has passed. */
export function isJwtExpired(error: unknown): boolean {
  return error instanceof joseErrors.JWTExpired;
}
