import { createServer } from "node:net";
import type { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMongoClient } from "../src/client.ts";
import { connectDatabase } from "../src/database.ts";
import { isDatabaseUnavailable, isDuplicateKeyError } from "../src/errors.ts";
import { type LocalServer, startLocalServer } from "../src/local-server.ts";
import { useTestDatabase } from "./support.ts";

/*
 * The driver's errors are classified here and nowhere else: the router asks "is the database
 * unavailable?" of whatever it caught, and the answer comes from errors the real driver throws.
 */

const database = useTestDatabase();

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("driver errors", () => {
  it("a server that cannot be reached is 'database unavailable', also when wrapped", async () => {
    const client = createMongoClient({
      url: `mongodb://127.0.0.1:${await closedPort()}/nowhere`,
      serverSelectionTimeoutMS: 300,
      connectTimeoutMS: 300,
    });
    const error = await client
      .db("nowhere")
      .command({ ping: 1 })
      .catch((caught: unknown) => caught);
    await client.close();
    expect(error).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(isDatabaseUnavailable(new Error("query failed", { cause: error }))).toBe(true);
    expect(isDuplicateKeyError(error)).toBe(false);
  });

  it("a unique violation from the live server is a duplicate, not unavailability", async () => {
    const collection = database.test.connection.client
      .db(database.test.dbName)
      .collection<{ _id: string }>("driver_error_probe");
    await collection.insertOne({ _id: "one" });
    const error = await collection.insertOne({ _id: "one" }).catch((caught: unknown) => caught);
    expect(isDuplicateKeyError(error)).toBe(true);
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

/*
 * FerretDB passes a unique violation by an update on in its backend's words, so each backend is
 * checked on a server of its own (whatever engine the rest of the suite runs on): the update of
 * an existing document into another one's unique value, and the repository's answer to it.
 */
describe.each(["sqlite", "postgresql"] as const)("unique violations on FerretDB on %s", (engine) => {
  let server: LocalServer | undefined;
  let client: MongoClient | undefined;

  beforeAll(async () => {
    server = await startLocalServer({ mode: "throwaway", engine, log: () => {} });
    client = createMongoClient({ url: server.url });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  it("an update into a taken unique value is a duplicate key; the users repository says CONFLICT/duplicate", async () => {
    if (!client) throw new Error("no client");
    const collection = client.db("probe").collection<{ _id: string; email: string }>("unique_probe");
    await collection.createIndex({ email: 1 }, { unique: true });
    await collection.insertMany([
      { _id: "a", email: "a@example.test" },
      { _id: "b", email: "b@example.test" },
    ]);
    const updated = await collection
      .updateOne({ _id: "b" }, { $set: { email: "a@example.test" } })
      .catch((caught: unknown) => caught);
    expect(isDuplicateKeyError(updated), String(updated)).toBe(true);
    expect(isDatabaseUnavailable(updated)).toBe(false);

    const connection = await connectDatabase({ url: server?.url ?? "", dbName: "repository" });
    try {
      const make = (email: string) =>
        connection.db.users.create({
          source: "local",
          email,
          name: email,
          role: "user",
          organizationId: null,
          passwordHash: "x",
          mustChangePassword: false,
        });
      await make("taken@example.test");
      const other = await make("other@example.test");
      const error = await connection.db.users
        .update(other.id, { email: "taken@example.test" })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "CONFLICT", reason: "duplicate", details: { field: "email" } });
    } finally {
      await connection.close();
    }
  });
});
