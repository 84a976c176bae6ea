import { describe, expect, it } from "vitest";
import type { ExternalIdentity, PomeriumVerifier } from "../../src/context.ts";
import { resolveIdentity } from "../../src/domain/identity/identity.ts";
import {
  callerFor,
  createLocalUser,
  fixedOidc,
  RecordingCookies,
  testServices,
  uniqueEmail,
} from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";
import { refusalOf } from "../support/expect-error.ts";

/*
 * The identity-provider side is a stand-in at the port boundary (the real Zitadel client and
 * Pomerium verifier are exercised over HTTP in apps/api); what is tested here is what NeoSC does
 * with a verified identity: just-in-time users and organizations, role precedence, MFA.
 */

const database = useTestDatabase();

function external(overrides: Partial<ExternalIdentity> = {}): ExternalIdentity {
  return {
    subject: `sub-${uniqueEmail("s")}`,
    email: uniqueEmail("sso"),
    name: "Ada Lovelace",
    roles: null,
    mfa: false,
    organization: null,
    ...overrides,
  };
}

describe("auth.sso / auth.tokenExchange", () => {
  it("creates the user and the organization just in time, with the IdP's role and MFA", async () => {
    const person = external({
      roles: ["neosc"],
      mfa: true,
      organization: { externalId: `org-${uniqueEmail("o")}`, name: "Kappa Labs", domain: "kappa.example" },
    });
    const cookies = new RecordingCookies();
    const result = await callerFor(database.db, { oidc: fixedOidc(person), cookies }).auth.sso({
      idToken: "valid-id-token",
    });
    expect(result.user).toMatchObject({
      email: person.email,
      role: "neosc",
      source: "sso",
      externalId: person.subject,
    });
    expect(cookies.events[0]).toMatchObject({ kind: "set", token: result.token });
    const organization = await database.db.organizations.findByExternalId(
      person.organization?.externalId ?? "",
    );
    expect(organization).toMatchObject({ name: "Kappa Labs", domain: "kappa.example" });
    expect(result.user.organizationId).toBe(organization?.id);

    const session = await database.db.loginSessions.findActive(
      (await resolveBearer(result.token)).identity?.loginSession?.id ?? "",
      new Date(),
    );
    expect(session).toMatchObject({ method: "sso", mfa: true });
  });

  it("lets roles sent by the IdP win on every login, and keeps the stored role when none are sent", async () => {
    const person = external({ roles: ["admin"] });
    let current = person;
    const oidc = fixedOidc(() => current);
    expect((await callerFor(database.db, { oidc }).auth.tokenExchange(exchange())).user.role).toBe("admin");

    current = { ...person, roles: ["user"] };
    expect((await callerFor(database.db, { oidc }).auth.tokenExchange(exchange())).user.role).toBe("user");

    const stored = await database.db.users.findByExternalId(person.subject);
    await database.db.users.update(stored?.id ?? "", { role: "neosc" });
    current = { ...person, roles: null };
    expect((await callerFor(database.db, { oidc }).auth.sso({ idToken: "valid-id-token" })).user.role).toBe(
      "neosc",
    );

    current = { ...person, roles: [] };
    expect((await callerFor(database.db, { oidc }).auth.sso({ idToken: "valid-id-token" })).user.role).toBe(
      "user",
    );
  });

  it("refuses what the IdP did not vouch for, and audits it", async () => {
    const oidc = fixedOidc(external());
    expect(await refusalOf(callerFor(database.db, { oidc }).auth.sso({ idToken: "tampered" }))).toEqual({
      code: "UNAUTHORIZED",
      reason: "sso_failed",
    });
    expect(
      await refusalOf(callerFor(database.db, { oidc }).auth.tokenExchange({ ...exchange(), code: "x" })),
    ).toEqual({
      code: "UNAUTHORIZED",
      reason: "sso_failed",
    });
    const audit = await database.db.audit.list({ action: "auth.sso", result: "denied", limit: 1 });
    expect(audit.items[0]?.reason).toBe("sso_failed");
  });

  it("says so when SSO is not configured", async () => {
    expect(await refusalOf(callerFor(database.db).auth.sso({ idToken: "valid-id-token" }))).toEqual({
      code: "BAD_REQUEST",
      reason: "sso_not_configured",
    });
    expect((await callerFor(database.db).auth.config()).sso).toBeNull();
    expect((await callerFor(database.db, { oidc: fixedOidc(external()) }).auth.config()).sso).toMatchObject({
      clientId: "neosc",
    });
  });

  it("links a local account with the same email once, and refuses disabled accounts", async () => {
    const local = await createLocalUser(database.db, "admin");
    const person = external({ email: local.email });
    const result = await callerFor(database.db, { oidc: fixedOidc(person) }).auth.sso({
      idToken: "valid-id-token",
    });
    expect(result.user).toMatchObject({ id: local.user.id, role: "admin", externalId: person.subject });

    await database.db.users.update(local.user.id, { disabled: true });
    expect(
      await refusalOf(
        callerFor(database.db, { oidc: fixedOidc(person) }).auth.sso({ idToken: "valid-id-token" }),
      ),
    ).toEqual({ code: "FORBIDDEN", reason: "account_disabled" });
  });
});

