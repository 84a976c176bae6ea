import type { AuditEntry } from "@neosc/core/audit";
import type { User } from "@neosc/core/user";
import { connectDatabase, type DatabaseConnection } from "@neosc/db/database";
import { hashEntry } from "@neosc/db/repositories/audit";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { audit } from "../src/domain/audit/record.ts";
import { flattenInputErrors } from "../src/errors.ts";
import { callerFor, createLocalUser, makeContext } from "./support/context.ts";
import { parseCsv } from "./support/csv.ts";
import { expectRefusal } from "./support/expect-error.ts";

const opened: TestDatabase[] = [];

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase(inject("mongoUrl"));
  await database.db.policies.seedDefaults();
  opened.push(database);
  return database;
}

afterAll(async () => {
  for (const database of opened) await database.drop();
});

/** The raw `audit_logs` collection, to tamper with the stored chain as an attacker with DB access would. */
function rawAudit(database: TestDatabase) {
  return database.connection.client.db(database.dbName).collection("audit_logs");
}

async function appendEntries(database: TestDatabase, user: User, count: number) {
  const ctx = makeContext(database.db, { user });
  for (let i = 0; i < count; i++) {
    await audit(ctx, { action: "test.write", resource: { type: "test", id: String(i) }, details: { i } });
  }
}

describe("audit.list", () => {
  let database: TestDatabase;
  let admin: User;
  let user: User;

  beforeAll(async () => {
    database = await freshDatabase();
    admin = (await createLocalUser(database.db, "admin")).user;
    user = (await createLocalUser(database.db, "user")).user;
    const asAdmin = callerFor(database.db, { user: admin });
    await asAdmin.organization.create({ name: "Acme", slug: "acme" });
    await asAdmin.organization.create({ name: "Globex", slug: "globex" });
    await expectRefusal(
      callerFor(database.db, { user }).organization.create({ name: "X", slug: "x" }),
      "FORBIDDEN",
    );
    await appendEntries(database, user, 5);
  });

  it("filters by actor, action, result and resource", async () => {
    const asAdmin = callerFor(database.db, { user: admin });
    const created = await asAdmin.audit.list({ action: "organization.create", actorId: admin.id });
    expect(created.items).toHaveLength(2);
    expect(created.items.every((entry) => entry.result === "success")).toBe(true);
    expect(created.items.map((e) => e.seq)).toEqual(
      [...created.items.map((e) => e.seq)].sort((a, b) => b - a),
    );

    const denied = await asAdmin.audit.list({ result: "denied" });
    expect(denied.items).toHaveLength(1);
    expect(denied.items[0]).toMatchObject({ actor: { id: user.id, role: "user" }, reason: "role_required" });

    const byEmail = await asAdmin.audit.list({ actorEmail: user.email, resourceType: "test" });
    expect(byEmail.items).toHaveLength(5);
    const one = await asAdmin.audit.list({ resourceType: "test", resourceId: "3" });
    expect(one.items.map((e) => e.details)).toEqual([{ i: 3 }]);
  });

  it("filters by time range and pages with a cursor without gaps or repeats", async () => {
    const asAdmin = callerFor(database.db, { user: admin });
    const all = await asAdmin.audit.list({ limit: 200 });
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const result = await asAdmin.audit.list({ limit: 3, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...result.items.map((entry) => entry.seq));
      if (result.nextCursor === null) break;
      cursor = result.nextCursor;
    }
    expect(seen).toEqual(all.items.map((entry) => entry.seq));

    const future = await asAdmin.audit.list({ from: new Date(Date.now() + 3_600_000) });
    expect(future.items).toEqual([]);
    const past = await asAdmin.audit.list({ to: new Date(0) });
    expect(past.items).toEqual([]);
    const window = await asAdmin.audit.list({
      from: new Date(Date.now() - 3_600_000),
      to: new Date(Date.now() + 1000),
    });
    expect(window.items.length).toBe(all.items.length);
  });

  it("refuses a range whose “to” is before its “from”, naming the field, for the list and the export", async () => {
    const asAdmin = callerFor(database.db, { user: admin });
    const backwards = { from: new Date("2026-12-02T10:00:00Z"), to: new Date("2026-12-02T09:00:00Z") };
    const listed = await expectRefusal(asAdmin.audit.list(backwards), "BAD_REQUEST");
    expect(flattenInputErrors(listed.cause)?.fieldErrors).toEqual({ to: ["must not be before “from”"] });
    const exported = await expectRefusal(
      asAdmin.audit.export({ ...backwards, format: "csv" }),
      "BAD_REQUEST",
    );
    expect(flattenInputErrors(exported.cause)?.fieldErrors).toEqual({ to: ["must not be before “from”"] });
    const same = new Date("2026-12-02T10:00:00Z");
    await expect(asAdmin.audit.list({ from: same, to: same })).resolves.toMatchObject({ items: [] });
  });

  it("is for admins only", async () => {
    await expectRefusal(callerFor(database.db, { user }).audit.list({}), "FORBIDDEN", "role_required");
  });
});

