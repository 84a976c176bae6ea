import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";

/*
 * API tokens are `neosc_<id>.<secret>`: the id is the `api_tokens` document `_id` (so a lookup is
 * by `_id` alone, the one filter FerretDB answers without scanning), the secret is 32 random bytes
 * stored only as SHA-256. The `neosc_` prefix lets secret scanners recognise a leaked token and
 * tells the API a bearer value is an API token, not a session JWT.
 */
const PREFIX = "neosc_";
const TOKEN = /^neosc_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

export function isApiToken(bearer: string): boolean {
  return bearer.startsWith(PREFIX);
}

export function hashApiTokenSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A new token: the full value is shown once; only `id` and `secretHash` are stored. */
export function generateApiToken(): { id: string; value: string; secretHash: string } {
  const id = randomUUID();
  const secret = randomBytes(32).toString("base64url");
  return { id, value: `${PREFIX}${id}.${secret}`, secretHash: hashApiTokenSecret(secret) };
}

/** The id and secret of a well-formed token value, or null. */
export function parseApiToken(value: string): { id: string; secret: string } | null {
  const match = TOKEN.exec(value);
  if (match === null || match[1] === undefined || match[2] === undefined) return null;
  return { id: match[1], secret: match[2] };
}

/** Constant-time comparison of a presented secret with the stored hash. */
export function apiTokenSecretMatches(secret: string, secretHash: string): boolean {
  const presented = Buffer.from(hashApiTokenSecret(secret), "hex");
  const stored = Buffer.from(secretHash, "hex");
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

export function apiTokenPrefix(id: string): string {
  return `${PREFIX}${id.slice(0, 8)}`;
}
