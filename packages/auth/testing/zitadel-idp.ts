/**
 * A Zitadel-shaped OpenID Provider for tests and e2e runs, built on `oidc-provider` 8.8.x
 * (OpenID-certified). It speaks Zitadel's paths and claims (REFERENCE.md "Zitadel" and
 * "Stand-in IdP"):
 *
 * - endpoints `/oauth/v2/authorize`, `/oauth/v2/token`, `/oauth/v2/introspect`, `/oidc/v1/userinfo`,
 *   `/oauth/v2/revoke`, `/oidc/v1/end_session`, `/oauth/v2/keys` (RS256 keys);
 * - confidential clients authenticate with `client_secret_basic` (public clients: `none`), PKCE
 *   S256 is required for every client, refresh tokens rotate;
 * - scope `urn:zitadel:iam:org:projects:roles` yields `urn:zitadel:iam:org:project:roles` and
 *   `urn:zitadel:iam:org:project:<projectId>:roles` (`{ role: { orgId: orgDomain } }`), scope
 *   `urn:zitadel:iam:user:resourceowner` yields the resourceowner id/name/primary_domain claims,
 *   the flat `neosc_roles` claim is always present (as a Zitadel Action would add it), and `amr`
 *   (`pwd`, plus `mfa` for accounts configured so) is in the ID token. Scope claims go into the ID
 *   token (`conformIdTokenClaims: false`) and into userinfo.
 *
 * Signing in works two ways:
 * - in a browser: the authorize redirect leads to `/interaction/<uid>`, a login page with an
 *   "Email" field (`name="login"`), a "Password" field (`name="password"`) and a
 *   `button.login-submit`; consent is granted automatically, as Zitadel does for its own apps;
 * - without a browser: `idp.obtainAuthorizationCode(...)` drives the same pages over HTTP
 *   (manual redirects, a cookie jar) and returns the `code`; `idp.obtainTokens(...)` also
 *   exchanges it.
 *
 *   const idp = await startZitadelIdp({
 *     accounts: [{ email: "ada@example.com", password: "pw", roles: ["admin"], amr: ["pwd", "mfa"] }],
 *     clients: [{ clientId: "neosc-api", clientSecret: "s3cret", redirectUris: ["http://127.0.0.1:5173/auth/callback"] }],
 *   });
 *   const { codeVerifier, codeChallenge } = createPkcePair();
 *   const code = await idp.obtainAuthorizationCode({
 *     email: "ada@example.com", password: "pw", codeChallenge,
 *     redirectUri: "http://127.0.0.1:5173/auth/callback", nonce: "n-1",
 *   });
 *   // → auth.tokenExchange({ code, codeVerifier, redirectUri, nonce: "n-1" })
 *   await idp.stop();
 *
 * The issuer is `http://127.0.0.1:<port>` unless `host` says otherwise; use that one host name
 * everywhere (discovery URLs follow the request's Host header).
 */
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, {
  type Account,
  type ClientMetadata,
  type Configuration,
  type JWK,
  type KoaContextWithOIDC,
} from "oidc-provider";
import {
  ZITADEL_ORG_DOMAIN_CLAIM,
  ZITADEL_ORG_ID_CLAIM,
  ZITADEL_ORG_NAME_CLAIM,
  zitadelScopes,
} from "../src/oidc.ts";
import { DEFAULT_ROLE_CLAIM, ZITADEL_ROLES_CLAIM, zitadelProjectRolesClaim } from "../src/role-claims.ts";

export const ZITADEL_ROUTES = {
  authorization: "/oauth/v2/authorize",
  token: "/oauth/v2/token",
  introspection: "/oauth/v2/introspect",
  userinfo: "/oidc/v1/userinfo",
  revocation: "/oauth/v2/revoke",
  end_session: "/oidc/v1/end_session",
  jwks: "/oauth/v2/keys",
} as const;

/** Zitadel-looking default project id (they are 18-digit snowflakes). */
export const DEFAULT_PROJECT_ID = "284193857412538114";
export const DEFAULT_ORGANIZATION: IdpOrganization = {
  id: "284193857412538001",
  name: "NeoSC Test Org",
  primaryDomain: "neosc-test.localhost",
};

export interface IdpOrganization {
  id: string;
  name: string;
  primaryDomain: string;
}

/** Which of the role claims an account's tokens carry. */
export type RoleClaimKind = "roles" | "projectRoles" | "flat";