describe("audit chain", () => {
  it("stays one verifying chain with 20 concurrent writers on 4 connections (replicas)", async () => {
    const database = await freshDatabase();
    const { user } = await createLocalUser(database.db, "admin");
    const replicas: DatabaseConnection[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        replicas.push(
          await connectDatabase({ url: inject("mongoUrl"), dbName: database.dbName, ensureIndexes: false }),
        );
      }
      await Promise.all(
        Array.from({ length: 20 }, async (_, writer) => {
          const replica = replicas[writer % replicas.length];
          if (replica === undefined) throw new Error("unreachable");
          const ctx = makeContext(replica.db, { user });
          for (let i = 0; i < 5; i++) {
            await audit(ctx, {
              action: "test.concurrent",
              resource: { type: "writer", id: String(writer) },
              details: { i },
            });
          }
        }),
      );
    } finally {
      for (const replica of replicas) await replica.close();
    }
    const result = await callerFor(database.db, { user }).audit.verify();
    expect(result).toEqual({ ok: true, checked: 100, firstBroken: null, checkpoint: null });
    const seqs = (await database.db.audit.scan({}, 1000)).map((entry) => entry.seq);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  async function tamperedChain(
    tamper: (collection: ReturnType<typeof rawAudit>, entries: AuditEntry[]) => Promise<void>,
  ) {
    const database = await freshDatabase();
    const { user } = await createLocalUser(database.db, "admin");
    await appendEntries(database, user, 8);
    const caller = callerFor(database.db, { user });
    expect((await caller.audit.verify()).ok).toBe(true);
    await tamper(rawAudit(database), await database.db.audit.scan({}, 100));
    return { result: await caller.audit.verify() };
  }

  it("names the altered entry when a stored entry is changed", async () => {
    const { result } = await tamperedChain(async (collection) => {
      await collection.updateOne({ seq: 5 }, { $set: { "details.i": 999 } });
    });
    expect(result).toMatchObject({
      ok: false,
      checked: 4,
      firstBroken: { seq: 5, problem: "hash_mismatch" },
    });
  });

  it("names the next entry when an altered entry's own hash was recomputed", async () => {
    const { result } = await tamperedChain(async (collection, entries) => {
      const original = entries.find((entry) => entry.seq === 3);
      if (original === undefined) throw new Error("seq 3 missing");
      const { hash: _old, ...unhashed } = {
        ...original,
        actor: { ...original.actor, email: "someone-else@example.test" },
      };
      await collection.updateOne({ seq: 3 }, { $set: { actor: unhashed.actor, hash: hashEntry(unhashed) } });
    });
    expect(result.firstBroken).toMatchObject({ seq: 4, problem: "prev_hash_mismatch" });
  });

  it("names the entry after a gap when an entry is removed", async () => {
    const { result } = await tamperedChain(async (collection) => {
      await collection.deleteOne({ seq: 6 });
    });
    expect(result).toMatchObject({ ok: false, firstBroken: { seq: 7, problem: "seq_gap" } });
  });

  it("names the first moved entry when two entries are swapped", async () => {
    const { result } = await tamperedChain(async (collection) => {
      await collection.updateOne({ seq: 4 }, { $set: { seq: 1000 } });
      await collection.updateOne({ seq: 5 }, { $set: { seq: 4 } });
      await collection.updateOne({ seq: 1000 }, { $set: { seq: 5 } });
    });
    expect(result.ok).toBe(false);
    expect(result.firstBroken?.seq).toBe(4);
    expect(["prev_hash_mismatch", "seq_order", "hash_mismatch"]).toContain(result.firstBroken?.problem);
  });
});

describe("audit.export", () => {
  let database: TestDatabase;
  let admin: User;

  beforeAll(async () => {
    database = await freshDatabase();
    admin = (await createLocalUser(database.db, "admin")).user;
    const hostile = makeContext(database.db, { user: admin });
    hostile.request.userAgent = '=HYPERLINK("http://evil.example","click")';
    await audit(hostile, {
      action: "test.hostile",
      details: { note: 'comma, "quote"\r\nnewline', formula: "+1+1" },
    });
    await appendEntries(database, admin, 3);
  });

  it("writes CSV that parses back, with formula cells defused", async () => {
    const output = await callerFor(database.db, { user: admin }).audit.export({ format: "csv" });
    expect(output.format).toBe("csv");
    expect(output.filename).toMatch(/^neosc-audit-\d{4}-\d{2}-\d{2}T\d{6}Z\.csv$/);
    const rows = parseCsv(output.content);
    expect(rows[0]?.slice(0, 3)).toEqual(["seq", "at", "actorId"]);
    expect(rows).toHaveLength(output.count + 1);
    const header = rows[0] ?? [];
    const hostileRow = rows.find((row) => row[header.indexOf("action")] === "test.hostile");
    expect(hostileRow?.[header.indexOf("userAgent")]).toBe(`'=HYPERLINK("http://evil.example","click")`);
    expect(JSON.parse(hostileRow?.[header.indexOf("details")] ?? "{}")).toEqual({
      note: 'comma, "quote"\r\nnewline',
      formula: "+1+1",
    });
    for (const row of rows) expect(row).toHaveLength(header.length);
  });

  it("writes JSON Lines of the filtered range, oldest first, and audits the export", async () => {
    const caller = callerFor(database.db, { user: admin });
    const output = await caller.audit.export({ format: "jsonl", action: "test.write" });
    const lines = output.content
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as { seq: number; action: string });
    expect(lines).toHaveLength(3);
    expect(output.count).toBe(3);
    expect(lines.every((line) => line.action === "test.write")).toBe(true);
    expect(lines.map((line) => line.seq)).toEqual([...lines.map((line) => line.seq)].sort((a, b) => a - b));

    const exported = await database.db.audit.list({ action: "audit.export", limit: 5 });
    expect(exported.items[0]).toMatchObject({
      actor: { id: admin.id },
      details: { format: "jsonl", count: 3 },
    });
    expect((await caller.audit.verify()).ok).toBe(true);
  });
});
