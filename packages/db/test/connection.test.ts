import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { dbNameFromUrl, redactUrl } from "../src/client.ts";
import { COLLECTION_NAMES } from "../src/collections.ts";
import { connectDatabase } from "../src/database.ts";
import { rejectionOf, useTestDatabase } from "./support.ts";

const handle = useTestDatabase();

function unusedPort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe("connection", () => {
  it("fails with UNAVAILABLE naming the server but not the credentials", async () => {
    const port = await unusedPort();
    const error = await rejectionOf(() =>
      connectDatabase({
        url: `mongodb://neosc:s3cret-pass@127.0.0.1:${port}/neosc?authSource=admin`,
        serverSelectionTimeoutMS: 300,
        connectTimeoutMS: 300,
      }),
    );
    expect(error).toMatchObject({ code: "UNAVAILABLE", reason: "database_unavailable" });
    expect(error.message).toContain(`mongodb://***@127.0.0.1:${port}/neosc`);
    expect(error.message).not.toContain("s3cret-pass");
  });

  it("pings, and creates the indexes idempotently", async () => {
    const { connection, dbName } = handle.test;
    await connection.ping();
    await connection.ensureIndexes();
    await connection.ensureIndexes();
    const db = connection.client.db(dbName);
    const users = await db.collection(COLLECTION_NAMES.users).indexes();
    expect(users.find((index) => index.name === "email_unique")).toMatchObject({
      key: { email: 1 },
      unique: true,
    });
    const audit = await db.collection(COLLECTION_NAMES.audit).indexes();
    expect(audit.find((index) => index.name === "seq_unique")).toMatchObject({ unique: true });
    const sessions = await db.collection(COLLECTION_NAMES.sessions).indexes();
    expect(sessions.find((index) => index.name === "slotKey_unique")).toMatchObject({ unique: true });
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      for (const index of await db.collection(name).indexes()) {
        expect(index).not.toHaveProperty("expireAfterSeconds");
        expect(index).not.toHaveProperty("partialFilterExpression");
        expect(index).not.toHaveProperty("sparse");
      }
    }
  });

  it("reads the database name from the URL and redacts credentials", () => {
    expect(dbNameFromUrl("mongodb://localhost:27017/neosc?retryWrites=true")).toBe("neosc");
    expect(dbNameFromUrl("mongodb://a:1,b:2/other")).toBe("other");
    expect(dbNameFromUrl("mongodb://localhost:27017/")).toBeUndefined();
    expect(dbNameFromUrl("mongodb://localhost")).toBeUndefined();
    expect(redactUrl("mongodb+srv://user:pw@cluster.example/db?tlsCertificateKeyFilePassword=x")).toBe(
      "mongodb+srv://***@cluster.example/db",
    );
    expect(redactUrl("mongodb://localhost:27017/db")).toBe("mongodb://localhost:27017/db");
  });
});

describe("collection sizes for the embedded engine's warning", () => {
  it("names the growing collections past a size, and only those", async () => {
    const { db, test } = handle;
    await db.audit.append({
      actor: { id: null, email: null, role: null },
      action: "size.check",
      resource: { type: "none", id: null },
      clientIp: null,
      userAgent: null,
      result: "success",
      reason: null,
      details: {},
    });
    const over = await test.connection.collectionsOver(1);
    expect(over.map((size) => size.collection)).toContain("audit_logs");
    expect(over.every((size) => size.documents >= 1)).toBe(true);
    expect(await test.connection.collectionsOver(1_000_000)).toEqual([]);
  });
});
