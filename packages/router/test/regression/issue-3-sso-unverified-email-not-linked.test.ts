import { randomUUID } from "node:crypto";
import { claimsToIdentity, type ZitadelClient } from "@neosc/auth/oidc";
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { oidcServiceFor } from "../../../../apps/api/src/auth-services.ts";
import { domainErrorOf } from "../../src/errors.ts";
import { callerFor, createLocalUser, uniqueEmail } from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";

/*
 * Single sign-on linked an existing local account to any IdP identity that carried the same
 * email, verified or not. Whoever could hold an unverified address at the IdP (self sign-up,
 * a changed profile email) took over the local account, and as long as the IdP sent no roles
 * kept its role: the bootstrap admin was one ID token away. Linking now needs a verified email.
 */

const database = useTestDatabase();

/** The real claim mapping behind a client that "verified" whatever claims it is given. */
function idpIssuing(claims: Record<string, unknown>): ZitadelClient {
  // Each call is a new token (its own jti), as a real IdP issues one per sign-in.
  const verified = async () => ({
    claims,
    identity: claimsToIdentity(claims),
    useKey: `jti:test:${randomUUID()}`,
    issuedAt: new Date(),
  });
  return {
    issuer: "https://idp.example.test",
    clientId: "neosc",
    publicConfig: () => ({ issuer: "https://idp.example.test", clientId: "neosc", scopes: ["openid"] }),
    discover: async () => {},
    verifyIdToken: verified,
    exchangeCode: async () => ({
      ...(await verified()),
      idToken: "id",
      accessToken: "at",
      refreshToken: null,
      expiresIn: null,
    }),
    introspect: async () => ({
      active: false,
      subject: null,
      clientId: null,
      scopes: [],
      expiresAt: null,
      claims: {},
    }),
    identity: (raw) => claimsToIdentity(raw),
  };
}

async function refusalOf(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    if (error instanceof TRPCError) return { code: error.code, reason: domainErrorOf(error)?.reason };
    throw error;
  }
  return null;
}

describe("issue 3: an IdP identity with an unverified email is not linked to a local account", () => {
  it("refuses (and audits) the link while email_verified is false, and links once it is true", async () => {
    const local = await createLocalUser(database.db, "admin");
    const subject = `sub-${uniqueEmail("mallory")}`;
    const unverified = oidcServiceFor(
      idpIssuing({ sub: subject, email: local.email, email_verified: false }),
    );
    expect(
      await refusalOf(callerFor(database.db, { oidc: unverified }).auth.sso({ idToken: "any" })),
    ).toEqual({ code: "UNAUTHORIZED", reason: "sso_failed" });
    expect(
      await refusalOf(
        callerFor(database.db, { oidc: unverified }).auth.tokenExchange({
          code: "code",
          codeVerifier: "v".repeat(43),
          redirectUri: "https://portal.example.test/sso/callback",
        }),
      ),
    ).toEqual({ code: "UNAUTHORIZED", reason: "sso_failed" });

    const untouched = await database.db.users.findById(local.user.id);
    expect(untouched).toMatchObject({ externalId: null, role: "admin", source: "local" });
    const denied = await database.db.audit.list({ action: "auth.sso", result: "denied", limit: 1 });
    expect(denied.items[0]).toMatchObject({ reason: "sso_failed", actor: { email: local.email } });

    const verified = oidcServiceFor(idpIssuing({ sub: subject, email: local.email, email_verified: true }));
    const linked = await callerFor(database.db, { oidc: verified }).auth.sso({ idToken: "any" });
    expect(linked.user).toMatchObject({ id: local.user.id, externalId: subject });
  });

  it("still creates a new account for an unverified email nobody holds", async () => {
    const email = uniqueEmail("fresh");
    const oidc = oidcServiceFor(idpIssuing({ sub: `sub-${email}`, email, email_verified: false }));
    const result = await callerFor(database.db, { oidc }).auth.sso({ idToken: "any" });
    expect(result.user).toMatchObject({ email, role: "user", source: "sso" });
  });
});
