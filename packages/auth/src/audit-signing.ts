import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from "node:crypto";

/*
 * The key that signs audit checkpoints (the chain head's seq and hash). It lives outside the
 * database — an environment variable or a file in the data folder — so someone who can write
 * the database can delete the newest entries but cannot sign a checkpoint that hides it.
 */

/** Ed25519 PKCS#8 DER before the 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export interface AuditSigningKey {
  /** Names the key (SHA-256 of its public half, 16 hex digits), so a checkpoint says which signed it. */
  keyId: string;
  /** base64url Ed25519 signature of `payload`. */
  sign(payload: string): string;
  /** Whether `signature` is this key's signature of `payload`. */
  verify(payload: string, signature: string): boolean;
}

/** A new key as its text form: base64 of a random 32-byte Ed25519 seed. */
export function generateAuditSigningKeyText(): string {
  return randomBytes(32).toString("base64");
}

/** The key from its text form (base64 of a 32-byte seed); throws naming what is wrong. */
export function parseAuditSigningKey(text: string): AuditSigningKey {
  const seed = Buffer.from(text.trim(), "base64");
  if (seed.length !== 32) throw new Error("an audit signing key is base64 of exactly 32 bytes");
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  return fromKeys(privateKey, createPublicKey(privateKey));
}

function fromKeys(privateKey: KeyObject, publicKey: KeyObject): AuditSigningKey {
  const publicDer = publicKey.export({ format: "der", type: "spki" });
  return {
    keyId: createHash("sha256").update(publicDer).digest("hex").slice(0, 16),
    sign: (payload) => sign(null, Buffer.from(payload, "utf8"), privateKey).toString("base64url"),
    verify(payload, signature) {
      try {
        return verify(null, Buffer.from(payload, "utf8"), publicKey, Buffer.from(signature, "base64url"));
      } catch {
        return false;
      }
    },
  };
}