export interface IdpAccount {
  email: string;
  password: string;
  /** Zitadel user id (`sub`); default: an 18-digit number derived from the email. */
  subject?: string;
  name?: string;
  /** Role keys granted in the project (unknown names are allowed: NeoSC must ignore them). */
  roles?: string[];
  /** Default all three; e.g. `["flat"]` to model an IdP that only sends `neosc_roles`. */
  roleClaims?: RoleClaimKind[];
  /** The user's organization (resourceowner claims); null for none. Default `DEFAULT_ORGANIZATION`. */
  organization?: IdpOrganization | null;
  /** Authentication methods reported for this account's logins; default `["pwd"]`. */
  amr?: string[];
  emailVerified?: boolean;
}

export interface IdpClient {
  clientId: string;
  /** Absent for a public client (auth method `none`, e.g. a SPA doing its own PKCE flow). */
  clientSecret?: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
}

export interface StartZitadelIdpOptions {
  accounts: IdpAccount[];
  clients: IdpClient[];
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Host name in the issuer URL; default `127.0.0.1`. The server listens on 127.0.0.1. */
  host?: string;
  projectId?: string;
  /** Name of the flat role claim; default `neosc_roles`. */
  roleClaim?: string;
  /** Log provider errors to stderr (default true). */
  logErrors?: boolean;
}

export interface AuthorizationRequest {
  redirectUri: string;
  codeChallenge: string;
  /** Default: the first client. */
  clientId?: string;
  nonce?: string;
  state?: string;
  /** Default: `zitadelScopes(projectId)` plus `offline_access`. */
  scope?: string;
  prompt?: string;
}

export interface ObtainCodeOptions extends AuthorizationRequest {
  email: string;
  password: string;
}

export interface ObtainTokensOptions extends Omit<ObtainCodeOptions, "codeChallenge" | "redirectUri"> {
  /** Default: the client's first redirect URI. */
  redirectUri?: string;
}

export interface IdpTokens {
  idToken: string;
  accessToken: string;
  refreshToken: string | null;
  /** The code, its verifier and redirect URI used (already redeemed). */
  code: string;
  codeVerifier: string;
  redirectUri: string;
}

export interface ZitadelIdp {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly issuer: string;
  readonly port: number;
  readonly projectId: string;
  /** Scopes a NeoSC client should request here (with the project audience scope). */
  readonly scopes: string[];
  readonly provider: Provider;
  /** The full authorize URL, e.g. for a browser to open. */
  authorizationUrl(request: AuthorizationRequest): string;
  /** Drives authorize → login → consent → redirect over HTTP and returns the authorization code. */
  obtainAuthorizationCode(options: ObtainCodeOptions): Promise<string>;
  /** `obtainAuthorizationCode` with a fresh PKCE pair, then the code exchange at the token endpoint. */
  obtainTokens(options: ObtainTokensOptions): Promise<IdpTokens>;
  stop(): Promise<void>;
}

/** A PKCE S256 pair (RFC 7636): a 43-character verifier and its challenge. */
export function createPkcePair(): { codeVerifier: string; codeChallenge: string } {
  const codeVerifier = randomBytes(32).toString("base64url");
  const codeChallenge = createHash("sha256").update(codeVerifier).digest("base64url");
  return { codeVerifier, codeChallenge };
}

export function randomNonce(): string {
  return randomBytes(16).toString("base64url");
}

function subjectFor(email: string): string {
  const digest = createHash("sha256").update(email.toLowerCase()).digest();
  return ((digest.readBigUInt64BE(0) % 900_000_000_000_000_000n) + 100_000_000_000_000_000n).toString();
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;display:grid;place-items:center;min-height:100vh}
main{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 2px 8px rgba(0,0,0,.12);width:20rem}
h1{font-size:1.25rem;margin:0 0 1rem}label{display:block;margin:.75rem 0 .25rem;font-size:.9rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1rem;width:100%;padding:.6rem;font-size:1rem;background:#2563eb;color:#fff;border:0;border-radius:4px;cursor:pointer}
.error{color:#b91c1c;font-size:.9rem}
a{font-size:.85rem}
</style>
</head>
<body><main>${body}</main></body>
</html>`;
}

function loginPage(uid: string, clientId: string, error: string | null, login = ""): string {
  return page(
    "Sign in — Zitadel (NeoSC stand-in)",
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(clientId)}</strong></p>
${error ? `<p class="error" role="alert" data-login-error>${escapeHtml(error)}</p>` : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off" data-login-form>
<label for="login">Email</label>
<input id="login" name="login" type="email" autocomplete="username" required autofocus value="${escapeHtml(login)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="login-submit">Sign in</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`,
  );
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > 64 * 1024) throw new Error("form too large");
    chunks.push(buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function sendHtml(response: ServerResponse, status: number, html: string): void {
  response.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
  });
  response.end(html);
}

