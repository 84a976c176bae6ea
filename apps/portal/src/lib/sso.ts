import { OidcClient, WebStorageStateStore } from "oidc-client-ts";
import { safeNextPath } from "./next-path.ts";

export interface SsoSettings {
  issuer: string;
  clientId: string;
  scopes: readonly string[];
}

export const SSO_CALLBACK_PATH = "/auth/callback";

function clientFor(settings: SsoSettings): OidcClient {
  const scopes = settings.scopes.length > 0 ? settings.scopes : ["openid", "profile", "email"];
  return new OidcClient({
    authority: settings.issuer,
    client_id: settings.clientId,
    redirect_uri: `${window.location.origin}${SSO_CALLBACK_PATH}`,
    response_type: "code",
    scope: scopes.join(" "),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Starts authorization code + PKCE: the verifier stays in this tab's sessionStorage. */
export async function startSsoSignIn(settings: SsoSettings, next: string): Promise<void> {
  const request = await clientFor(settings).createSigninRequest({ nonce: randomNonce(), state: { next } });
  window.location.assign(request.url);
}

export interface SsoCallbackResult {
  code: string;
  codeVerifier: string;
  redirectUri: string;
  nonce?: string;
  next: string;
}

/**
 * Reads the IdP's answer on the callback URL and the PKCE state saved before the redirect. The
 * code is exchanged by the backend (`auth.tokenExchange`), never in the browser.
 */
export async function readSsoCallback(settings: SsoSettings, url: string): Promise<SsoCallbackResult> {
  const { state, response } = await clientFor(settings).readSigninResponseState(url, true);
  if (response.error) throw new Error(response.error_description ?? response.error);
  if (!response.code || !state.code_verifier) throw new Error("the identity provider returned no code");
  const data = state.data as { next?: unknown } | undefined;
  return {
    code: response.code,
    codeVerifier: state.code_verifier,
    redirectUri: state.redirect_uri,
    ...(state.nonce ? { nonce: state.nonce } : {}),
    next: safeNextPath(typeof data?.next === "string" ? data.next : "/"),
  };
}
