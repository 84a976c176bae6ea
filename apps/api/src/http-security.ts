import type { NextFunction, Request, Response } from "express";

/*
 * Browser-facing protections of the HTTP host: security headers, CORS for the configured portal
 * origins only, and CSRF defence for cookie-authenticated mutations.
 */

export const CSRF_HEADER = "x-neosc-csrf";

export interface SecurityOptions {
  /** Public origin of the API/portal (`https:` turns on HSTS and Secure cookies). */
  publicUrl: URL;
  /** Origins allowed to call `/trpc` from a browser with credentials. */
  allowedOrigins: ReadonlySet<string>;
  /** Extra origins the SPA may talk to (the OIDC issuer for its PKCE flow). */
  connectOrigins: readonly string[];
  /** Web apps' session origins (`http://*.apps.localhost:8080`): the portal frames them. */
  appOrigins?: readonly string[];
}

export function isHttps(options: Pick<SecurityOptions, "publicUrl">): boolean {
  return options.publicUrl.protocol === "https:";
}

export function securityHeaders(options: SecurityOptions) {
  const connect = ["'self'", ...options.connectOrigins].join(" ");
  const apps = options.appOrigins ?? [];
  const csp = [
    "default-src 'self'",
    // WebAssembly only (not JS eval): the terminal replay's asciinema-player runs its VT in wasm.
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src ${connect}`,
    "object-src 'none'",
    "base-uri 'self'",
    `form-action 'self' ${options.connectOrigins.join(" ")}`.trim(),
    `frame-src ${apps.length === 0 ? "'none'" : apps.join(" ")}`,
    "frame-ancestors 'none'",
  ].join("; ");
  const hsts = isHttps(options);
  return (_request: Request, response: Response, next: NextFunction) => {
    response.setHeader("Content-Security-Policy", csp);
    response.setHeader("X-Content-Type-Options", "nosniff");
    response.setHeader("X-Frame-Options", "DENY");
    response.setHeader("Referrer-Policy", "no-referrer");
    response.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    response.setHeader("Cross-Origin-Resource-Policy", "same-origin");
    response.setHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
    if (hsts) response.setHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    next();
  };
}

/** CORS for `/trpc`: only the configured origins, with credentials; other origins get nothing. */
export function cors(options: SecurityOptions) {
  return (request: Request, response: Response, next: NextFunction) => {
    const origin = request.get("origin");
    response.vary("Origin");
    const allowed = origin !== undefined && options.allowedOrigins.has(origin);
    if (allowed) {
      response.setHeader("Access-Control-Allow-Origin", origin);
      response.setHeader("Access-Control-Allow-Credentials", "true");
    }
    if (request.method !== "OPTIONS") {
      next();
      return;
    }
    if (!allowed) {
      response.status(403).end();
      return;
    }
    response.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    response.setHeader(
      "Access-Control-Allow-Headers",
      `content-type, authorization, ${CSRF_HEADER}, x-request-id, trpc-accept`,
    );
    response.setHeader("Access-Control-Max-Age", "600");
    response.status(204).end();
  };
}

export type CsrfVerdict = { ok: true } | { ok: false; why: string };

/**
 * Same-origin: the page's Origin names the host the request was sent to. Browsers set Origin
 * themselves, so a foreign page cannot claim ours; this is what lets the portal work on any port
 * or address it is opened on (`127.0.0.1`, a LAN name) without listing each one.
 */
function isSameOrigin(request: Request, origin: string): boolean {
  try {
    return new URL(origin).host === request.get("host");
  } catch {
    return false;
  }
}

/**
 * A mutation riding on the session cookie must prove it came from our own pages: either it is
 * JSON (which a cross-site form cannot send) from our own or an allowed Origin — or with no Origin at all,
 * which browsers always send on cross-site POSTs — or it carries the custom CSRF header, which
 * a cross-site page cannot add without a CORS preflight we refuse. Bearer clients are not
 * exposed to CSRF and pass.
 */
export function checkCsrf(request: Request, options: SecurityOptions): CsrfVerdict {
  if (request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS")
    return { ok: true };
  if (/^bearer\s/i.test(request.get("authorization") ?? "")) return { ok: true };
  const origin = request.get("origin");
  if (origin !== undefined && !options.allowedOrigins.has(origin) && !isSameOrigin(request, origin)) {
    return { ok: false, why: `origin ${origin} is not allowed` };
  }
  if (request.get(CSRF_HEADER) !== undefined) return { ok: true };
  if (!request.is("application/json"))
    return { ok: false, why: "a mutation must be sent as application/json" };
  return { ok: true };
}

/** Reads one cookie without a parser dependency; malformed encodings are ignored. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index === -1 || part.slice(0, index).trim() !== name) continue;
    const raw = part.slice(index + 1).trim();
    try {
      return decodeURIComponent(raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
