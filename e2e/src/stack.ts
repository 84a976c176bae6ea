import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type PomeriumSigner, startPomeriumSigner } from "@neosc/auth/testing/pomerium-signer";
import {
  DEFAULT_ORGANIZATION,
  DEFAULT_PROJECT_ID,
  type IdpAccount,
  startZitadelIdp,
  type ZitadelIdp,
} from "@neosc/auth/testing/zitadel-idp";
import { isRunning } from "@neosc/core/process";
import { type DatabaseEngine, type LocalServer, startLocalServer } from "@neosc/db/local-server";
import { startAssertionService } from "./assertion-service.ts";
import { freePort } from "./ports.ts";
import { type Service, startService } from "./processes.ts";

export const E2E_ROOT = resolve(import.meta.dirname, "..");
export const REPO_ROOT = resolve(E2E_ROOT, "..");
export const RESULTS_DIR = join(E2E_ROOT, ".results");
export const STACK_FILE = join(RESULTS_DIR, "stack.json");
export const API_BUNDLE = join(REPO_ROOT, "apps/api/dist/server.mjs");
export const PORTAL_INDEX = join(REPO_ROOT, "apps/portal/dist/index.html");

/** The Pomerium route host the test signer puts in `aud`/`iss` and the API is told to expect. */
export const POMERIUM_HOST = "portal.neosc.test";
export const OIDC_CLIENT_ID = "284193857412538115@neosc";

/** Accounts the stand-in IdP knows: one per role, with and without MFA, with an organization. */
export const IDP_ORGANIZATION = {
  ...DEFAULT_ORGANIZATION,
  name: "Kappa Four Labs",
  primaryDomain: "kappa4.test",
};
export const IDP_ACCOUNTS = {
  admin: {
    email: "ida.admin@kappa4.test",
    password: "idp-admin-pass-1",
    name: "Ida Admin",
    roles: ["admin"],
  },
  neosc: {
    email: "nico.neosc@kappa4.test",
    password: "idp-neosc-pass-1",
    name: "Nico Neosc",
    roles: ["neosc"],
    amr: ["pwd", "otp", "mfa"],
  },
  user: { email: "uma.user@kappa4.test", password: "idp-user-pass-1", name: "Uma User", roles: ["user"] },
  /** Only the flat `neosc_roles` claim, no Zitadel roles object. */
  flat: {
    email: "flo.flat@kappa4.test",
    password: "idp-flat-pass-1",
    name: "Flo Flat",
    roles: ["neosc"],
    roleClaims: ["flat"],
  },
} satisfies Record<string, IdpAccount>;

/** What the suites, the benchmark and the resilience run need to find the running stack. */
export interface StackInfo {
  /**
   * `dataDir`: the API's NEOSC_DATA_DIR (its workspace host keeps sessions' folders there);
   * `inspectorUrl`: its request inspector, an internal web app to open through the gateway.
   */
  api: { url: string; metricsUrl: string; pid: number; dataDir: string; inspectorUrl: string };
  pomeriumApi: { url: string; metricsUrl: string; pid: number; audience: string } | null;
  assertionServiceUrl: string | null;
  idp: {
    issuer: string;
    clientId: string;
    accounts: typeof IDP_ACCOUNTS;
    organization: typeof IDP_ORGANIZATION;
  } | null;
  /** `pids`: every database process (FerretDB, and on PostgreSQL its server), for CPU accounting. */
  db: { url: string; pid: number; pids: number[]; engine: DatabaseEngine; dataDir: string };
  admin: { email: string; password: string };
  sessionSecret: string;
  dbNames: { main: string; pomerium: string };
  logs: string;
}

export interface StackOptions {
  /** Where logs go (one file per process). */
  logDir: string;
  idp?: boolean;
  pomerium?: boolean;
  /** Extra API environment (both processes). */
  apiEnv?: Record<string, string>;
  /** Persistent data dir and fixed port for the database (resilience restarts it on the same ones). */
  database?: { dataDir: string; port: number };
  /** Which database server (default: the launcher's choice, NEOSC_DB_ENGINE or its default). */
  databaseEngine?: DatabaseEngine;
}

