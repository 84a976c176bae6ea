import { randomUUID } from "node:crypto";
import { type AuditEvent, GENESIS_HASH } from "@neosc/core/audit";
import { describe, expect, inject, it } from "vitest";
import { canonicalJson } from "../src/canonical.ts";
import { type AuditDoc, COLLECTION_NAMES } from "../src/collections.ts";
import { connectDatabase } from "../src/database.ts";
import { hashEntry } from "../src/repositories/audit.ts";
import { useTestDatabase } from "./support.ts";

/** A clock that moves one second per reading, so entries have distinct, increasing times. */
function steppingClock(): () => Date {
  let tick = Date.UTC(2035, 0, 1);
  return () => {
    tick += 1000;
    return new Date(tick);
  };
}

const handle = useTestDatabase({ clock: steppingClock() });

function event(action: string, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    actor: { id: "actor-1", email: "admin@example.com", role: "admin" },
    action,
    resource: { type: "workspace", id: "ws-1" },
    clientIp: "10.1.2.3",
    userAgent: "vitest",
    result: "success",
    reason: null,
    details: {},
    ...overrides,
  };
}

/** The raw collection of the file's database, for tampering like an attacker with DB access. */
function rawAudit() {
  const { connection, dbName } = handle.test;
  return connection.client.db(dbName).collection<AuditDoc>(COLLECTION_NAMES.audit);
}

async function rehashFrom(seq: number) {
  // What a careful attacker does after changing an entry: recompute every later link.
  const raw = rawAudit();
  const docs = await raw
    .find({ seq: { $gte: seq - 1 } })
    .sort({ seq: 1 })
    .toArray();
  let previousHash = docs[0]?.seq === seq - 1 ? docs[0].hash : GENESIS_HASH;
  for (const doc of docs) {
    if (doc.seq < seq) continue;
    const { _id, hash: _old, ...rest } = doc;
    const hash = hashEntry({ id: _id, ...rest, prevHash: previousHash });
    await raw.updateOne({ _id }, { $set: { prevHash: previousHash, hash } });
    previousHash = hash;
  }
}

