import { DomainError } from "@neosc/core/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZitadelClient, type ZitadelClient } from "../src/oidc.ts";
import {
  createPkcePair,
  DEFAULT_ORGANIZATION,
  randomNonce,
  startZitadelIdp,
  type ZitadelIdp,
} from "../testing/zitadel-idp.ts";

const REDIRECT_URI = "http://127.0.0.1:5173/auth/callback";
const API_CLIENT = { clientId: "284193857412538115@neosc", clientSecret: "api secret with spaces & symbols" };
const OTHER_CLIENT = { clientId: "other-app", clientSecret: "other-secret" };
const SPA_CLIENT = { clientId: "neosc-portal-spa" };

const ORG = { id: "300000000000000001", name: "Kappa Four", primaryDomain: "kappa4.localhost" };

let idp: ZitadelIdp;
let client: ZitadelClient;

beforeAll(async () => {
  idp = await startZitadelIdp({
    accounts: [
      { email: "admin@example.com", password: "admin-password", name: "Ada Admin", roles: ["admin", "user"] },
      {
        email: "mfa@example.com",
        password: "mfa-password",
        roles: ["neosc"],
        amr: ["pwd", "otp", "mfa"],
        organization: ORG,
      },
      { email: "flat@example.com", password: "flat-password", roles: ["neosc"], roleClaims: ["flat"] },
      {
        email: "project@example.com",
        password: "project-password",
        roles: ["admin", "superuser"],
        roleClaims: ["projectRoles"],
      },
      { email: "noroles@example.com", password: "noroles-password", organization: null },
    ],
    clients: [
      { ...API_CLIENT, redirectUris: [REDIRECT_URI] },
      { ...OTHER_CLIENT, redirectUris: [REDIRECT_URI] },
      { ...SPA_CLIENT, redirectUris: [REDIRECT_URI] },
    ],
  });
  client = createZitadelClient({
    issuer: idp.issuer,
    ...API_CLIENT,
    projectId: idp.projectId,
    spaClientId: SPA_CLIENT.clientId,
    allowHttp: true,
  });
});
afterAll(() => idp.stop());

async function codeFor(email: string, password: string, nonce?: string) {
  const { codeVerifier, codeChallenge } = createPkcePair();
  const code = await idp.obtainAuthorizationCode({
    email,
    password,
    codeChallenge,
    redirectUri: REDIRECT_URI,
    clientId: API_CLIENT.clientId,
    nonce,
  });
  return { code, codeVerifier };
}

async function domainRejection(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, "expected a DomainError").toBeInstanceOf(DomainError);
  return error as DomainError;
}

