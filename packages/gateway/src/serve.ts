import type { Server } from "node:http";
import { createPomeriumVerifier } from "@neosc/auth/pomerium";
import { SESSION_COOKIE } from "@neosc/core/auth";
import { GATEWAY_PATH } from "@neosc/core/connection";
import type { Database } from "@neosc/db/database";
import { type EndpointResolver, storedEndpoints } from "./endpoint.ts";
import { createGateway, type Gateway, type GatewayLogger } from "./gateway.ts";
import type { RecordingStore } from "./recording.ts";
import type { WebProxy } from "./web-proxy.ts";

/*
 * The gateway as a process serves it from its configuration: the API embeds it on its own HTTP
 * server, apps/gateway runs it alone. Both read the same variables (README, Configuration), so
 * they turn them into gateway options here, once.
 */

/** The parsed variables the gateway reads, as both processes' env.ts produce them. */
export interface GatewayVariables {
  NEOSC_PORTAL_ORIGINS: readonly string[];
  NEOSC_POMERIUM_JWKS_URL?: string | undefined;
  NEOSC_POMERIUM_AUDIENCES: readonly string[];
  NEOSC_POMERIUM_ISSUERS: readonly string[];
  NEOSC_GATEWAY_MAX_CONNECTIONS_PER_SESSION: number;
}

export interface ServeGatewayOptions {
  db: Database;
  /** Where running workspaces listen (default: the endpoints hosts stored with the sessions). */
  endpoints?: EndpointResolver | undefined;
  /** The API's session secret: a ticket then needs its login's cookie (null: Pomerium alone). */
  sessionSecret: string | null;
  /** Origins besides the portal's that may open connections (the API's own public URL). */
  ownOrigins?: readonly string[];
  logger: GatewayLogger;
  /** The recordings folder (`NEOSC_RECORDINGS_DIR`); the API reads the same one. */
  recordings: RecordingStore | null;
  /** Web apps' WebSockets go to their session's app through the web proxy. */
  webProxy?: WebProxy;
}

export function serveGateway(server: Server, env: GatewayVariables, options: ServeGatewayOptions): Gateway {
  const gateway = createGateway({
    db: options.db,
    endpoints: options.endpoints ?? storedEndpoints(options.db),
    allowedOrigins: new Set(
      [...(options.ownOrigins ?? []), ...env.NEOSC_PORTAL_ORIGINS].map((origin) => new URL(origin).origin),
    ),
    pomerium:
      env.NEOSC_POMERIUM_JWKS_URL === undefined
        ? null
        : createPomeriumVerifier({
            jwksUrl: env.NEOSC_POMERIUM_JWKS_URL,
            audiences: env.NEOSC_POMERIUM_AUDIENCES,
            issuers: env.NEOSC_POMERIUM_ISSUERS,
          }),
    loginCookie:
      options.sessionSecret === null ? null : { name: SESSION_COOKIE, secret: options.sessionSecret },
    maxConnectionsPerSession: env.NEOSC_GATEWAY_MAX_CONNECTIONS_PER_SESSION,
    logger: options.logger,
    recordings: options.recordings,
  });
  // The WebSocket upgrade never reaches an HTTP handler: only the gateway's path is upgraded.
  server.on("upgrade", (request, socket, head) => {
    if (options.webProxy?.handleUpgrade(request, socket, head)) return;
    if ((request.url ?? "/").split("?")[0] === GATEWAY_PATH) gateway.handleUpgrade(request, socket, head);
    else socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  return gateway;
}