export interface RunningStack {
  info: StackInfo;
  database: LocalServer;
  api: Service;
  pomeriumApi: Service | null;
  idp: ZitadelIdp | null;
  signer: PomeriumSigner | null;
  /** Every process id the stack started (API processes, database, its supervisor). */
  pids(): number[];
  stop(): Promise<void>;
}

export function assertBuilt(): void {
  const missing = [API_BUNDLE, PORTAL_INDEX].filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(
      `missing build output: ${missing.join(", ")}\nrun \`pnpm build\` at the repository root first (the suites run the built API serving the built portal)`,
    );
  }
}

export function baseApiEnv(options: {
  port: number;
  metricsPort: number;
  mongoUrl: string;
  dbName: string;
  sessionSecret: string;
  admin: { email: string; password: string };
  dataDir: string;
  /** Where its request inspector listens (the catalogue's internal web app); 0: none. */
  inspectorPort: number;
}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(options.port),
    METRICS_HOST: "127.0.0.1",
    METRICS_PORT: String(options.metricsPort),
    LOG_LEVEL: process.env.NEOSC_E2E_API_LOG_LEVEL ?? "warn",
    MONGO_URL: options.mongoUrl,
    MONGO_DB_NAME: options.dbName,
    NEOSC_DATA_DIR: options.dataDir,
    NEOSC_PUBLIC_URL: `http://127.0.0.1:${options.port}`,
    NEOSC_SESSION_SECRET: options.sessionSecret,
    NEOSC_ADMIN_EMAIL: options.admin.email,
    NEOSC_ADMIN_PASSWORD: options.admin.password,
    NEOSC_INSPECTOR_PORT: String(options.inspectorPort),
  };
}