function editPayload(token: string, edit: (claims: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
  edit(claims);
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}

describe("Zitadel stand-in + client: code exchange", () => {
  it("exchanges a PKCE code (client_secret_basic) and maps roles, organization and amr", async () => {
    const nonce = randomNonce();
    const { code, codeVerifier } = await codeFor("admin@example.com", "admin-password", nonce);
    const result = await client.exchangeCode({ code, codeVerifier, redirectUri: REDIRECT_URI, nonce });
    expect(result.identity).toMatchObject({
      email: "admin@example.com",
      name: "Ada Admin",
      roles: ["admin", "user"],
      role: "admin",
      rolesAsserted: true,
      mfa: false,
      organization: {
        externalId: DEFAULT_ORGANIZATION.id,
        name: DEFAULT_ORGANIZATION.name,
        domain: DEFAULT_ORGANIZATION.primaryDomain,
      },
    });
    expect(result.identity.subject).toMatch(/^\d{18}$/);
    expect(result.claims.amr).toEqual(["pwd"]);
    expect(result.accessToken).toEqual(expect.any(String));
    expect(result.refreshToken).toEqual(expect.any(String));
  });

  it("marks an MFA login (amr contains mfa) and reads the user's organization", async () => {
    const { code, codeVerifier } = await codeFor("mfa@example.com", "mfa-password");
    const { identity } = await client.exchangeCode({ code, codeVerifier, redirectUri: REDIRECT_URI });
    expect(identity.mfa).toBe(true);
    expect(identity.role).toBe("neosc");
    expect(identity.organization).toEqual({ externalId: ORG.id, name: ORG.name, domain: ORG.primaryDomain });
  });

  it("maps roles from the flat claim alone", async () => {
    const { code, codeVerifier } = await codeFor("flat@example.com", "flat-password");
    const { identity, claims } = await client.exchangeCode({ code, codeVerifier, redirectUri: REDIRECT_URI });
    expect(claims["urn:zitadel:iam:org:project:roles"]).toBeUndefined();
    expect(claims.neosc_roles).toEqual(["neosc"]);
    expect(identity.roles).toEqual(["neosc"]);
  });

  it("maps roles from the project-specific roles claim alone, ignoring unknown role names", async () => {
    const { code, codeVerifier } = await codeFor("project@example.com", "project-password");
    const { identity, claims } = await client.exchangeCode({ code, codeVerifier, redirectUri: REDIRECT_URI });
    expect(claims[`urn:zitadel:iam:org:project:${idp.projectId}:roles`]).toEqual({
      admin: { [DEFAULT_ORGANIZATION.id]: DEFAULT_ORGANIZATION.primaryDomain },
      superuser: { [DEFAULT_ORGANIZATION.id]: DEFAULT_ORGANIZATION.primaryDomain },
    });
    expect(identity.roles).toEqual(["admin"]);
  });

  it("reports no role (and no organization) for an account without grants", async () => {
    const { code, codeVerifier } = await codeFor("noroles@example.com", "noroles-password");
    const { identity } = await client.exchangeCode({ code, codeVerifier, redirectUri: REDIRECT_URI });
    expect(identity.roles).toEqual([]);
    expect(identity.role).toBeUndefined();
    expect(identity.organization).toBeNull();
  });

  it("rejects a wrong client secret", async () => {
    const wrongSecret = createZitadelClient({
      issuer: idp.issuer,
      ...API_CLIENT,
      clientSecret: "wrong",
      allowHttp: true,
    });
    const { code, codeVerifier } = await codeFor("admin@example.com", "admin-password");
    const error = await domainRejection(
      wrongSecret.exchangeCode({ code, codeVerifier, redirectUri: REDIRECT_URI }),
    );
    expect(error.code).toBe("UNAUTHORIZED");
    expect(error.reason).toBe("sso_failed");
    expect(error.message).toContain("invalid_client");
  });

  it("rejects a wrong PKCE verifier and a replayed code", async () => {
    const { code } = await codeFor("admin@example.com", "admin-password");
    const wrong = await domainRejection(
      client.exchangeCode({ code, codeVerifier: createPkcePair().codeVerifier, redirectUri: REDIRECT_URI }),
    );
    expect(wrong.reason).toBe("sso_failed");
    expect(wrong.message).toContain("invalid_grant");

    const fresh = await codeFor("admin@example.com", "admin-password");
    await client.exchangeCode({ ...fresh, redirectUri: REDIRECT_URI });
    const replay = await domainRejection(client.exchangeCode({ ...fresh, redirectUri: REDIRECT_URI }));
    expect(replay.message).toContain("invalid_grant");
  });

  it("rejects a nonce mismatch on exchange", async () => {
    const { code, codeVerifier } = await codeFor("admin@example.com", "admin-password", "nonce-sent");
    const error = await domainRejection(
      client.exchangeCode({ code, codeVerifier, redirectUri: REDIRECT_URI, nonce: "nonce-expected" }),
    );
    expect(error.code).toBe("UNAUTHORIZED");
    expect(error.reason).toBe("sso_failed");
    expect(error.message).toMatch(/nonce/);
  });

  it("does not let the stand-in sign in with a wrong password", async () => {
    await expect(codeFor("admin@example.com", "not-the-password")).rejects.toThrow(/login rejected/);
  });
});

describe("Zitadel client: ID token verification (auth.sso)", () => {
  it("accepts an ID token from the SPA's own PKCE flow and maps it", async () => {
    const nonce = randomNonce();
    const tokens = await idp.obtainTokens({
      email: "mfa@example.com",
      password: "mfa-password",
      clientId: SPA_CLIENT.clientId,
      nonce,
    });
    const { identity, claims } = await client.verifyIdToken(tokens.idToken, { nonce });
    expect(claims.aud).toBe(SPA_CLIENT.clientId);
    expect(identity).toMatchObject({ email: "mfa@example.com", role: "neosc", mfa: true });
  });

  it("accepts an ID token for the backend client itself", async () => {
    const tokens = await idp.obtainTokens({ email: "admin@example.com", password: "admin-password" });
    const { identity } = await client.verifyIdToken(tokens.idToken);
    expect(identity.role).toBe("admin");
  });

  it("rejects a tampered ID token", async () => {
    const tokens = await idp.obtainTokens({ email: "flat@example.com", password: "flat-password" });
    const tampered = editPayload(tokens.idToken, (claims) => {
      claims.neosc_roles = ["admin"];
    });
    const error = await domainRejection(client.verifyIdToken(tampered));
    expect(error.code).toBe("UNAUTHORIZED");
    expect(error.reason).toBe("invalid_token");
    expect(error.message).toMatch(/signature/);
  });

  it("rejects an ID token issued to another client (wrong audience)", async () => {
    const tokens = await idp.obtainTokens({
      email: "admin@example.com",
      password: "admin-password",
      clientId: OTHER_CLIENT.clientId,
    });
    const error = await domainRejection(client.verifyIdToken(tokens.idToken));
    expect(error.reason).toBe("invalid_token");
    expect(error.message).toMatch(/aud/);
  });

  it("rejects a nonce mismatch", async () => {
    const tokens = await idp.obtainTokens({
      email: "admin@example.com",
      password: "admin-password",
      nonce: "the-real-nonce",
    });
    expect((await client.verifyIdToken(tokens.idToken, { nonce: "the-real-nonce" })).identity.role).toBe(
      "admin",
    );
    const error = await domainRejection(client.verifyIdToken(tokens.idToken, { nonce: "another-nonce" }));
    expect(error.reason).toBe("invalid_token");
    expect(error.message).toMatch(/nonce/);
  });

  it("rejects an expired ID token and garbage", async () => {
    const tokens = await idp.obtainTokens({ email: "admin@example.com", password: "admin-password" });
    const later = new Date(Date.now() + 2 * 3600_000);
    const expired = await domainRejection(client.verifyIdToken(tokens.idToken, { now: later }));
    expect(expired.message).toMatch(/exp/);
    expect((await domainRejection(client.verifyIdToken("garbage"))).reason).toBe("invalid_token");
  });

  it("rejects an ID token from another issuer with the same client id", async () => {
    const rogue = await startZitadelIdp({
      accounts: [{ email: "admin@example.com", password: "admin-password", roles: ["admin"] }],
      clients: [{ ...API_CLIENT, redirectUris: [REDIRECT_URI] }],
      logErrors: false,
    });
    try {
      const tokens = await rogue.obtainTokens({ email: "admin@example.com", password: "admin-password" });
      const error = await domainRejection(client.verifyIdToken(tokens.idToken));
      expect(error.reason).toBe("invalid_token");
    } finally {
      await rogue.stop();
    }
  });
});

describe("Zitadel client: introspection and configuration", () => {
  it("introspects an opaque access token with client_secret_basic", async () => {
    const tokens = await idp.obtainTokens({ email: "admin@example.com", password: "admin-password" });
    const result = await client.introspect(tokens.accessToken);
    expect(result.active).toBe(true);
    expect(result.clientId).toBe(API_CLIENT.clientId);
    expect(result.subject).toMatch(/^\d{18}$/);
    expect(result.scopes).toContain("openid");
    expect((await client.introspect("not-a-token")).active).toBe(false);
  });

  it("publishes the SPA's issuer, client id and Zitadel scopes (with the project audience)", () => {
    expect(client.publicConfig()).toEqual({
      issuer: idp.issuer,
      clientId: SPA_CLIENT.clientId,
      scopes: [
        "openid",
        "profile",
        "email",
        "urn:zitadel:iam:org:projects:roles",
        "urn:zitadel:iam:user:resourceowner",
        `urn:zitadel:iam:org:project:id:${idp.projectId}:aud`,
      ],
    });
  });

  it("serves Zitadel's endpoint paths in discovery", async () => {
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: idp.issuer,
      authorization_endpoint: `${idp.issuer}/oauth/v2/authorize`,
      token_endpoint: `${idp.issuer}/oauth/v2/token`,
      introspection_endpoint: `${idp.issuer}/oauth/v2/introspect`,
      userinfo_endpoint: `${idp.issuer}/oidc/v1/userinfo`,
      revocation_endpoint: `${idp.issuer}/oauth/v2/revoke`,
      end_session_endpoint: `${idp.issuer}/oidc/v1/end_session`,
      jwks_uri: `${idp.issuer}/oauth/v2/keys`,
      code_challenge_methods_supported: ["S256"],
    });
  });

  it("refuses an http issuer unless allowHttp is set, as UNAVAILABLE sso_failed", async () => {
    const strict = createZitadelClient({ issuer: idp.issuer, ...API_CLIENT });
    const error = await domainRejection(strict.discover());
    expect(error.code).toBe("UNAVAILABLE");
    expect(error.reason).toBe("sso_failed");
  });
});
