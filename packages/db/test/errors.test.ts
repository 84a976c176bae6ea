import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { createMongoClient } from "../src/client.ts";
import { isDatabaseUnavailable, isDuplicateKeyError } from "../src/errors.ts";
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
