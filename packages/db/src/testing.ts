import { randomBytes } from "node:crypto";
import type { CommandStartedEvent, Document } from "mongodb";
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
  options: { clock?: () => Date; maxPoolSize?: number; cacheMaxAgeMs?: number } = {},
): Promise<TestDatabase> {
  const dbName = `test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const connection = await connectDatabase({
    url,
    dbName,
    clock: options.clock,
    maxPoolSize: options.maxPoolSize ?? 10,
    appName: "neosc-test",
    ...(options.cacheMaxAgeMs === undefined ? {} : { cacheMaxAgeMs: options.cacheMaxAgeMs }),
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

/** One command the driver sent, as the round-trip tests see it. */
export interface RoundTrip {
  command: string;
  collection: string;
  /** The filter(s) it selects documents with; null for inserts (which select nothing). */
  filters: Document[] | null;
}

function filtersOf(event: CommandStartedEvent): Document[] | null {
  const { command } = event;
  switch (event.commandName) {
    case "find":
      return [command.filter ?? {}];
    case "findAndModify":
      return [command.query ?? {}];
    case "update":
      return (command.updates as { q: Document }[]).map((update) => update.q);
    case "delete":
      return (command.deletes as { q: Document }[]).map((deletion) => deletion.q);
    case "count":
      return [command.query ?? {}];
    case "insert":
      return null;
    default:
      // aggregate, distinct, …: a scan on FerretDB whatever the pipeline.
      return [{ [`$${event.commandName}`]: true }];
  }
}

/**
 * Whether a command finds its documents by `_id` equality alone: the one filter FerretDB 1.24 on
 * SQLite does not answer by scanning the whole collection (REFERENCE.md).
 */
export function findsByIdOnly(trip: RoundTrip): boolean {
  return (
    trip.filters === null ||
    trip.filters.every((filter) => {
      const keys = Object.keys(filter);
      return keys.length === 1 && keys[0] === "_id" && typeof filter._id === "string";
    })
  );
}

/** Records the commands a connection sends while `run` runs (every command is one round trip). */
export async function roundTripsOf(
  connection: DatabaseConnection,
  run: () => Promise<unknown>,
): Promise<RoundTrip[]> {
  const trips: RoundTrip[] = [];
  const listener = (event: CommandStartedEvent) => {
    const collection = String(event.command[event.commandName] ?? "");
    trips.push({ command: event.commandName, collection, filters: filtersOf(event) });
  };
  connection.client.on("commandStarted", listener);
  try {
    await run();
  } finally {
    connection.client.off("commandStarted", listener);
  }
  return trips;
}

/** One line per round trip, for assertion messages. */
export function describeRoundTrips(trips: readonly RoundTrip[]): string {
  return trips
    .map((trip) =>
      [trip.command, trip.collection, trip.filters === null ? "" : JSON.stringify(trip.filters)].join(" "),
    )
    .join("\n");
}
