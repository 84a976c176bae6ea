// Static server of the portal container: serves the built SPA (with fallback to index.html) and
// a /config.json generated from the environment at start, so one image runs on any domain.
// Node built-ins only; runs as an unprivileged user on a read-only file system.
//
// Environment:
//   PORT (3000), HOST (0.0.0.0), NEOSC_PORTAL_ROOT (./public beside this file)
//   NEOSC_API_BASE_URL   origin of the API, e.g. https://api.portal.example.com ("" = same origin)
//   NEOSC_SSO_ISSUER, NEOSC_SSO_CLIENT_ID, NEOSC_SSO_SCOPES (space- or comma-separated)
//     optional SSO override for the sign-in page; unset = the portal asks the API (auth.config)
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

class ConfigError extends Error {}

/** Reads the environment once; throws ConfigError naming the variable on a bad value. */
export function readConfig(env) {
  const port = Number(env.PORT ?? "3000");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError("PORT: a port number");
  const apiBaseUrl = (env.NEOSC_API_BASE_URL ?? "").trim().replace(/\/+$/, "");
  if (apiBaseUrl !== "" && !isHttpOrigin(apiBaseUrl)) {
    throw new ConfigError("NEOSC_API_BASE_URL: an http(s) origin such as https://api.portal.example.com");
  }
  const issuer = (env.NEOSC_SSO_ISSUER ?? "").trim();
  const clientId = (env.NEOSC_SSO_CLIENT_ID ?? "").trim();
  if ((issuer === "") !== (clientId === "")) {
    throw new ConfigError("NEOSC_SSO_ISSUER and NEOSC_SSO_CLIENT_ID: set both or neither");
  }
  if (issuer !== "" && !isHttpUrl(issuer)) throw new ConfigError("NEOSC_SSO_ISSUER: an https URL");
  const scopes = (env.NEOSC_SSO_SCOPES ?? "").split(/[\s,]+/).filter(Boolean);
  const runtime = {
    apiBaseUrl,
    sso: issuer === "" ? null : { issuer, clientId, ...(scopes.length > 0 ? { scopes } : {}) },
  };
  const here = fileURLToPath(new URL(".", import.meta.url));
  return {
    host: env.HOST ?? "0.0.0.0",
    port,
    root: resolve(env.NEOSC_PORTAL_ROOT ?? join(here, "public")),
    runtime,
    headers: securityHeaders(runtime),
  };
}

function isHttpUrl(value) {
  try {
    return ["http:", "https:"].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

function isHttpOrigin(value) {
  return isHttpUrl(value) && new URL(value).origin === value;
}

function securityHeaders(runtime) {
  const origins = [runtime.apiBaseUrl, runtime.sso ? new URL(runtime.sso.issuer).origin : ""].filter(Boolean);
  return {
    "Content-Security-Policy": [
      "default-src 'self'",
      // WebAssembly only (not JS eval): the terminal replay's asciinema-player runs its VT in wasm.
      "script-src 'self' 'wasm-unsafe-eval'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "font-src 'self' data:",
      `connect-src ${["'self'", ...origins].join(" ")}`,
      "object-src 'none'",
      "base-uri 'self'",
      `form-action ${["'self'", ...origins].join(" ")}`,
      "frame-ancestors 'none'",
    ].join("; "),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
  };
}

/** Maps a URL path to a file under root, or null when it would leave root or names a dotfile. */
function filePath(root, pathname) {
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const relative = normalize(decoded).replace(/^([/\\])+/, "");
  if (relative.split(/[/\\]/).some((part) => part.startsWith("."))) return null;
  const full = resolve(root, relative);
  return full === root || full.startsWith(root + sep) ? full : null;
}

async function regularFile(path) {
  try {
    const info = await stat(path);
    return info.isFile() ? info : null;
  } catch {
    return null;
  }
}

export function createPortalServer(config) {
  const configJson = `${JSON.stringify(config.runtime)}\n`;
  const send = (response, status, headers, body) => {
    response.writeHead(status, { ...config.headers, ...headers });
    response.end(body);
  };

  return createServer(async (request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      send(
        response,
        405,
        { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" },
        "method not allowed\n",
      );
      return;
    }
    const { pathname } = new URL(request.url ?? "/", "http://portal.invalid");
    const body = (text) => (request.method === "HEAD" ? undefined : text);

    if (pathname === "/healthz") {
      send(
        response,
        200,
        { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
        body("ok\n"),
      );
      return;
    }
    if (pathname === "/config.json") {
      send(response, 200, { "Content-Type": MIME[".json"], "Cache-Control": "no-store" }, body(configJson));
      return;
    }

    const candidate = filePath(config.root, pathname);
    let path = candidate;
    let info = candidate ? await regularFile(candidate) : null;
    if (!info && candidate && extname(pathname) === "") {
      // Client-side routes (/workspaces, /admin/audit …) get the app shell.
      path = join(config.root, "index.html");
      info = await regularFile(path);
    }
    if (!info || !path) {
      send(response, 404, { "Content-Type": "text/plain; charset=utf-8" }, body("not found\n"));
      return;
    }
    const immutable = pathname.startsWith("/assets/");
    response.writeHead(200, {
      ...config.headers,
      "Content-Type": MIME[extname(path).toLowerCase()] ?? "application/octet-stream",
      "Content-Length": info.size,
      "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    });
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    createReadStream(path)
      .on("error", () => response.destroy())
      .pipe(response);
  });
}

function main() {
  let config;
  try {
    // biome-ignore lint/style/noProcessEnv: the container entrypoint takes its settings from the environment.
    config = readConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`neosc-portal: invalid configuration: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const server = createPortalServer(config);
  server.listen(config.port, config.host, () => {
    const address = server.address();
    console.log(JSON.stringify({ msg: "portal listening", port: address.port, root: config.root }));
  });
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
