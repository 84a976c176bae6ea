import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { connectDatabase, type Database, type DatabaseConnection } from "./database.ts";
import { configuredMongoUrl, startLocalServer } from "./local-server.ts";

/*
 * Test databases. A package's vitest globalSetup is `export { setupTestServer as default } from
 * "@neosc/db/testing"`: one server per run, its URL provided as `mongoUrl`; each test FILE then
 * creates its own database with `createTestDatabase(inject("mongoUrl"))` and drops it afterwards.
 */

declare module "vitest" {
  export interface ProvidedContext {
    mongoUrl: string;
  }
}

export interface TestServer {
  url: string;
  stop(): Promise<void>;
}

/** MONGO_URL when set (left running), otherwise a throwaway server from the launcher. */
export async function startTestServer(): Promise<TestServer> {
  const url = configuredMongoUrl();
  if (url) return { url, stop: async () => {} };
  const server = await startLocalServer({ mode: "throwaway" });
  return { url: server.url, stop: () => server.stop() };
}

export interface TestDatabase {
  db: Database;
  dbName: string;
  /** The raw connection, for tests that must reach under the repositories (e.g. tampering). */
  connection: DatabaseConnection;
  /** Drops the database and closes the connection. */
  drop(): Promise<void>;
}

/** A fresh, uniquely named database on `url` with all indexes. */
export async function createTestDatabase(
  url: string,
  options: { clock?: () => Date; maxPoolSize?: number } = {},
): Promise<TestDatabase> {
  const dbName = `test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const connection = await connectDatabase({
    url,
    dbName,
    clock: options.clock,
    maxPoolSize: options.maxPoolSize ?? 10,
    appName: "neosc-test",
  });
  return {
    db: connection.db,
    dbName,
    connection,
    async drop() {
      try {
        await connection.client.db(dbName).dropDatabase();
      } finally {
        await connection.close();
      }
    },
  };
}

/** vitest globalSetup: one database server for the whole run (or MONGO_URL), stopped afterwards. */
export async function setupTestServer(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestServer();
  project.provide("mongoUrl", server.url);
  return () => server.stop();
}
