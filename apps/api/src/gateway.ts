import type { Server } from "node:http";
import { createPomeriumVerifier } from "@neosc/auth/pomerium";
import { GATEWAY_PATH } from "@neosc/core/connection";
import type { Database } from "@neosc/db/database";
import { type EndpointResolver, storedEndpoints } from "@neosc/gateway/endpoint";
import { createGateway, type Gateway } from "@neosc/gateway/gateway";
import type { Logger } from "pino";
import type { Env } from "./env.ts";
import { SESSION_COOKIE } from "./http-security.ts";

/*
 * The embedded default serves the workspace gateway on the API's own HTTP server, at
 * `/gateway/connect` (the WebSocket upgrade never reaches Express). `apps/gateway` runs the
 * same gateway as its own process for production.
 */

export function mountGateway(
  server: Server,
  options: { db: Database; env: Env; sessionSecret: string; logger: Logger; endpoints?: EndpointResolver },
): Gateway {
  const { env } = options;
  const gateway = createGateway({
    db: options.db,
    endpoints: options.endpoints ?? storedEndpoints(options.db),
    allowedOrigins: new Set([
      new URL(env.NEOSC_PUBLIC_URL).origin,
      ...env.NEOSC_PORTAL_ORIGINS.map((origin) => new URL(origin).origin),
    ]),
    pomerium:
      env.NEOSC_POMERIUM_JWKS_URL === undefined
        ? null
        : createPomeriumVerifier({
            jwksUrl: env.NEOSC_POMERIUM_JWKS_URL,
            audiences: env.NEOSC_POMERIUM_AUDIENCES,
            ...(env.NEOSC_POMERIUM_ISSUERS.length === 0 ? {} : { issuers: env.NEOSC_POMERIUM_ISSUERS }),
          }),
    loginCookie: { name: SESSION_COOKIE, secret: options.sessionSecret },
    maxConnectionsPerSession: env.NEOSC_GATEWAY_MAX_CONNECTIONS_PER_SESSION,
    logger: options.logger.child({ component: "gateway" }),
  });
  server.on("upgrade", (request, socket, head) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === GATEWAY_PATH) gateway.handleUpgrade(request, socket, head);
    else socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  return gateway;
}