describe("audit repository", () => {
  it("appends a hash chain starting at genesis", async () => {
    const { db } = handle;
    const first = await db.audit.append(
      event("workspace.create", {
        details: { when: new Date("2035-05-05T00:00:00.000Z"), nested: { b: 1, a: [1, 2] } },
      }),
    );
    const second = await db.audit.append(
      event("workspace.update", { result: "denied", reason: "role_required" }),
    );
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(first.details).toEqual({ when: "2035-05-05T00:00:00.000Z", nested: { b: 1, a: [1, 2] } });
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(second.at.getTime()).toBeGreaterThan(first.at.getTime());
    expect(await db.audit.verify()).toEqual({ ok: true, checked: 2, firstBroken: null });
  });

  it("hashes a canonical encoding: key order does not matter", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }),
    );
    expect(canonicalJson({ at: new Date(0), skip: undefined })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
  });

  it("keeps one unbroken chain with 20 concurrent writers", async () => {
    const { db } = handle;
    const before = await db.audit.count();
    const entries = await Promise.all(
      Array.from({ length: 20 }, (_, index) => db.audit.append(event(`concurrent.${index}`))),
    );
    const seqs = entries.map((entry) => entry.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, index) => before + index + 1));
    expect(await db.audit.verify()).toEqual({ ok: true, checked: before + 20, firstBroken: null });
  });

  it("keeps one chain when several replicas append at once (each its own connection)", async () => {
    const { dbName } = handle.test;
    const replicas = await Promise.all(
      Array.from({ length: 4 }, () =>
        connectDatabase({ url: inject("mongoUrl"), dbName, maxPoolSize: 4, appName: "neosc-replica" }),
      ),
    );
    try {
      const before = await handle.db.audit.count();
      const entries = await Promise.all(
        replicas.flatMap((replica, r) =>
          Array.from({ length: 10 }, (_, index) => replica.db.audit.append(event(`replica.${r}.${index}`))),
        ),
      );
      // Every caller got its own stored entry, and together they fill the next 40 seqs.
      expect(new Set(entries.map((entry) => entry.id)).size).toBe(40);
      expect(entries.map((entry) => entry.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 40 }, (_, index) => before + index + 1),
      );
      for (const entry of entries) {
        const stored = await rawAudit().findOne({ _id: entry.id });
        expect(stored?.hash).toBe(entry.hash);
      }
      expect(await handle.db.audit.verify()).toEqual({ ok: true, checked: before + 40, firstBroken: null });
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
  });

  it("continues the chain of an install upgraded from before seq-derived ids and the head document", async () => {
    const { dbName } = handle.test;
    // Entries as the previous version wrote them: random ids, no head document.
    const legacyDb = `${dbName}_legacy`;
    const writer = await connectDatabase({ url: inject("mongoUrl"), dbName: legacyDb });
    try {
      const raw = writer.client.db(legacyDb).collection<AuditDoc>(COLLECTION_NAMES.audit);
      let prevHash = GENESIS_HASH;
      for (let seq = 1; seq <= 3; seq++) {
        const unhashed = {
          ...event(`legacy.${seq}`),
          id: randomUUID(),
          seq,
          at: new Date(Date.UTC(2030, 0, 1, 0, 0, seq)),
          details: {},
          prevHash,
        };
        const hash = hashEntry(unhashed);
        const { id, ...rest } = unhashed;
        await raw.insertOne({ _id: id, ...rest, hash });
        prevHash = hash;
      }
      const replicas = await Promise.all(
        Array.from({ length: 2 }, () => connectDatabase({ url: inject("mongoUrl"), dbName: legacyDb })),
      );
      try {
        const appended = await Promise.all(
          replicas.flatMap((replica, r) =>
            Array.from({ length: 5 }, (_, index) => replica.db.audit.append(event(`new.${r}.${index}`))),
          ),
        );
        expect(appended.map((entry) => entry.seq).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 10 }, (_, index) => index + 4),
        );
        expect(await writer.db.audit.verify()).toEqual({ ok: true, checked: 13, firstBroken: null });
      } finally {
        await Promise.all(replicas.map((replica) => replica.close()));
      }
    } finally {
      await writer.client.db(legacyDb).dropDatabase();
      await writer.close();
    }
  });

  it("lists newest first with filters and a seq cursor, and scans oldest first", async () => {
    const { db } = handle;
    for (let index = 0; index < 5; index += 1) {
      await db.audit.append(
        event("session.disconnect", {
          actor: { id: `filter-actor-${index % 2}`, email: `Person${index}@Example.com`, role: "user" },
          resource: { type: "session", id: `s-${index}` },
          result: index === 4 ? "error" : "success",
        }),
      );
    }
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await db.audit.list({ limit: 2, cursor, action: "session." });
      seen.push(...page.items.map((entry) => entry.seq));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));

    const byActor = await db.audit.list({ limit: 50, actorId: "filter-actor-1" });
    expect(byActor.items.map((entry) => entry.resource.id)).toEqual(["s-3", "s-1"]);
    expect((await db.audit.list({ limit: 50, actorEmail: "person2@example" })).items).toHaveLength(1);
    expect((await db.audit.list({ limit: 50, resourceType: "session", result: "error" })).items).toHaveLength(
      1,
    );
    expect((await db.audit.list({ limit: 50, resourceId: "s-0" })).items).toHaveLength(1);
    const last = byActor.items[0];
    const window = await db.audit.list({ limit: 50, from: last?.at, to: last?.at });
    expect(window.items.map((entry) => entry.id)).toEqual([last?.id]);

    const scanned = await db.audit.scan({ action: "session.disconnect" }, 3);
    expect(scanned.map((entry) => entry.resource.id)).toEqual(["s-0", "s-1", "s-2"]);
  });

  it("reports an altered entry", async () => {
    const { db } = handle;
    const target = await db.audit.append(event("policy.toggle"));
    await db.audit.append(event("policy.update"));
    await rawAudit().updateOne({ _id: target.id }, { $set: { action: "policy.list" } });
    expect(await db.audit.verify()).toMatchObject({
      ok: false,
      checked: target.seq - 1,
      firstBroken: { seq: target.seq, id: target.id, problem: "hash_mismatch" },
    });
    await rawAudit().updateOne({ _id: target.id }, { $set: { action: "policy.toggle" } });
    expect((await db.audit.verify()).ok).toBe(true);

    // Re-hashing the altered entry alone breaks the link to the next one.
    await rawAudit().updateOne({ _id: target.id }, { $set: { result: "denied" } });
    await rehashFrom(target.seq);
    const next = await rawAudit().findOne({ seq: target.seq + 1 });
    await rawAudit().updateOne({ _id: next?._id ?? "" }, { $set: { prevHash: GENESIS_HASH } });
    expect((await db.audit.verify()).firstBroken).toMatchObject({
      seq: target.seq + 1,
      problem: "prev_hash_mismatch",
    });
    await rehashFrom(target.seq);
    expect((await db.audit.verify()).ok).toBe(true);
  });

  it("reports a removed entry", async () => {
    const { db } = handle;
    const removed = await db.audit.append(event("user.disable"));
    await db.audit.append(event("user.enable"));
    await rawAudit().deleteOne({ _id: removed.id });
    expect(await db.audit.verify()).toMatchObject({
      ok: false,
      firstBroken: { seq: removed.seq + 1, problem: "seq_gap" },
    });
    // Closing the gap by renumbering is caught by the broken link.
    await rawAudit().updateMany({ seq: { $gt: removed.seq } }, { $inc: { seq: -1 } });
    expect((await db.audit.verify()).firstBroken).toMatchObject({ seq: removed.seq });
    expect((await db.audit.verify()).firstBroken?.problem).toMatch(/hash_mismatch|prev_hash_mismatch/);
  });
});

describe("audit reordering", () => {
  const reorder = useTestDatabase({ clock: steppingClock() });

  it("reports swapped entries even when the attacker re-hashes the chain", async () => {
    const { db, connection, dbName } = reorder.test;
    const entries = [];
    for (let index = 0; index < 5; index += 1) entries.push(await db.audit.append(event(`step.${index}`)));
    const raw = connection.client.db(dbName).collection<AuditDoc>(COLLECTION_NAMES.audit);
    const [third, fourth] = [entries[2], entries[3]];
    await raw.updateOne({ _id: third?.id ?? "" }, { $set: { seq: -1 } });
    await raw.updateOne({ _id: fourth?.id ?? "" }, { $set: { seq: 3 } });
    await raw.updateOne({ _id: third?.id ?? "" }, { $set: { seq: 4 } });
    expect((await db.audit.verify()).firstBroken).toMatchObject({ seq: 3, id: fourth?.id });

    // Recompute every link from seq 3: the hashes agree again, time order does not.
    const docs = await raw.find({}).sort({ seq: 1 }).toArray();
    let previous = GENESIS_HASH;
    for (const doc of docs) {
      const { _id, hash: _old, ...rest } = doc;
      const hash = hashEntry({ id: _id as string, ...rest, prevHash: previous } as Parameters<
        typeof hashEntry
      >[0]);
      await raw.updateOne({ _id }, { $set: { prevHash: previous, hash } });
      previous = hash;
    }
    expect(await db.audit.verify()).toMatchObject({
      ok: false,
      checked: 3,
      firstBroken: { seq: 4, id: third?.id, problem: "seq_order" },
    });
  });
});
