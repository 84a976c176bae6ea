import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAuditSigningKey } from "@neosc/auth/audit-signing";
import { createZitadelClient } from "@neosc/auth/oidc";
import { preparePasswordHashing } from "@neosc/auth/password";
import { appsAddressingFor, appsAreCrossSite } from "@neosc/core/web-app";
import { connectDatabase, type DatabaseConnection } from "@neosc/db/database";
import { type LocalServer, SLOW_SCAN_AT_DOCUMENTS, startLocalServer } from "@neosc/db/local-server";
import type { EndpointResolver } from "@neosc/gateway/endpoint";
import { type InspectorApp, startInspectorApp } from "@neosc/gateway/inspector-app";
import { createRecordingStore } from "@neosc/gateway/recording";
import { serveGateway } from "@neosc/gateway/serve";
import { createWebProxy } from "@neosc/gateway/web-proxy";
import { createHostClient } from "@neosc/host/client";
import { hostDrivers } from "@neosc/host/drivers";
import { startWorkspaceHost } from "@neosc/host/host";
import type { Provisioner } from "@neosc/provisioner/provisioner";
import { kubernetesDriverFor } from "@neosc/provisioner-kubernetes/from-env";
import type { RouterConfig } from "@neosc/router/context";
import { startCheckpointer } from "@neosc/router/domain/audit/checkpoints";
import { startRecordingSweeper } from "@neosc/router/domain/recordings/recordings";
import { startSweeper } from "@neosc/router/domain/sessions/sweeper";
import { type Logger, pino } from "pino";
import { createApp } from "./app.ts";
import { createAuthServices, oidcServiceFor, passwordHasher, pomeriumVerifierFor } from "./auth-services.ts";
import {
  type BootstrapOutcome,
  bootstrapDatabase,
  persistentAuditSigningKey,
  persistentSessionSecret,
} from "./bootstrap.ts";
import type { Env } from "./env.ts";
import { humanLogDestination } from "./log-format.ts";
import { createMetrics, createMetricsServer } from "./metrics.ts";

export interface RunningServer {
  /** e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  /** The internal metrics listener, when enabled. */
  metricsUrl: string | null;
  /** Whether this process launched the embedded database. */
  embeddedDatabase: boolean;
  /** What the start did about the first admin (the ready banner says how to sign in from it). */
  bootstrap: BootstrapOutcome;
  /** Stops accepting, drains open requests, closes the database and stops an embedded one. */
  close(): Promise<void>;
}

export interface StartServerOptions {
  logger?: Logger;
  /** Where the one-time bootstrap password notice goes (default standard output). */
  announce?: (text: string) => void;
  /** Where the gateway finds running workspaces (the in-process workspace host's provisioner). */
  endpoints?: EndpointResolver;
  /** The Kubernetes driver instead of the one NEOSC_KUBERNETES configures (tests wrap the real one). */
  kubernetes?: Provisioner;
}

/** JSON lines on standard output; `pretty`: human lines (a person watching a terminal). */
export function createLogger(level: Env["LOG_LEVEL"], pretty = false): Logger {
  const options = {
    level,
    base: { service: "neosc-api" },
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'req.headers["x-pomerium-jwt-assertion"]',
        'res.headers["set-cookie"]',
        "password",
        "token",
        "*.password",
        "*.token",
      ],
      censor: "[redacted]",
    },
  };
  return pretty ? pino(options, humanLogDestination(process.stdout)) : pino(options);
}

/** `100kb` → bytes. */
export function parseByteSize(value: string): number {
  const match = /^(\d+)(b|kb|mb)$/i.exec(value);
  if (match === null) throw new RangeError(`not a size: ${value}`);
  const units: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };
  return Number(match[1]) * (units[(match[2] ?? "b").toLowerCase()] ?? 1);
}

