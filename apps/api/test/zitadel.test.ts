import {
  createPkcePair,
  DEFAULT_ORGANIZATION,
  randomNonce,
  startZitadelIdp,
  type ZitadelIdp,
} from "@neosc/auth/testing/zitadel-idp";
import type { LoginOutput, Me } from "@neosc/core/auth";
import type { Workspace } from "@neosc/core/workspace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { useApi } from "./support/api.ts";
import { bearer, mutation, query } from "./support/http.ts";

/*
 * Zitadel sign-in against a Zitadel-shaped oidc-provider: backend code exchange with PKCE and
 * client_secret_basic, ID tokens from the SPA's flow, role and MFA mapping, JIT organizations.
 */

const REDIRECT_URI = "http://portal.neosc.test/auth/callback";
const CLIENT = { clientId: "neosc-api", clientSecret: "api-client-secret" };
const api = useApi();
let idp: ZitadelIdp;
let server: RunningServer;

const accounts = {
  admin: {
    email: "ada@example.test",
    password: "ada-password",
    roles: ["admin"],
    roleClaims: ["roles" as const],
    amr: ["pwd", "otp", "mfa"],
  },
  flat: {
    email: "linus@example.test",
    password: "linus-password",
    roles: ["neosc"],
    roleClaims: ["flat" as const],
    amr: ["pwd"],
  },
  plain: {
    email: "ken@example.test",
    password: "ken-password",
    roles: [] as string[],
    roleClaims: [] as ("roles" | "flat")[],
    organization: null,
  },
};

function oidcEnv(secret = CLIENT.clientSecret): Record<string, string> {
  return {
    NEOSC_OIDC_ISSUER: idp.issuer,
    NEOSC_OIDC_CLIENT_ID: CLIENT.clientId,
    NEOSC_OIDC_CLIENT_SECRET: secret,
    NEOSC_OIDC_PROJECT_ID: idp.projectId,
    NEOSC_OIDC_ALLOW_HTTP: "true",
  };
}

beforeAll(async () => {
  idp = await startZitadelIdp({
    accounts: Object.values(accounts),
    clients: [
      { ...CLIENT, redirectUris: [REDIRECT_URI] },
      { clientId: "another-app", clientSecret: "another-secret", redirectUris: [REDIRECT_URI] },
    ],
    logErrors: false,
  });
  server = await api.start(oidcEnv());
});

afterAll(async () => {
  await idp?.stop();
});

async function authorize(account: { email: string; password: string }) {
  const { codeVerifier, codeChallenge } = createPkcePair();
  const nonce = randomNonce();
  const code = await idp.obtainAuthorizationCode({
    email: account.email,
    password: account.password,
    codeChallenge,
    redirectUri: REDIRECT_URI,
    nonce,
    clientId: CLIENT.clientId,
  });
  return { code, codeVerifier, redirectUri: REDIRECT_URI, nonce };
}

async function meWith(token: string) {
  const response = await query<Me>(server.url, "auth.me", undefined, { headers: bearer(token) });
  expect(response.status).toBe(200);
  if (response.data === null) throw new Error("no identity");
  return response.data;
}