/** The claims an account's tokens may carry; oidc-provider masks them by scope. */
function accountClaims(account: IdpAccount, subject: string, projectId: string, roleClaim: string) {
  const organization = account.organization === undefined ? DEFAULT_ORGANIZATION : account.organization;
  const roleOrg = organization ?? DEFAULT_ORGANIZATION;
  const roles = account.roles ?? [];
  const kinds = new Set(account.roleClaims ?? ["roles", "projectRoles", "flat"]);
  const rolesObject = Object.fromEntries(
    roles.map((role) => [role, { [roleOrg.id]: roleOrg.primaryDomain }]),
  );
  const name = account.name ?? account.email.split("@")[0] ?? account.email;
  const claims: Record<string, unknown> = {
    sub: subject,
    name,
    given_name: name.split(" ")[0],
    family_name: name.split(" ").slice(1).join(" ") || undefined,
    preferred_username: account.email,
    email: account.email,
    email_verified: account.emailVerified ?? true,
  };
  if (kinds.has("roles")) claims[ZITADEL_ROLES_CLAIM] = rolesObject;
  if (kinds.has("projectRoles")) claims[zitadelProjectRolesClaim(projectId)] = rolesObject;
  if (kinds.has("flat")) claims[roleClaim] = roles;
  if (organization) {
    claims[ZITADEL_ORG_ID_CLAIM] = organization.id;
    claims[ZITADEL_ORG_NAME_CLAIM] = organization.name;
    claims[ZITADEL_ORG_DOMAIN_CLAIM] = organization.primaryDomain;
  }
  return claims;
}

function clientMetadata(client: IdpClient): ClientMetadata {
  return {
    client_id: client.clientId,
    ...(client.clientSecret === undefined
      ? { token_endpoint_auth_method: "none" }
      : { client_secret: client.clientSecret, token_endpoint_auth_method: "client_secret_basic" }),
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    id_token_signed_response_alg: "RS256",
  };
}

