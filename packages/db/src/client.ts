import { DomainError } from "@neosc/core/errors";
import { type CommandStartedEvent, MongoClient } from "mongodb";

export interface ClientOptions {
  url: string;
  maxPoolSize?: number;
  serverSelectionTimeoutMS?: number;
  connectTimeoutMS?: number;
  appName?: string;
}

/** The URL without credentials or query options (which may carry secrets), fit for messages and logs. */
export function redactUrl(url: string): string {
  const withoutQuery = url.split("?")[0] ?? url;
  return withoutQuery.replace(/^([a-z+]+:\/\/)[^@/]*@/i, "$1***@");
}

/** The database named in the URL path (`mongodb://host/neosc` → `neosc`), if any. */
export function dbNameFromUrl(url: string): string | undefined {
  const match = /^[a-z+]+:\/\/[^/]*\/([^?]+)/i.exec(url);
  const name = match?.[1] ? decodeURIComponent(match[1]) : "";
  return name || undefined;
}

export function createMongoClient(options: ClientOptions): MongoClient {
  return new MongoClient(options.url, {
    maxPoolSize: options.maxPoolSize ?? 20,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5_000,
    connectTimeoutMS: options.connectTimeoutMS ?? 5_000,
    appName: options.appName ?? "neosc",
    ignoreUndefined: true,
    // Every command is a round trip to the server: counted (see `onCommand`) so the benchmark
    // and the metrics endpoint can say how many each request costs.
    monitorCommands: true,
  });
}

/**
 * Calls `listener` with the name of every command the client sends (`find`, `update`,
 * `getMore`, …: one round trip each; the driver's own heartbeats are not commands here).
 * Returns a function that removes the listener.
 */
export function onCommand(client: MongoClient, listener: (commandName: string) => void): () => void {
  const handler = (event: CommandStartedEvent) => listener(event.commandName);
  client.on("commandStarted", handler);
  return () => {
    client.off("commandStarted", handler);
  };
}

export function unavailable(url: string, cause: unknown): DomainError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new DomainError(
    "UNAVAILABLE",
    "database_unavailable",
    `MongoDB at ${redactUrl(url)} is unreachable: ${reason}`,
    {
      cause,
    },
  );
}

/** Connects and pings once; a server that does not answer becomes DomainError UNAVAILABLE naming the URL. */
export async function connectClient(client: MongoClient, url: string, dbName: string): Promise<void> {
  try {
    await client.connect();
    await client.db(dbName).command({ ping: 1 });
  } catch (error) {
    await client.close().catch(() => {});
    throw unavailable(url, error);
  }
}