describe("auth.tokenExchange", () => {
  it("exchanges a code with its PKCE verifier: roles object, amr mfa, JIT organization", async () => {
    const response = await mutation<LoginOutput>(
      server.url,
      "auth.tokenExchange",
      await authorize(accounts.admin),
    );
    expect(response.status).toBe(200);
    const me = await meWith(response.data?.token ?? "");
    expect(me).toMatchObject({
      method: "sso",
      mfa: true,
      user: { email: accounts.admin.email, role: "admin", source: "sso" },
      organization: { name: DEFAULT_ORGANIZATION.name, externalId: DEFAULT_ORGANIZATION.id },
    });
  });

  it("maps the flat role claim, and no mfa without it in amr", async () => {
    const response = await mutation<LoginOutput>(
      server.url,
      "auth.tokenExchange",
      await authorize(accounts.flat),
    );
    const me = await meWith(response.data?.token ?? "");
    expect(me).toMatchObject({ mfa: false, user: { role: "neosc" } });
  });

  it("gives `user` to a person the IdP grants no role, without an organization", async () => {
    const response = await mutation<LoginOutput>(
      server.url,
      "auth.tokenExchange",
      await authorize(accounts.plain),
    );
    const me = await meWith(response.data?.token ?? "");
    expect(me).toMatchObject({ organization: null, user: { role: "user" } });
  });

  it("refuses a wrong PKCE verifier", async () => {
    const request = await authorize(accounts.flat);
    const wrongVerifier = await mutation(server.url, "auth.tokenExchange", {
      ...request,
      codeVerifier: createPkcePair().codeVerifier,
    });
    expect(wrongVerifier.status).toBe(401);
    expect(wrongVerifier.error?.data.domain?.reason).toBe("sso_failed");
  });

  it("is refused when the API's client secret is wrong", async () => {
    const misconfigured = await api.start(oidcEnv("not-the-secret"));
    const response = await mutation(misconfigured.url, "auth.tokenExchange", await authorize(accounts.flat));
    expect(response.status).toBe(401);
    expect(response.error?.data.domain?.reason).toBe("sso_failed");
  });
});

describe("auth.sso (ID token from the SPA)", () => {
  async function idTokenFor(account: { email: string; password: string }, clientId = CLIENT.clientId) {
    const nonce = randomNonce();
    const tokens = await idp.obtainTokens({
      email: account.email,
      password: account.password,
      nonce,
      clientId,
    });
    return { idToken: tokens.idToken, nonce };
  }

  it("signs in with a valid ID token and publishes the SSO settings", async () => {
    const response = await mutation<LoginOutput>(server.url, "auth.sso", await idTokenFor(accounts.admin));
    expect(response.status).toBe(200);
    expect(response.data?.user).toMatchObject({ email: accounts.admin.email, role: "admin" });
    const config = await query<{ sso: { issuer: string; clientId: string } | null }>(
      server.url,
      "auth.config",
    );
    expect(config.data?.sso).toMatchObject({ issuer: idp.issuer, clientId: CLIENT.clientId });
  });

  it("refuses a tampered ID token, a wrong nonce and a token issued to another client", async () => {
    const { idToken, nonce } = await idTokenFor(accounts.flat);
    const [header, payload, signature] = idToken.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8"));
    const forged = Buffer.from(JSON.stringify({ ...claims, neosc_roles: ["admin"] })).toString("base64url");
    const tampered = await mutation(server.url, "auth.sso", {
      idToken: `${header}.${forged}.${signature}`,
      nonce,
    });
    expect(tampered.status).toBe(401);
    expect(tampered.error?.data.domain?.reason).toBe("invalid_token");

    const wrongNonce = await mutation(server.url, "auth.sso", { idToken, nonce: "another-nonce" });
    expect(wrongNonce.status).toBe(401);

    const foreign = await mutation(server.url, "auth.sso", await idTokenFor(accounts.flat, "another-app"));
    expect(foreign.status).toBe(401);
    expect(foreign.error?.data.domain?.reason).toBe("invalid_token");

    const audit = await api.database.db.audit.list({ action: "auth.sso", result: "denied", limit: 5 });
    expect(audit.items.length).toBeGreaterThanOrEqual(3);
  });
});