/** The built portal next to this app: `apps/portal/dist` from `apps/api/src` or `apps/api/dist`. */
function defaultPortalDist(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../portal/dist");
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function displayHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * The request inspector on loopback, the default catalogue's internal web app. A port already in
 * use (a second instance on this machine) leaves it to the instance that has it.
 */
async function startInspector(port: number, logger: Logger): Promise<InspectorApp | null> {
  if (port === 0) return null;
  try {
    const inspector = await startInspectorApp({ host: "127.0.0.1", port });
    logger.info({ url: inspector.url }, "request inspector listening");
    return inspector;
  } catch (error) {
    logger.warn({ err: error, port }, "request inspector not started");
    return null;
  }
}

/** Starts the API (and, without MONGO_URL, the embedded database) from parsed configuration. */
export async function startServer(env: Env, options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const dataDir = path.resolve(env.NEOSC_DATA_DIR);
  let local: LocalServer | null = null;
  let connection: DatabaseConnection | null = null;
  try {
    let mongoUrl = env.MONGO_URL;
    if (mongoUrl === undefined) {
      logger.info({ dataDir: path.join(dataDir, "db") }, "no MONGO_URL: starting the embedded database");
      local = await startLocalServer({
        mode: "persistent",
        dataDir: path.join(dataDir, "db"),
        log: (line) => logger.info({ component: "database" }, line),
      });
      mongoUrl = local.url;
    }
    connection = await connectDatabase({
      url: mongoUrl,
      ...(env.MONGO_DB_NAME === undefined ? {} : { dbName: env.MONGO_DB_NAME }),
      maxPoolSize: env.MONGO_POOL_SIZE,
      serverSelectionTimeoutMS: env.MONGO_SERVER_SELECTION_TIMEOUT_MS,
      appName: "neosc-api",
    });
    const { db } = connection;
    if (local !== null && local.engine !== "mongod") {
      const slowAt = SLOW_SCAN_AT_DOCUMENTS[local.engine];
      const large = await connection.collectionsOver(slowAt);
      if (large.length > 0) {
        logger.warn(
          { collections: large, engine: local.engine, slowAtDocuments: slowAt },
          `the embedded database holds ${large.map((size) => `${size.documents} ${size.collection}`).join(", ")}: past ${slowAt} documents FerretDB on ${local.engine === "sqlite" ? "SQLite" : "PostgreSQL"} scans slowly (admin pages, statistics, the session sweeper); run MongoDB 7 with MONGO_URL (deploy/README.md)`,
        );
      }
    }

    const sessionSecret = env.NEOSC_SESSION_SECRET ?? (await persistentSessionSecret(dataDir));
    if (env.MONGO_URL !== undefined && env.NEOSC_AUDIT_SIGNING_KEY === undefined) {
      logger.warn(
        "NEOSC_AUDIT_SIGNING_KEY is unset: audit checkpoints are signed with this replica's own key file; give every replica the same key",
      );
    }
    const auditSigningKey = parseAuditSigningKey(
      env.NEOSC_AUDIT_SIGNING_KEY ?? (await persistentAuditSigningKey(dataDir)),
    );
    await preparePasswordHashing();
    const bootstrap = await bootstrapDatabase(db, {
      email: env.NEOSC_ADMIN_EMAIL,
      password: env.NEOSC_ADMIN_PASSWORD,
      passwords: passwordHasher,
      logger,
      ...(options.announce === undefined ? {} : { announce: options.announce }),
      catalogue: { apiPort: env.PORT, inspectorPort: env.NEOSC_INSPECTOR_PORT },
    });

    const oidcClient =
      env.NEOSC_OIDC_ISSUER === undefined || env.NEOSC_OIDC_CLIENT_ID === undefined
        ? null
        : createZitadelClient({
            issuer: env.NEOSC_OIDC_ISSUER,
            clientId: env.NEOSC_OIDC_CLIENT_ID,
            ...(env.NEOSC_OIDC_CLIENT_SECRET === undefined
              ? {}
              : { clientSecret: env.NEOSC_OIDC_CLIENT_SECRET }),
            ...(env.NEOSC_OIDC_SPA_CLIENT_ID === undefined
              ? {}
              : { spaClientId: env.NEOSC_OIDC_SPA_CLIENT_ID }),
            ...(env.NEOSC_OIDC_PROJECT_ID === undefined ? {} : { projectId: env.NEOSC_OIDC_PROJECT_ID }),
            roleClaim: env.NEOSC_OIDC_ROLE_CLAIM,
            allowHttp: env.NEOSC_OIDC_ALLOW_HTTP,
          });
    const claimMapping = {
      roleClaim: env.NEOSC_OIDC_ROLE_CLAIM,
      ...(env.NEOSC_OIDC_PROJECT_ID === undefined ? {} : { projectId: env.NEOSC_OIDC_PROJECT_ID }),
    };
    const pomerium =
      env.NEOSC_POMERIUM_JWKS_URL === undefined
        ? null
        : pomeriumVerifierFor({
            jwksUrl: env.NEOSC_POMERIUM_JWKS_URL,
            audiences: env.NEOSC_POMERIUM_AUDIENCES,
            issuers: env.NEOSC_POMERIUM_ISSUERS,
            claimMapping,
          });
    const host = env.NEOSC_WORKSPACE_HOST
      ? await startWorkspaceHost({
          db,
          drivers: hostDrivers(path.join(dataDir, "host"), {
            kubernetes: options.kubernetes ?? (await kubernetesDriverFor(env)),
          }),
          stateDir: path.join(dataDir, "host"),
          capacity: env.NEOSC_HOST_CAPACITY,
          warmLimit: env.NEOSC_HOST_WARM_LIMIT,
          logger: logger.child({ component: "workspace-host" }),
        })
      : null;
    // The gateway writes here and the API verifies, replays and expires from here (one volume).
    const recordings = createRecordingStore(env.NEOSC_RECORDINGS_DIR ?? path.join(dataDir, "recordings"));
    const services = {
      recordings,
      ...createAuthServices({
        sessionSecret,
        auditSigningKey,
        pomerium,
        oidc: oidcClient === null ? null : oidcServiceFor(oidcClient),
      }),
      workspaceHosts: createHostClient({ db, local: host, token: env.NEOSC_HOST_TOKEN ?? null }),
    };
    const publicUrl = new URL(env.NEOSC_PUBLIC_URL);
    const apps = appsAddressingFor(env.NEOSC_APPS_DOMAIN, publicUrl);
    const routerConfig: RouterConfig = {
      session: { ttlSeconds: env.NEOSC_SESSION_TTL_SECONDS },
      loginThrottle: {
        windowSeconds: env.NEOSC_LOGIN_WINDOW_SECONDS,
        maxFailuresPerAccount: env.NEOSC_LOGIN_MAX_FAILURES,
        maxFailuresPerIp: env.NEOSC_LOGIN_MAX_FAILURES_PER_IP,
      },
      totpIssuer: env.NEOSC_TOTP_ISSUER,
      idTokenMaxAgeSeconds: env.NEOSC_OIDC_ID_TOKEN_MAX_AGE_SECONDS,
      ...(env.NEOSC_GATEWAY_URL === undefined ? {} : { gateway: { url: env.NEOSC_GATEWAY_URL } }),
      apps,
      catalogue: { apiPort: env.PORT, inspectorPort: env.NEOSC_INSPECTOR_PORT },
    };

    const metrics = createMetrics();
    connection.onCommand((command) => metrics.dbCommands.inc({ command }));
    const activeConnection = connection;
    let draining = false;
    const app = createApp({
      db,
      ping: () => activeConnection.ping(),
      isDraining: () => draining,
      services,
      routerConfig,
      http: {
        publicUrl,
        portalOrigins: env.NEOSC_PORTAL_ORIGINS,
        trustProxy: env.NEOSC_TRUSTED_PROXIES,
        bodyLimitBytes: parseByteSize(env.NEOSC_BODY_LIMIT),
        oidcIssuer: env.NEOSC_OIDC_ISSUER ?? null,
        portalDist: env.NEOSC_PORTAL_DIST ?? defaultPortalDist(),
      },
      logger,
      metrics,
    });

    // Web apps' session origins are answered by the web proxy before Express sees them.
    const webProxy = createWebProxy({
      db,
      addressing: apps,
      portalOrigins: [publicUrl.origin, ...env.NEOSC_PORTAL_ORIGINS.map((origin) => new URL(origin).origin)],
      cookieSecret: sessionSecret,
      pomerium: null,
      crossSite: appsAreCrossSite(apps, publicUrl),
      logger: logger.child({ component: "web-proxy" }),
      recordings,
    });
    const server = createServer((request, response) => {
      if (!webProxy.handleRequest(request, response)) app(request, response);
    });
    server.keepAliveTimeout = 65_000;
    const inspector = await startInspector(env.NEOSC_INSPECTOR_PORT, logger);
    // The embedded default serves the workspace gateway on the API's own HTTP server, at
    // `/gateway/connect`; `apps/gateway` runs the same gateway as its own process for production.
    const gateway = serveGateway(server, env, {
      db,
      endpoints: options.endpoints,
      sessionSecret,
      ownOrigins: [env.NEOSC_PUBLIC_URL],
      logger: logger.child({ component: "gateway" }),
      recordings,
      webProxy,
    });
    const port = await listen(server, env.PORT, env.HOST);
    let metricsServer: Server | null = null;
    let metricsUrl: string | null = null;
    if (env.METRICS_ENABLED) {
      metricsServer = createMetricsServer(metrics);
      const metricsPort = await listen(metricsServer, env.METRICS_PORT, env.METRICS_HOST);
      metricsUrl = `http://${displayHost(env.METRICS_HOST)}:${metricsPort}/metrics`;
    }
    const sweeper = startSweeper({
      db,
      clock: () => new Date(),
      intervalMs: env.NEOSC_SWEEP_INTERVAL_SECONDS * 1000,
      onError: (error) => logger.warn({ err: error }, "session sweep failed"),
    });
    const recordingSweeper = startRecordingSweeper({
      db,
      clock: () => new Date(),
      services: { recordings },
      onError: (error) => logger.warn({ err: error }, "recording retention sweep failed"),
    });
    const checkpointer = startCheckpointer({
      db,
      clock: () => new Date(),
      signer: auditSigningKey,
      intervalMs: env.NEOSC_AUDIT_CHECKPOINT_INTERVAL_SECONDS * 1000,
      // The log keeps a copy outside the database.
      onCheckpoint: (checkpoint) => logger.info({ checkpoint }, "audit checkpoint signed"),
      onError: (error) => logger.warn({ err: error }, "audit checkpoint failed"),
    });
    const url = `http://${displayHost(env.HOST)}:${port}`;
    logger.info({ url, metricsUrl, embeddedDatabase: local !== null }, "neosc api listening");

    let closing: Promise<void> | null = null;
    return {
      url,
      port,
      metricsUrl,
      embeddedDatabase: local !== null,
      bootstrap,
      close() {
        closing ??= (async () => {
          logger.info("shutting down");
          draining = true;
          await gateway.close();
          await webProxy.close();
          await inspector?.close();
          await Promise.all([
            closeServer(server, env.NEOSC_SHUTDOWN_TIMEOUT_MS),
            metricsServer === null ? Promise.resolve() : closeServer(metricsServer, 1000),
          ]);
          await sweeper.stop();
          await recordingSweeper.stop();
          await checkpointer.stop();
          await host?.close();
          await activeConnection.close();
          await local?.stop();
          logger.info("stopped");
        })();
        return closing;
      },
    };
  } catch (error) {
    await connection?.close().catch(() => {});
    await local?.stop().catch(() => {});
    throw error;
  }
}
