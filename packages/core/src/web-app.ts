/*
 * Where a web workspace's session is served (ARCHITECTURE §9): every session of a web app gets
 * its own origin under the apps domain (`<sessionId>.apps.example.com`), so that the app's
 * scripts and cookies are walled off from the portal and from every other session by the
 * browser's same-origin rule. Path mode (`/apps/<sessionId>/…` on the portal's own origin) is for
 * local development only: there the app shares the portal's origin (README, "Web apps").
 */

export type AppsAddressing =
  /** `<scheme>://<sessionId>.<domain>`; `domain` may carry a port (`apps.localhost:8080`). */
  | { mode: "host"; scheme: "http" | "https"; domain: string }
  /** `<origin>/apps/<sessionId>`: the portal's origin. */
  | { mode: "path"; origin: string };

/** Where a session's ticket is exchanged for its cookie (POST, form field `ticket`). */
export const APP_ENTRY_PATH = "/.neosc/enter";
export const APP_PATH_PREFIX = "/apps/";
/** The browser form field that carries the ticket to the entry (never the URL: URLs end up in logs). */
export const APP_TICKET_FIELD = "ticket";

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The session's base URL, without a trailing slash: its origin, or the origin plus `/apps/<id>`. */
export function appBaseUrl(addressing: AppsAddressing, sessionId: string): string {
  return addressing.mode === "host"
    ? `${addressing.scheme}://${sessionId}.${addressing.domain}`
    : `${addressing.origin}${APP_PATH_PREFIX}${sessionId}`;
}

/** The origin a session's pages run on (what the browser sends as `Origin` from them). */
export function appOrigin(addressing: AppsAddressing, sessionId: string): string {
  return addressing.mode === "host" ? appBaseUrl(addressing, sessionId) : addressing.origin;
}

/** For the portal's CSP (`frame-src`, `form-action`): every session origin. */
export function appsSource(addressing: AppsAddressing): string {
  return addressing.mode === "host" ? `${addressing.scheme}://*.${addressing.domain}` : "'self'";
}

/**
 * The session a request is for and the path the app sees, or null when the request is not for a
 * session origin (the caller serves it as usual). Host mode matches the Host header; path mode
 * strips `/apps/<sessionId>`.
 */
export function parseAppRequest(
  addressing: AppsAddressing,
  host: string | undefined,
  url: string,
): { sessionId: string; path: string } | null {
  if (addressing.mode === "host") {
    const suffix = `.${addressing.domain.toLowerCase()}`;
    const requested = (host ?? "").toLowerCase();
    if (!requested.endsWith(suffix)) return null;
    const label = requested.slice(0, -suffix.length);
    if (!SESSION_ID.test(label)) return null;
    return { sessionId: label, path: url.startsWith("/") ? url : `/${url}` };
  }
  if (!url.startsWith(APP_PATH_PREFIX)) return null;
  const rest = url.slice(APP_PATH_PREFIX.length);
  const cut = rest.search(/[/?#]/);
  const label = (cut === -1 ? rest : rest.slice(0, cut)).toLowerCase();
  if (!SESSION_ID.test(label)) return null;
  const path = cut === -1 ? "/" : rest.slice(cut);
  return { sessionId: label, path: path.startsWith("/") ? path : `/${path}` };
}

/**
 * `NEOSC_APPS_DOMAIN` read against the public URL: a domain (`apps.portal.example.com`, with the
 * public URL's scheme), the word `path`, or nothing: `apps.localhost:<port>` when the portal is on
 * `localhost` (browsers resolve `*.localhost` to loopback, so each session gets a real origin
 * without DNS), path mode otherwise.
 */
export function appsAddressingFor(domain: string | undefined, publicUrl: URL): AppsAddressing {
  const scheme = publicUrl.protocol === "https:" ? "https" : "http";
  if (domain === "path") return { mode: "path", origin: publicUrl.origin };
  if (domain !== undefined) return { mode: "host", scheme, domain: domain.toLowerCase() };
  if (publicUrl.hostname === "localhost") {
    return { mode: "host", scheme, domain: `apps.localhost${publicUrl.port ? `:${publicUrl.port}` : ""}` };
  }
  return { mode: "path", origin: publicUrl.origin };
}

/** A host's site as browsers group them: a loopback name or address itself, else its last two labels. */
function siteOf(hostname: string): string {
  if (hostname === "localhost" || /^[\d.]+$/.test(hostname) || hostname.includes(":")) return hostname;
  return hostname.split(".").slice(-2).join(".");
}

/**
 * Whether the session origins are another site than the portal (`*.apps.localhost` beside
 * `localhost`): the portal's frame is then a third-party context and the session cookie must be
 * `SameSite=None; Secure; Partitioned`. Two labels approximate the registrable domain; a portal
 * and an apps domain under one public suffix such as `co.uk` would be wrongly taken as one site.
 */
export function appsAreCrossSite(addressing: AppsAddressing, portal: URL): boolean {
  if (addressing.mode === "path") return false;
  const appsHost = addressing.domain.replace(/:\d+$/, "");
  return siteOf(appsHost) !== siteOf(portal.hostname) || appsHost.endsWith(".localhost");
}