/** base64(urlencode(id) ":" urlencode(secret)), as Zitadel expects for client_secret_basic. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString("base64")}`;
}

/** Just enough of a cookie jar to carry oidc-provider's interaction and session cookies. */
class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = header.split(";");
      const separator = pair.indexOf("=");
      if (separator <= 0) continue;
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      let path = "/";
      let expired = value === "";
      for (const attribute of attributes) {
        const [key = "", attributeValue = ""] = attribute.split("=").map((part) => part.trim());
        if (key.toLowerCase() === "path" && attributeValue) path = attributeValue;
        if (key.toLowerCase() === "max-age" && Number(attributeValue) <= 0) expired = true;
        if (key.toLowerCase() === "expires" && Date.parse(attributeValue) <= Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string {
    return [...this.cookies.values()]
      .filter(
        (cookie) => url.pathname === cookie.path || url.pathname.startsWith(cookie.path.replace(/\/?$/, "/")),
      )
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join("; ");
  }
}

export async function startZitadelIdp(options: StartZitadelIdpOptions): Promise<ZitadelIdp> {
  if (options.clients.length === 0) throw new Error("startZitadelIdp needs at least one client");
  const projectId = options.projectId ?? DEFAULT_PROJECT_ID;
  const roleClaim = options.roleClaim ?? DEFAULT_ROLE_CLAIM;
  const host = options.host ?? "127.0.0.1";
  const accounts = options.accounts.map((account) => ({
    account,
    subject: account.subject ?? subjectFor(account.email),
  }));
  const bySubject = new Map(accounts.map((entry) => [entry.subject, entry]));
  const byEmail = new Map(accounts.map((entry) => [entry.account.email.toLowerCase(), entry]));

  let handler: ((request: IncomingMessage, response: ServerResponse) => void) | undefined;
  const server: Server = createServer((request, response) => {
    if (handler) handler(request, response);
    else response.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host}:${port}`;

  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signingKey = { ...(privateKey.export({ format: "jwk" }) as JWK), use: "sig", alg: "RS256" };

  const configuration: Configuration = {
    clients: options.clients.map(clientMetadata),
    routes: { ...ZITADEL_ROUTES },
    scopes: ["openid", "offline_access", ...zitadelScopes(projectId).filter((scope) => scope !== "openid")],
    claims: {
      openid: ["sub", "amr", roleClaim],
      profile: ["name", "given_name", "family_name", "preferred_username"],
      email: ["email", "email_verified"],
      "urn:zitadel:iam:org:projects:roles": [ZITADEL_ROLES_CLAIM, zitadelProjectRolesClaim(projectId)],
      "urn:zitadel:iam:user:resourceowner": [
        ZITADEL_ORG_ID_CLAIM,
        ZITADEL_ORG_NAME_CLAIM,
        ZITADEL_ORG_DOMAIN_CLAIM,
      ],
    },
    conformIdTokenClaims: false,
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed("refresh_token") && code.scopes.has("offline_access"),
    pkce: { methods: ["S256"], required: () => true },
    responseTypes: ["code"],
    clientBasedCORS: () => true,
    jwks: { keys: [signingKey] },
    cookies: {
      keys: [randomBytes(32).toString("base64url")],
      // SameSite=None cookies need Secure, which an http issuer cannot set: use Lax (all hops of
      // the flow are top-level navigations).
      long: { httpOnly: true, sameSite: "lax" },
      short: { httpOnly: true, sameSite: "lax" },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 600,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 24 * 3600,
    },
    features: {
      devInteractions: { enabled: false },
      // Zitadel answers for any app of the project (aud holds the project id): allow every client.
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: KoaContextWithOIDC, form: string) => {
          ctx.body = page(
            "Sign out — Zitadel (NeoSC stand-in)",
            `<h1>Signing out…</h1>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" class="logout-submit">Sign out</button>
<script>document.querySelector(".logout-submit").click()</script>`,
          );
        },
        postLogoutSuccessSource: async (ctx: KoaContextWithOIDC) => {
          ctx.body = page("Signed out", "<h1>You are signed out.</h1>");
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: async (ctx, out) => {
      ctx.type = "html";
      ctx.body = page(
        "Error — Zitadel (NeoSC stand-in)",
        `<h1>Error</h1><pre data-oidc-error>${escapeHtml(JSON.stringify(out, null, 2))}</pre>`,
      );
    },
    findAccount: (_ctx, sub): Account | undefined => {
      const entry = bySubject.get(sub);
      if (!entry) return undefined;
      return {
        accountId: entry.subject,
        claims: () => accountClaims(entry.account, entry.subject, projectId, roleClaim) as { sub: string },
      };
    },
  };

  const provider = new Provider(issuer, configuration);
  if (options.logErrors !== false) {
    provider.on("server_error", (_ctx: unknown, error: Error) =>
      console.error("[zitadel-idp] server_error", error),
    );
  }
  const providerCallback = provider.callback();

  async function finishConsent(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const interaction = await provider.interactionDetails(request, response);
    const accountId = interaction.session?.accountId;
    const clientId = String(interaction.params.client_id);
    const grant = interaction.grantId
      ? ((await provider.Grant.find(interaction.grantId)) ?? new provider.Grant({ accountId, clientId }))
      : new provider.Grant({ accountId, clientId });
    const details = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(" "));
    if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(" "));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      request,
      response,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  }

  async function interactionRoute(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
  ): Promise<void> {
    const [, , uid = "", action = ""] = url.pathname.split("/");
    if (request.method === "GET" && action === "") {
      const interaction = await provider.interactionDetails(request, response);
      if (interaction.uid !== uid) throw new Error("interaction mismatch");
      if (interaction.prompt.name === "login") {
        sendHtml(response, 200, loginPage(uid, String(interaction.params.client_id), null));
        return;
      }
      await finishConsent(request, response);
      return;
    }
    if (request.method === "POST" && action === "login") {
      const interaction = await provider.interactionDetails(request, response);
      const form = await readForm(request);
      const login = (form.get("login") ?? "").trim();
      const entry = byEmail.get(login.toLowerCase());
      if (!entry || entry.account.password !== (form.get("password") ?? "")) {
        sendHtml(
          response,
          200,
          loginPage(
            interaction.uid,
            String(interaction.params.client_id),
            "Invalid email or password.",
            login,
          ),
        );
        return;
      }
      await provider.interactionFinished(
        request,
        response,
        { login: { accountId: entry.subject, amr: entry.account.amr ?? ["pwd"], remember: false } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (request.method === "GET" && action === "abort") {
      await provider.interactionFinished(
        request,
        response,
        { error: "access_denied", error_description: "the user cancelled the sign-in" },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    sendHtml(response, 404, page("Not found", "<h1>Not found</h1>"));
  }

  handler = (request, response) => {
    const url = new URL(request.url ?? "/", issuer);
    if (!url.pathname.startsWith("/interaction/")) {
      providerCallback(request, response);
      return;
    }
    interactionRoute(request, response, url).catch((error: unknown) => {
      if (options.logErrors !== false) console.error("[zitadel-idp] interaction failed", error);
      if (!response.headersSent) {
        const message = error instanceof Error ? error.message : String(error);
        sendHtml(
          response,
          400,
          page("Error", `<h1>Sign-in failed</h1><pre data-oidc-error>${escapeHtml(message)}</pre>`),
        );
      } else {
        response.end();
      }
    });
  };

  const defaultScope = ["offline_access", ...zitadelScopes(projectId)].join(" ");
  const clientsById = new Map(options.clients.map((client) => [client.clientId, client]));
  const firstClient = options.clients[0] as IdpClient;

  function authorizationUrl(request: AuthorizationRequest): string {
    const url = new URL(ZITADEL_ROUTES.authorization, issuer);
    url.searchParams.set("client_id", request.clientId ?? firstClient.clientId);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("redirect_uri", request.redirectUri);
    url.searchParams.set("scope", request.scope ?? defaultScope);
    url.searchParams.set("code_challenge", request.codeChallenge);
    url.searchParams.set("code_challenge_method", "S256");
    if (request.nonce !== undefined) url.searchParams.set("nonce", request.nonce);
    if (request.state !== undefined) url.searchParams.set("state", request.state);
    // offline_access is only honoured with prompt=consent (oidc-provider); consent is automatic here.
    url.searchParams.set("prompt", request.prompt ?? "consent");
    return url.href;
  }

  async function obtainAuthorizationCode(codeOptions: ObtainCodeOptions): Promise<string> {
    const jar = new CookieJar();
    const redirectTarget = new URL(codeOptions.redirectUri);
    let url = new URL(authorizationUrl(codeOptions));
    let init: RequestInit = { method: "GET" };
    let submittedLogin = false;
    for (let hop = 0; hop < 12; hop++) {
      const headers = new Headers(init.headers);
      const cookie = jar.header(url);
      if (cookie) headers.set("cookie", cookie);
      const response = await fetch(url, { ...init, headers, redirect: "manual" });
      jar.store(response);
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        const next = new URL(location, url);
        if (next.origin === redirectTarget.origin && next.pathname === redirectTarget.pathname) {
          const error = next.searchParams.get("error");
          if (error) {
            throw new Error(
              `authorization failed: ${error} ${next.searchParams.get("error_description") ?? ""}`,
            );
          }
          const code = next.searchParams.get("code");
          if (!code) throw new Error("the redirect carries no code");
          if (codeOptions.state !== undefined && next.searchParams.get("state") !== codeOptions.state) {
            throw new Error("the redirect carries the wrong state");
          }
          return code;
        }
        url = next;
        init = { method: "GET" };
        continue;
      }
      const body = await response.text();
      if (response.status === 200 && body.includes("data-login-form")) {
        if (submittedLogin) throw new Error(`login rejected for ${codeOptions.email}`);
        submittedLogin = true;
        url = new URL(`${url.pathname.replace(/\/$/, "")}/login`, url);
        init = {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ login: codeOptions.email, password: codeOptions.password }).toString(),
        };
        continue;
      }
      throw new Error(`unexpected ${response.status} from ${url.pathname}: ${body.slice(0, 500)}`);
    }
    throw new Error("too many redirects while signing in");
  }

  async function obtainTokens(tokenOptions: ObtainTokensOptions): Promise<IdpTokens> {
    const client = clientsById.get(tokenOptions.clientId ?? firstClient.clientId);
    if (!client) throw new Error(`unknown client ${tokenOptions.clientId}`);
    const redirectUri = tokenOptions.redirectUri ?? client.redirectUris[0];
    if (!redirectUri) throw new Error(`client ${client.clientId} has no redirect URI`);
    const { codeVerifier, codeChallenge } = createPkcePair();
    const code = await obtainAuthorizationCode({
      ...tokenOptions,
      clientId: client.clientId,
      redirectUri,
      codeChallenge,
    });
    const body = new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: codeVerifier,
    });
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (client.clientSecret === undefined) body.set("client_id", client.clientId);
    else headers.authorization = basicAuthorization(client.clientId, client.clientSecret);
    const response = await fetch(new URL(ZITADEL_ROUTES.token, issuer), { method: "POST", headers, body });
    const json = (await response.json()) as Record<string, unknown>;
    if (!response.ok || typeof json.id_token !== "string" || typeof json.access_token !== "string") {
      throw new Error(`token request failed (${response.status}): ${JSON.stringify(json)}`);
    }
    return {
      idToken: json.id_token,
      accessToken: json.access_token,
      refreshToken: typeof json.refresh_token === "string" ? json.refresh_token : null,
      code,
      codeVerifier,
      redirectUri,
    };
  }

  return {
    issuer,
    port,
    projectId,
    scopes: zitadelScopes(projectId),
    provider,
    authorizationUrl,
    obtainAuthorizationCode,
    obtainTokens,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
