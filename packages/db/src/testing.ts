import { randomBytes } from "node:crypto";
import { connectDatabase, type Database, type DatabaseConnection } from "./database.ts";
import { configuredMongoUrl, startLocalServer } from "./local-server.ts";

/*
 * Test databases. A vitest globalSetup starts one server per run with `startTestServer()` and
 * provides its URL (see packages/db/test/global-setup.ts); each test FILE then creates its own
 * database with `createTestDatabase(inject("mongoUrl"))` and drops it in afterAll.
 */

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