export async function startApi(name: string, env: Record<string, string>, logDir: string): Promise<Service> {
  return startService({
    name,
    command: process.execPath,
    // NEOSC_E2E_API_NODE_ARGS: extra node flags for the API, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
    args: [
      ...(process.env.NEOSC_E2E_API_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
      "--enable-source-maps",
      API_BUNDLE,
    ],
    env,
    cwd: REPO_ROOT,
    logFile: join(logDir, `${name}.log`),
    readyUrl: `${env.NEOSC_PUBLIC_URL}/readyz`,
    readyTimeoutMs: 60_000,
  });
}

/**
 * Starts, on free loopback ports: a throwaway database, optionally the stand-in IdP and the
 * Pomerium test signer, the API (local accounts + SSO, bootstrap admin) and optionally a second
 * API in Pomerium mode trusting the signer's key set. Everything is undone by `stop()`.
 */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  assertBuilt();
  mkdirSync(options.logDir, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups.length = 0;
  };
  try {
    const engine = options.databaseEngine === undefined ? {} : { engine: options.databaseEngine };
    const database = await startLocalServer(
      options.database
        ? {
            mode: "persistent",
            dataDir: options.database.dataDir,
            port: options.database.port,
            log: () => {},
            ...engine,
          }
        : { mode: "throwaway", log: () => {}, ...engine },
    );
    cleanups.push(() => database.stop());

    const sessionSecret = randomBytes(32).toString("base64url");
    const admin = { email: "admin@neosc.test", password: `admin-${randomBytes(9).toString("base64url")}` };
    const dbNames = { main: "neosc_e2e", pomerium: "neosc_e2e_pomerium" };
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;

    let idp: ZitadelIdp | null = null;
    let oidcEnv: Record<string, string> = {};
    if (options.idp) {
      const clientSecret = randomBytes(24).toString("base64url");
      idp = await startZitadelIdp({
        accounts: Object.values(IDP_ACCOUNTS).map((account) => ({
          ...account,
          organization: IDP_ORGANIZATION,
        })),
        clients: [{ clientId: OIDC_CLIENT_ID, clientSecret, redirectUris: [`${apiUrl}/auth/callback`] }],
        projectId: DEFAULT_PROJECT_ID,
        logErrors: false,
      });
      const started = idp;
      cleanups.push(() => started.stop());
      oidcEnv = {
        NEOSC_OIDC_ISSUER: idp.issuer,
        NEOSC_OIDC_CLIENT_ID: OIDC_CLIENT_ID,
        NEOSC_OIDC_CLIENT_SECRET: clientSecret,
        NEOSC_OIDC_PROJECT_ID: idp.projectId,
        NEOSC_OIDC_ALLOW_HTTP: "true",
      };
    }

    const metricsPort = await freePort();
    // A port of its own, so a portal already running on this machine (8090) is not what the suites reach.
    const inspectorPort = await freePort();
    const api = await startApi(
      "api",
      {
        ...baseApiEnv({
          port: apiPort,
          metricsPort,
          mongoUrl: database.url,
          dbName: dbNames.main,
          sessionSecret,
          admin,
          dataDir: join(options.logDir, "api-data"),
          inspectorPort,
        }),
        ...oidcEnv,
        ...options.apiEnv,
      },
      options.logDir,
    );
    cleanups.push(() => api.stop());

    let signer: PomeriumSigner | null = null;
    let pomeriumApi: Service | null = null;
    let assertionServiceUrl: string | null = null;
    let pomeriumUrl = "";
    let pomeriumMetricsPort = 0;
    if (options.pomerium) {
      signer = await startPomeriumSigner({ host: POMERIUM_HOST });
      const startedSigner = signer;
      cleanups.push(() => startedSigner.stop());
      const service = await startAssertionService(signer);
      cleanups.push(() => service.stop());
      assertionServiceUrl = service.url;
      const port = await freePort();
      pomeriumUrl = `http://127.0.0.1:${port}`;
      pomeriumMetricsPort = await freePort();
      pomeriumApi = await startApi(
        "api-pomerium",
        {
          ...baseApiEnv({
            port,
            metricsPort: pomeriumMetricsPort,
            mongoUrl: database.url,
            dbName: dbNames.pomerium,
            sessionSecret,
            admin,
            dataDir: join(options.logDir, "api-pomerium-data"),
            inspectorPort: 0,
          }),
          NEOSC_POMERIUM_JWKS_URL: signer.jwksUrl,
          NEOSC_POMERIUM_AUDIENCES: POMERIUM_HOST,
          ...options.apiEnv,
        },
        options.logDir,
      );
      const startedApi = pomeriumApi;
      cleanups.push(() => startedApi.stop());
    }

    const info: StackInfo = {
      api: {
        url: apiUrl,
        metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
        pid: api.pid,
        dataDir: join(options.logDir, "api-data"),
        inspectorUrl: `http://127.0.0.1:${inspectorPort}/`,
      },
      pomeriumApi: pomeriumApi
        ? {
            url: pomeriumUrl,
            metricsUrl: `http://127.0.0.1:${pomeriumMetricsPort}/metrics`,
            pid: pomeriumApi.pid,
            audience: POMERIUM_HOST,
          }
        : null,
      assertionServiceUrl,
      idp: idp
        ? {
            issuer: idp.issuer,
            clientId: OIDC_CLIENT_ID,
            accounts: IDP_ACCOUNTS,
            organization: IDP_ORGANIZATION,
          }
        : null,
      db: {
        url: database.url,
        pid: database.pid,
        pids: database.pids,
        engine: database.engine,
        dataDir: database.dataDir,
      },
      admin,
      sessionSecret,
      dbNames,
      logs: options.logDir,
    };
    const pomeriumService = pomeriumApi;
    return {
      info,
      database,
      api,
      pomeriumApi,
      idp,
      signer,
      pids: () =>
        [api.pid, pomeriumService?.pid, ...database.pids].filter(
          (pid): pid is number => typeof pid === "number" && pid > 0,
        ),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Stops the stack and proves it: every process it started must be gone. */
export async function stopAndVerify(stack: RunningStack): Promise<void> {
  const pids = stack.pids();
  await stack.stop();
  const deadline = Date.now() + 10_000;
  let alive = pids.filter(isRunning);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 100));
    alive = pids.filter(isRunning);
  }
  if (alive.length > 0) throw new Error(`processes left behind after teardown: ${alive.join(", ")}`);
}

export function writeStackInfo(info: StackInfo): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(STACK_FILE, `${JSON.stringify(info, null, 2)}\n`);
}

export function readStackInfo(): StackInfo {
  const file = process.env.NEOSC_E2E_STACK ?? STACK_FILE;
  return JSON.parse(readFileSync(file, "utf8")) as StackInfo;
}
