import { randomInt } from "node:crypto";
import { hash, parseOptions, verify } from "@node-rs/argon2";

/**
 * argon2id with OWASP's baseline cost (19 MiB, 2 passes, 1 lane). @node-rs/argon2 defaults to
 * argon2id and v0x13; its const enums cannot be referenced under `isolatedModules`, so the
 * algorithm is checked on the produced hash (`isArgon2idHash`) instead of passed here.
 */
export const PASSWORD_HASH_OPTIONS = {
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
} as const;

/** Longer inputs are refused before hashing so hashing cannot be used to burn CPU. */
export const MAX_PASSWORD_LENGTH = 1024;

export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
    throw new RangeError(`password length must be 1..${MAX_PASSWORD_LENGTH}`);
  }
  const encoded = await hash(password, PASSWORD_HASH_OPTIONS);
  if (!isArgon2idHash(encoded)) throw new Error("argon2 produced a non-argon2id hash");
  return encoded;
}

/** True when `password` matches `encoded`; false for a mismatch or an unreadable hash. */
export async function verifyPassword(encoded: string, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  try {
    return await verify(encoded, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random secret nobody knows, made with the same parameters as real hashes (so a
 * verification against it costs the same). Computed once per process.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hash(generateOneTimePassword(), PASSWORD_HASH_OPTIONS);
  return dummyHash;
}

/**
 * Verifies a password against an account's hash, or against a dummy hash of equal cost when
 * there is no account (or no local password), so "unknown email" and "wrong password" take the
 * same time and cannot be told apart. Always false when `encoded` is null.
 */
export async function verifyPasswordOrDummy(encoded: string | null, password: string): Promise<boolean> {
  if (encoded === null) {
    await verifyPassword(await dummyPasswordHash(), password);
    return false;
  }
  return verifyPassword(encoded, password);
}

/** Warm the dummy hash at start-up so the first unknown-email login is not slower. */
export async function preparePasswordHashing(): Promise<void> {
  await dummyPasswordHash();
}

export function isArgon2idHash(encoded: string): boolean {
  return encoded.startsWith("$argon2id$");
}

/** True when a stored hash was made with weaker (or different) parameters than today's. */
export function needsRehash(encoded: string): boolean {
  if (!isArgon2idHash(encoded)) return true;
  try {
    const current = parseOptions(encoded);
    return (
      current.memoryCost !== PASSWORD_HASH_OPTIONS.memoryCost ||
      current.timeCost !== PASSWORD_HASH_OPTIONS.timeCost ||
      current.parallelism !== PASSWORD_HASH_OPTIONS.parallelism ||
      current.outputLen !== PASSWORD_HASH_OPTIONS.outputLen
    );
  } catch {
    return true;
  }
}

/** No 0/O, 1/l/I: one-time passwords are read aloud and typed by hand. */
const ONE_TIME_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/**
 * A random password for admin-created accounts, shown once: four groups of five characters
 * (about 114 bits), e.g. `k7QmX-p2rTz-...`. Satisfies `PasswordSchema`.
 */
export function generateOneTimePassword(): string {
  const groups: string[] = [];
  for (let group = 0; group < 4; group++) {
    let chunk = "";
    for (let index = 0; index < 5; index++) {
      chunk += ONE_TIME_ALPHABET[randomInt(ONE_TIME_ALPHABET.length)];
    }
    groups.push(chunk);
  }
  return groups.join("-");
}

/** Lower-case only (what `RecoveryCodeSchema` folds to), without 0/o, 1/l. */
const RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";

/**
 * A recovery code, shown once and stored like a password: two groups of five (50 bits), e.g.
 * `k7qmx-p2rtz`. Enough against guessing because every check is an argon2id verification under
 * the sign-in throttle.
 */
export function generateRecoveryCode(): string {
  let code = "";
  for (let index = 0; index < 10; index++) {
    if (index === 5) code += "-";
    code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  }
  return code;
}
