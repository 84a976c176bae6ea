import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { afterAll, beforeAll, inject } from "vitest";
import { parseEnv } from "../../src/env.ts";
import { type RunningServer, type StartServerOptions, startServer } from "../../src/server.ts";

export const ADMIN_EMAIL = "admin@neosc.test";
export const ADMIN_PASSWORD = "admin-password-for-tests";
export const PUBLIC_ORIGIN = "http://portal.neosc.test";
/** Every test API signs audit checkpoints with this key (base64 of 32 bytes). */
export const AUDIT_SIGNING_KEY = Buffer.alloc(32, 11).toString("base64");

/** Starts an API process-in-process on a free port, configured only through its environment. */
export function startTestApi(
  mongoUrl: string,
  dbName: string,
  env: Record<string, string> = {},
  options: Omit<StartServerOptions, "announce"> = {},
): Promise<RunningServer> {
  return startServer(
    parseEnv({
      HOST: "127.0.0.1",
      PORT: "0",
      METRICS_HOST: "127.0.0.1",
      METRICS_PORT: "0",
      LOG_LEVEL: "silent",
      MONGO_URL: mongoUrl,
      MONGO_DB_NAME: dbName,
      MONGO_SERVER_SELECTION_TIMEOUT_MS: "2000",
      NEOSC_SESSION_SECRET: "api-tests-session-secret-0123456789abcdef",
      NEOSC_AUDIT_SIGNING_KEY: AUDIT_SIGNING_KEY,
      NEOSC_ADMIN_EMAIL: ADMIN_EMAIL,
      NEOSC_ADMIN_PASSWORD: ADMIN_PASSWORD,
      NEOSC_PUBLIC_URL: PUBLIC_ORIGIN,
      NEOSC_PORTAL_DIST: "/nonexistent/portal/dist",
      NEOSC_SWEEP_INTERVAL_SECONDS: "3600",
      ...env,
    }),
    { announce: () => {}, ...options },
  );
}

export interface ApiFixture {
  readonly database: TestDatabase;
  /** Starts one more API instance on this file's database (closed after the file). */
  start(env?: Record<string, string>, options?: Omit<StartServerOptions, "announce">): Promise<RunningServer>;
}

/** A database for this test file and any number of API instances on it. */
export function useApi(): ApiFixture {
  let database: TestDatabase | undefined;
  const servers: RunningServer[] = [];
  beforeAll(async () => {
    database = await createTestDatabase(inject("mongoUrl"));
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await database?.drop();
  });
  return {
    get database() {
      if (database === undefined) throw new Error("the test database is created in beforeAll");
      return database;
    },
    async start(env = {}, options = {}) {
      if (database === undefined) throw new Error("start API instances inside tests or beforeAll");
      const server = await startTestApi(inject("mongoUrl"), database.dbName, env, options);
      servers.push(server);
      return server;
    },
  };
}