describe("Pomerium identity", () => {
  const verifier = (person: ExternalIdentity): PomeriumVerifier => ({
    verify: async (assertion) => {
      if (assertion !== "signed-assertion") throw new Error("bad signature");
      return person;
    },
  });

  it("is used only when Pomerium trust is configured, and creates the user on first sight", async () => {
    const person = external({ roles: ["neosc"] });
    const withoutTrust = await resolveWith(null, { pomeriumAssertion: "signed-assertion" });
    expect(withoutTrust).toEqual({ identity: null, credentialError: null });

    const resolved = await resolveWith(verifier(person), { pomeriumAssertion: "signed-assertion" });
    expect(resolved.identity).toMatchObject({
      method: "pomerium",
      loginSession: null,
      user: { email: person.email, role: "neosc", source: "pomerium" },
    });
    const again = await resolveWith(verifier(person), { pomeriumAssertion: "signed-assertion" });
    expect(again.identity?.user.id).toBe(resolved.identity?.user.id);
  });

  it("does not fall back to other credentials when an assertion is forged", async () => {
    const { email, password } = await createLocalUser(database.db, "user");
    const { token } = await callerFor(database.db).auth.login({ email, password });
    const resolved = await resolveWith(verifier(external()), {
      pomeriumAssertion: "forged",
      bearerToken: token,
    });
    expect(resolved.identity).toBeNull();
    expect(resolved.credentialError?.reason).toBe("invalid_assertion");
  });

  it("clears a stale cookie and leaves the request anonymous", async () => {
    const cookies = new RecordingCookies();
    const resolved = await resolveIdentity(
      {
        db: database.db,
        clock: () => new Date(),
        request: { clientIp: null, userAgent: null },
        services: { ...testServices(), responseCookies: cookies },
      },
      { sessionCookie: "not-a-token" },
    );
    expect(resolved.identity).toBeNull();
    expect(resolved.credentialError?.reason).toBe("invalid_token");
    expect(cookies.events).toEqual([{ kind: "clear" }]);
  });
});

function exchange() {
  return {
    code: "valid-code",
    codeVerifier: "v".repeat(43),
    redirectUri: "https://portal.example.test/auth/callback",
  };
}

function resolveBearer(token: string) {
  return resolveWith(null, { bearerToken: token });
}

function resolveWith(
  pomerium: PomeriumVerifier | null,
  credentials: Parameters<typeof resolveIdentity>[1],
): ReturnType<typeof resolveIdentity> {
  return resolveIdentity(
    {
      db: database.db,
      clock: () => new Date(),
      request: { clientIp: null, userAgent: null },
      services: { ...testServices({ pomerium }), responseCookies: new RecordingCookies() },
    },
    credentials,
  );
}
