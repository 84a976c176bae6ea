import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { appsAreCrossSite } from "@neosc/core/web-app";
import { connectDatabase } from "@neosc/db/database";
import type { EndpointResolver } from "@neosc/gateway/endpoint";
import { createRecordingStore } from "@neosc/gateway/recording";
import { serveGateway } from "@neosc/gateway/serve";
import { createWebProxy } from "@neosc/gateway/web-proxy";
import { handleHostAgentRequest } from "@neosc/host/agent";
import { hostDrivers } from "@neosc/host/drivers";
import { startWorkspaceHost, type WorkspaceHost } from "@neosc/host/host";
import { kubernetesDriverFor } from "@neosc/provisioner-kubernetes/from-env";
import { type Logger, pino } from "pino";
import type { GatewayEnv } from "./env.ts";

/*
 * The gateway as its own process (production: behind Pomerium at `workspace.portal.<domain>`,
 * any number of replicas on one database). Health endpoints answer plain HTTP; everything else
 * is the WebSocket upgrade at /gateway/connect.
 */

export interface RunningGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface StartGatewayOptions {
  logger?: Logger;
  /** Where running workspaces listen (the workspace host this process runs, or the host registry). */
  endpoints?: EndpointResolver;
}

export function createLogger(level: GatewayEnv["LOG_LEVEL"]): Logger {
  return pino({
    level,
    base: { service: "neosc-gateway" },
    redact: { paths: ["req.headers.cookie", 'req.headers["sec-websocket-protocol"]'], censor: "[redacted]" },
  });
}

export async function startGateway(
  env: GatewayEnv,
  options: StartGatewayOptions = {},
): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const connection = await connectDatabase({
    url: env.MONGO_URL,
    ...(env.MONGO_DB_NAME === undefined ? {} : { dbName: env.MONGO_DB_NAME }),
    appName: "neosc-gateway",
  });
  let host: WorkspaceHost | null = null;
  try {
    host = env.NEOSC_WORKSPACE_HOST
      ? await startWorkspaceHost({
          db: connection.db,
          drivers: hostDrivers(path.resolve(env.NEOSC_DATA_DIR), {
            kubernetes: await kubernetesDriverFor(env),
          }),
          stateDir: path.resolve(env.NEOSC_DATA_DIR),
          capacity: env.NEOSC_HOST_CAPACITY,
          warmLimit: env.NEOSC_HOST_WARM_LIMIT,
          ...(env.NEOSC_HOST_NAME === undefined ? {} : { name: env.NEOSC_HOST_NAME }),
          ...(env.NEOSC_HOST_URL === undefined ? {} : { url: env.NEOSC_HOST_URL }),
          logger: logger.child({ component: "workspace-host" }),
        })
      : null;
  } catch (error) {
    await connection.close();
    throw error;
  }
  const workspaceHost = host;
  let draining = false;
  // Web apps' session hosts (production: https, behind Pomerium's wildcard route) are the web proxy's.
  const portal = new URL(env.NEOSC_PORTAL_ORIGINS[0] ?? "https://portal.invalid");
  const apps =
    env.NEOSC_APPS_DOMAIN === undefined || env.NEOSC_SESSION_SECRET === undefined
      ? null
      : {
          mode: "host" as const,
          scheme: portal.protocol === "http:" ? ("http" as const) : ("https" as const),
          domain: env.NEOSC_APPS_DOMAIN.toLowerCase(),
        };
  // Desktops' and terminals' recordings and web apps' access logs, in one folder (a volume).
  const recordings = createRecordingStore(
    path.resolve(env.NEOSC_RECORDINGS_DIR ?? path.join(env.NEOSC_DATA_DIR, "recordings")),
  );
  const webProxy =
    apps === null || env.NEOSC_SESSION_SECRET === undefined
      ? undefined
      : createWebProxy({
          db: connection.db,
          addressing: apps,
          portalOrigins: env.NEOSC_PORTAL_ORIGINS.map((origin) => new URL(origin).origin),
          cookieSecret: env.NEOSC_SESSION_SECRET,
          pomerium: null,
          crossSite: appsAreCrossSite(apps, portal),
          logger,
          recordings,
        });
  const server: Server = createServer((request, response) => {
    if (webProxy?.handleRequest(request, response)) return;
    if (workspaceHost !== null && env.NEOSC_HOST_TOKEN !== undefined) {
      if (handleHostAgentRequest(workspaceHost, env.NEOSC_HOST_TOKEN, request, response)) return;
    }
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      response.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
      return;
    }
    if (path === "/readyz") {
      if (draining) {
        response.writeHead(503, { "content-type": "application/json" }).end('{"status":"unavailable"}');
        return;
      }
      connection.ping().then(
        () => response.writeHead(200, { "content-type": "application/json" }).end('{"status":"ready"}'),
        () => response.writeHead(503, { "content-type": "application/json" }).end('{"status":"unavailable"}'),
      );
      return;
    }
    response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}');
  });
  const gateway = serveGateway(server, env, {
    db: connection.db,
    endpoints: options.endpoints,
    sessionSecret: env.NEOSC_SESSION_SECRET ?? null,
    logger,
    recordings,
    ...(webProxy === undefined ? {} : { webProxy }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(env.PORT, env.HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const listenHost = env.HOST === "0.0.0.0" || env.HOST === "::" ? "127.0.0.1" : env.HOST;
  const url = `http://${listenHost}:${port}`;
  logger.info({ url }, "neosc gateway listening");

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    close() {
      closing ??= (async () => {
        draining = true;
        await gateway.close();
        await webProxy?.close();
        await workspaceHost?.close();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), env.NEOSC_SHUTDOWN_TIMEOUT_MS);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
        await connection.close();
      })();
      return closing;
    },
  };
}