describe("auth.sso accepts an ID token once, and only while young", () => {
  async function freshIdToken(account: { email: string; password: string }) {
    const nonce = randomNonce();
    const tokens = await idp.obtainTokens({ email: account.email, password: account.password, nonce });
    return { idToken: tokens.idToken, nonce };
  }

  it("refuses a replayed ID token on this and on another replica (401 token_replayed), audited", async () => {
    const replica = await api.start(oidcEnv());
    const input = await freshIdToken(accounts.flat);
    const first = await mutation<LoginOutput>(server.url, "auth.sso", input);
    expect(first.status).toBe(200);
    for (const target of [server, replica]) {
      const again = await mutation(target.url, "auth.sso", input);
      expect(again.status).toBe(401);
      expect(again.error?.data.domain?.reason).toBe("token_replayed");
      expect(again.error?.message).toBe("This sign-in was already used; sign in again");
    }
    const denied = await api.database.db.audit.list({ action: "auth.sso", result: "denied", limit: 2 });
    expect(denied.items.map((entry) => [entry.reason, entry.actor.email])).toEqual([
      ["token_replayed", accounts.flat.email],
      ["token_replayed", accounts.flat.email],
    ]);
    // A new sign-in at the IdP is a new token: accepted.
    expect((await mutation(replica.url, "auth.sso", await freshIdToken(accounts.flat))).status).toBe(200);
  });

  it("refuses an ID token older than the maximum age after iat (401 token_too_old), audited", async () => {
    const strict = await api.start({ ...oidcEnv(), NEOSC_OIDC_ID_TOKEN_MAX_AGE_SECONDS: "1" });
    const input = await freshIdToken(accounts.plain);
    // iat has whole seconds: 2.5 s later the token is past 1 s however its second was rounded.
    await new Promise((done) => setTimeout(done, 2500));
    const late = await mutation(strict.url, "auth.sso", input);
    expect(late.status).toBe(401);
    expect(late.error?.data.domain).toMatchObject({ reason: "token_too_old", details: { maxAgeSeconds: 1 } });
    const denied = await api.database.db.audit.list({ action: "auth.sso", result: "denied", limit: 1 });
    expect(denied.items[0]).toMatchObject({
      reason: "token_too_old",
      actor: { email: accounts.plain.email },
    });
    // Refused for its age, so not used up: the default maximum age still accepts it.
    expect((await mutation(server.url, "auth.sso", input)).status).toBe(200);
  });
});

describe("mfa-required after single sign-on (issue 15)", () => {
  it("refuses a launch of an IdP sign-in without mfa in amr, naming the method and sending them back to the IdP", async () => {
    const signIn = async (account: { email: string; password: string }) =>
      (await mutation<LoginOutput>(server.url, "auth.tokenExchange", await authorize(account))).data?.token ??
      "";
    const admin = await signIn(accounts.admin);
    const person = await signIn(accounts.flat);
    const workspace = await mutation<Workspace>(
      server.url,
      "workspace.create",
      {
        slug: `sso-mfa-${Date.now()}`,
        name: "SSO Wiki",
        description: "",
        kind: "web",
        image: null,
        url: "https://wiki.example.test",
        cpu: 1,
        memoryMb: 512,
        warm: 0,
        allowedRoles: ["neosc", "admin"],
        organizationId: null,
        enabled: true,
        tags: [],
      },
      { headers: bearer(admin) },
    );
    expect(workspace.status).toBe(200);
    const toggle = (enabled: boolean) =>
      mutation(server.url, "policy.toggle", { key: "mfa-required", enabled }, { headers: bearer(admin) });
    expect((await toggle(true)).status).toBe(200);
    try {
      const refused = await mutation(
        server.url,
        "workspace.launch",
        { workspaceId: workspace.data?.id },
        { headers: bearer(person) },
      );
      expect(refused.status).toBe(403);
      expect(refused.error?.data.domain).toMatchObject({
        reason: "mfa_required",
        details: { method: "sso" },
      });
      expect(refused.error?.message).toBe(
        "Sign in again through single sign-on with your identity provider's second factor to launch workspaces",
      );
      // The admin's IdP sign-in had mfa in amr: the same launch policy lets it through.
      const allowed = await mutation(
        server.url,
        "workspace.launch",
        { workspaceId: workspace.data?.id },
        { headers: bearer(admin) },
      );
      expect(allowed.status).toBe(200);
    } finally {
      await toggle(false);
    }
  });
});
