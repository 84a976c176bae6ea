/**
 * A stand-in for Pomerium's signing side in tests: an ES256 key whose JWKS is served on a local
 * port at `/.well-known/pomerium/jwks.json`, Pomerium-shaped assertions, and forgeries.
 *
 *   const signer = await startPomeriumSigner({ host: "api.portal.test" });
 *   const verifier = createPomeriumVerifier({ jwksUrl: signer.jwksUrl, audiences: [signer.host] });
 *   const assertion = await signer.signAssertion({ email: "ada@example.com" });
 *   // request.headers["x-pomerium-jwt-assertion"] = assertion
 *   await signer.stop();
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  base64url,
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  SignJWT,
} from "jose";
import { POMERIUM_JWKS_PATH } from "../src/pomerium.ts";

export interface AssertionClaims {
  email: string;
  /** IdP subject; defaults to a stable value derived from the email. */
  sub?: string;
  name?: string;
  groups?: string[];
  sid?: string;
  /** Extra claims (what `jwt_claims_headers` would add), e.g. `{ neosc_roles: "admin" }`. */
  [claim: string]: unknown;
}

export interface SignAssertionOptions {
  /** `aud`; default the signer's host. */
  audience?: string;
  /** `iss`; default the signer's host. */
  issuer?: string;
  /** `iat`; default now. */
  issuedAt?: Date;
  /** `exp - iat`; default 300 s like Pomerium. */
  expiresInSeconds?: number;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicKey: CryptoKey;
}

export interface PomeriumSigner {
  /** The route host used as `aud` and `iss`. */
  readonly host: string;
  readonly jwksUrl: string;
  /** How many times the JWKS was fetched (to observe caching and refetch on unknown kid). */
  readonly jwksRequests: number;
  /** The kid of the current signing key. */
  readonly kid: string;
  signAssertion(claims: AssertionClaims, options?: SignAssertionOptions): Promise<string>;
  /** Replaces the signing key (new kid); the JWKS then serves only the new key. */
  rotateKey(): Promise<void>;
  /** Signed, but not acceptable: each one must be rejected by a correct verifier. */
  forge: {
    /** Expired 5 minutes ago (beyond any 30 s tolerance). */
    expired(claims: AssertionClaims): Promise<string>;
    wrongAudience(claims: AssertionClaims): Promise<string>;
    wrongIssuer(claims: AssertionClaims): Promise<string>;
    /** Signed by a key that is not in the JWKS, under the current kid. */
    otherKey(claims: AssertionClaims): Promise<string>;
    /** `alg: none`, empty signature. */
    algNone(claims: AssertionClaims): Promise<string>;
    /** HS256 with the public key (PEM) as the HMAC secret: the classic key-confusion attack. */
    hs256WithPublicKey(claims: AssertionClaims): Promise<string>;
    /** A valid assertion whose payload was edited (email swapped to `claims.email`). */
    tampered(claims: AssertionClaims): Promise<string>;
    /** No `exp` claim at all. */
    withoutExpiry(claims: AssertionClaims): Promise<string>;
  };
  stop(): Promise<void>;
}

async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicKey, publicJwk: { ...jwk, kid, alg: "ES256", use: "sig" } };
}

function subjectFor(email: string): string {
  return `sub-${Buffer.from(email).toString("hex").slice(0, 24)}`;
}

const encodeSegment = (value: unknown): string => base64url.encode(JSON.stringify(value));

export async function startPomeriumSigner(
  options: { host?: string; port?: number } = {},
): Promise<PomeriumSigner> {
  const host = options.host ?? "api.portal.test";
  let current = await createSigningKey();
  let jwksRequests = 0;

  const server: Server = createServer((request, response) => {
    if (request.method === "GET" && request.url === POMERIUM_JWKS_PATH) {
      jwksRequests += 1;
      response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      response.end(JSON.stringify({ keys: [current.publicJwk] }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  function payloadFor(claims: AssertionClaims, signOptions: SignAssertionOptions = {}) {
    const issuedAt = Math.floor((signOptions.issuedAt ?? new Date()).getTime() / 1000);
    const { email, sub, name, groups, sid, ...extra } = claims;
    const subject = sub ?? subjectFor(email);
    return {
      ...extra,
      iss: signOptions.issuer ?? host,
      aud: signOptions.audience ?? host,
      jti: randomUUID(),
      iat: issuedAt,
      exp: issuedAt + (signOptions.expiresInSeconds ?? 300),
      sub: subject,
      user: subject,
      email,
      groups: groups ?? [],
      sid: sid ?? randomUUID(),
      name: name ?? "",
    };
  }

  async function sign(
    payload: Record<string, unknown>,
    key: CryptoKey = current.privateKey,
    kid = current.kid,
  ): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg: "ES256", typ: "JWT", kid }).sign(key);
  }

  const signer: PomeriumSigner = {
    host,
    jwksUrl: `http://127.0.0.1:${port}${POMERIUM_JWKS_PATH}`,
    get jwksRequests() {
      return jwksRequests;
    },
    get kid() {
      return current.kid;
    },
    signAssertion: (claims, signOptions) => sign(payloadFor(claims, signOptions)),
    async rotateKey() {
      current = await createSigningKey();
    },
    forge: {
      expired: (claims) =>
        sign(payloadFor(claims, { issuedAt: new Date(Date.now() - 10 * 60_000), expiresInSeconds: 300 })),
      wrongAudience: (claims) => sign(payloadFor(claims, { audience: `other.${host}` })),
      wrongIssuer: (claims) => sign(payloadFor(claims, { issuer: `other.${host}` })),
      async otherKey(claims) {
        const stranger = await createSigningKey();
        return sign(payloadFor(claims), stranger.privateKey, current.kid);
      },
      async algNone(claims) {
        const header = encodeSegment({ alg: "none", typ: "JWT" });
        return `${header}.${encodeSegment(payloadFor(claims))}.`;
      },
      async hs256WithPublicKey(claims) {
        const pem = await exportSPKI(current.publicKey);
        return new SignJWT(payloadFor(claims))
          .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: current.kid })
          .sign(new TextEncoder().encode(pem));
      },
      async tampered(claims) {
        const genuine = await sign(payloadFor({ ...claims, email: `someone-else.${claims.email}` }));
        const [header, , signature] = genuine.split(".");
        return `${header}.${encodeSegment(payloadFor(claims))}.${signature}`;
      },
      async withoutExpiry(claims) {
        const { exp: _exp, ...payload } = payloadFor(claims);
        return sign(payload);
      },
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  return signer;
}
