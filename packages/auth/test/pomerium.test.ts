import { DomainError } from "@neosc/core/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPomeriumVerifier, type PomeriumVerifier } from "../src/pomerium.ts";
import { type PomeriumSigner, startPomeriumSigner } from "../testing/pomerium-signer.ts";

const ada = { email: "Ada@Example.com", sub: "idp|ada", name: "Ada Lovelace", groups: ["staff", "admins"] };

let signer: PomeriumSigner;
let verifier: PomeriumVerifier;

beforeAll(async () => {
  signer = await startPomeriumSigner({ host: "api.portal.test" });
  verifier = createPomeriumVerifier({ jwksUrl: signer.jwksUrl, audiences: ["api.portal.test"] });
});
afterAll(() => signer.stop());

async function rejectionOf(verify: PomeriumVerifier, assertion: string): Promise<DomainError> {
  const error = await verify.verify(assertion).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, "the assertion must be rejected").toBeInstanceOf(DomainError);
  const domainError = error as DomainError;
  expect(domainError.code).toBe("UNAUTHORIZED");
  expect(domainError.reason).toBe("invalid_assertion");
  if (assertion.length > 0) expect(domainError.message).not.toContain(assertion);
  return domainError;
}

describe("Pomerium assertion verification", () => {
  it("accepts a valid assertion and returns the identity", async () => {
    const identity = await verifier.verify(await signer.signAssertion({ ...ada, neosc_roles: "admin" }));
    expect(identity).toMatchObject({
      subject: "idp|ada",
      email: "ada@example.com",
      name: "Ada Lovelace",
      groups: ["staff", "admins"],
    });
    expect(identity.sessionId).toEqual(expect.any(String));
    expect(identity.claims.neosc_roles).toBe("admin");
    expect(identity).toMatchObject({ roles: ["admin"], role: "admin", rolesAsserted: true });
  });

  it("reads roles from a configured, comma-joined claim and reports when none was sent", async () => {
    const custom = createPomeriumVerifier({
      jwksUrl: signer.jwksUrl,
      audiences: [signer.host],
      roleClaim: "app_roles",
    });
    const withRoles = await custom.verify(
      await signer.signAssertion({ ...ada, app_roles: "user,neosc,owner" }),
    );
    expect(withRoles).toMatchObject({ roles: ["user", "neosc"], role: "neosc", rolesAsserted: true });
    const withoutRoles = await custom.verify(await signer.signAssertion(ada));
    expect(withoutRoles).toMatchObject({ roles: [], role: undefined, rolesAsserted: false });
  });

  it("accepts any configured host as audience and issuer", async () => {
    const multi = createPomeriumVerifier({
      jwksUrl: signer.jwksUrl,
      audiences: ["portal.test", "api.portal.test"],
    });
    const identity = await multi.verify(await signer.signAssertion(ada));
    expect(identity.subject).toBe("idp|ada");
  });

  it("tolerates at most 30 s of clock skew", async () => {
    const issuedAt = new Date(Date.now() - 300_000 - 20_000);
    const slightlyLate = await signer.signAssertion(ada, { issuedAt });
    expect((await verifier.verify(slightlyLate)).subject).toBe("idp|ada");
    const tooLate = await signer.signAssertion(ada, { issuedAt: new Date(Date.now() - 300_000 - 40_000) });
    const error = await rejectionOf(verifier, tooLate);
    expect(error.message).toMatch(/exp/);
    expect(() =>
      createPomeriumVerifier({ jwksUrl: signer.jwksUrl, audiences: ["x"], clockToleranceSeconds: 31 }),
    ).toThrow(RangeError);
  });

  const forgeries = [
    ["expired", /exp/],
    ["wrongAudience", /aud/],
    ["wrongIssuer", /iss/],
    ["otherKey", /signature/],
    ["algNone", /alg|Unsecured|not allowed|malformed/i],
    ["hs256WithPublicKey", /alg|not allowed/i],
    ["tampered", /signature/],
    ["withoutExpiry", /exp/],
  ] as const;

  for (const [forgery, why] of forgeries) {
    it(`rejects a forged assertion: ${forgery}`, async () => {
      const assertion = await signer.forge[forgery](ada);
      const error = await rejectionOf(verifier, assertion);
      expect(error.message).toMatch(why);
    });
  }

  it("rejects assertions without an email or subject, and garbage", async () => {
    expect((await rejectionOf(verifier, await signer.signAssertion({ ...ada, email: "" }))).message).toMatch(
      /email/,
    );
    expect((await rejectionOf(verifier, await signer.signAssertion({ ...ada, sub: "" }))).message).toMatch(
      /subject/,
    );
    await rejectionOf(verifier, "definitely-not-a-jwt");
    await rejectionOf(verifier, "");
  });

  it("refetches the key set when Pomerium rotates its key (unknown kid)", async () => {
    const rotating = await startPomeriumSigner({ host: "api.portal.test" });
    try {
      const verify = createPomeriumVerifier({
        jwksUrl: rotating.jwksUrl,
        audiences: [rotating.host],
        jwksCooldownMs: 0,
      });
      await verify.verify(await rotating.signAssertion(ada));
      await verify.verify(await rotating.signAssertion(ada));
      expect(rotating.jwksRequests).toBe(1);
      const oldKid = rotating.kid;
      await rotating.rotateKey();
      expect(rotating.kid).not.toBe(oldKid);
      const identity = await verify.verify(await rotating.signAssertion(ada));
      expect(identity.subject).toBe("idp|ada");
      expect(rotating.jwksRequests).toBe(2);
    } finally {
      await rotating.stop();
    }
  });

  it("bounds refetching: unknown kids inside the cooldown do not hit the key set again", async () => {
    const rotating = await startPomeriumSigner({ host: "api.portal.test" });
    try {
      const verify = createPomeriumVerifier({ jwksUrl: rotating.jwksUrl, audiences: [rotating.host] });
      await verify.verify(await rotating.signAssertion(ada));
      expect(rotating.jwksRequests).toBe(1);
      await rotating.rotateKey();
      for (let attempt = 0; attempt < 5; attempt++) {
        const error = await rejectionOf(verify, await rotating.signAssertion(ada));
        expect(error.message).toMatch(/no applicable key|matching/i);
      }
      expect(rotating.jwksRequests).toBe(1);
    } finally {
      await rotating.stop();
    }
  });

  it("never trusts a key set it cannot reach", async () => {
    const unreachable = createPomeriumVerifier({
      jwksUrl: "http://127.0.0.1:9/.well-known/pomerium/jwks.json",
      audiences: [signer.host],
    });
    const error = await rejectionOf(unreachable, await signer.signAssertion(ada));
    expect(error.message).toMatch(/key set/);
  });
});
