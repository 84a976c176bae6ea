import { type PomeriumSigner, startPomeriumSigner } from "@neosc/auth/testing/pomerium-signer";
import type { Me } from "@neosc/core/auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { useApi } from "./support/api.ts";
import { query } from "./support/http.ts";

/*
 * Behind Pomerium the API trusts only a verified `X-Pomerium-Jwt-Assertion` (ES256 from the JWKS,
 * aud/iss = the route host, exp). Every forgery the test signer can make must answer 401.
 */

const api = useApi();
let signer: PomeriumSigner;
let server: RunningServer;

beforeAll(async () => {
  signer = await startPomeriumSigner({ host: "api.portal.neosc.test" });
  server = await api.start({
    NEOSC_POMERIUM_JWKS_URL: signer.jwksUrl,
    NEOSC_POMERIUM_AUDIENCES: signer.host,
  });
});

afterAll(async () => {
  await signer.stop();
});

const me = (assertion: string, extra: Record<string, string> = {}) =>
  query<Me>(server.url, "auth.me", undefined, {
    headers: { "x-pomerium-jwt-assertion": assertion, ...extra },
  });

describe("Pomerium assertions", () => {
  it("accept a valid assertion and create the person just in time", async () => {
    const email = "grace@example.test";
    expect(await api.database.db.users.findByEmail(email)).toBeNull();
    const response = await me(await signer.signAssertion({ email, name: "Grace Hopper" }));
    expect(response.status).toBe(200);
    expect(response.data).toMatchObject({
      method: "pomerium",
      sessionExpiresAt: null,
      user: { email, name: "Grace Hopper", role: "user", source: "pomerium" },
    });
    expect(await api.database.db.users.findByEmail(email)).not.toBeNull();
    const config = await query<{ pomerium: boolean }>(server.url, "auth.config");
    expect(config.data?.pomerium).toBe(true);
  });

  it("take the role from a forwarded role claim", async () => {
    const response = await me(
      await signer.signAssertion({ email: "ops@example.test", neosc_roles: "admin" }),
    );
    expect(response.data?.user.role).toBe("admin");
  });

  const forgeries = [
    ["expired", (claims: { email: string }) => signer.forge.expired(claims)],
    ["wrong audience", (claims: { email: string }) => signer.forge.wrongAudience(claims)],
    ["wrong issuer", (claims: { email: string }) => signer.forge.wrongIssuer(claims)],
    ["signed by another key", (claims: { email: string }) => signer.forge.otherKey(claims)],
    ["alg none", (claims: { email: string }) => signer.forge.algNone(claims)],
    ["HS256 with the public key", (claims: { email: string }) => signer.forge.hs256WithPublicKey(claims)],
    ["tampered payload", (claims: { email: string }) => signer.forge.tampered(claims)],
    ["without expiry", (claims: { email: string }) => signer.forge.withoutExpiry(claims)],
  ] as const;

  it.each(forgeries)("refuse an assertion %s with 401", async (_name, forge) => {
    const email = `mallory-${Math.random().toString(36).slice(2)}@example.test`;
    const response = await me(await forge({ email }));
    expect(response.status).toBe(401);
    expect(response.error?.data.domain?.reason).toBe("invalid_assertion");
    expect(await api.database.db.users.findByEmail(email)).toBeNull();
  });

  it("ignore plain identity headers", async () => {
    const response = await query(server.url, "auth.me", undefined, {
      headers: { "x-pomerium-email": "admin@neosc.test", "x-pomerium-claim-email": "admin@neosc.test" },
    });
    expect(response.status).toBe(401);
    expect(response.error?.data.domain?.reason).toBe("not_authenticated");
  });

  it("are ignored entirely when Pomerium trust is not configured", async () => {
    const untrusting = await api.start();
    const response = await query(untrusting.url, "auth.me", undefined, {
      headers: { "x-pomerium-jwt-assertion": await signer.signAssertion({ email: "grace@example.test" }) },
    });
    expect(response.status).toBe(401);
    expect(response.error?.data.domain?.reason).toBe("not_authenticated");
  });
});
