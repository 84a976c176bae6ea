import { type AuditEntry, GENESIS_HASH } from "@neosc/core/audit";
import type { Document } from "mongodb";
import { beforeAll, describe, expect, it } from "vitest";
import { type AuditDoc, COLLECTION_NAMES } from "../src/collections.ts";
import { hashEntry } from "../src/repositories/audit.ts";
import { useTestDatabase } from "./support.ts";

/*
 * Every stored field of an audit entry is covered: change one field of one entry, as an attacker
 * with write access to the collection would, and `audit.verify` must name that entry. Fields the
 * chain's order checks cannot see (everything but seq and prevHash) must be caught by the hash.
 * (seq needs no hash: verify demands exactly 1, 2, 3… in order, so any change of it shows.)
 */

/** A clock that moves one second per reading, so entries have distinct, increasing times. */
function steppingClock(): () => Date {
  let tick = Date.UTC(2036, 0, 1);
  return () => {
    tick += 1000;
    return new Date(tick);
  };
}

const handle = useTestDatabase({ clock: steppingClock() });

function rawAudit() {
  const { connection, dbName } = handle.test;
  return connection.client.db(dbName).collection<AuditDoc>(COLLECTION_NAMES.audit);
}

let target: AuditEntry;

beforeAll(async () => {
  const { db } = handle;
  for (const action of ["user.create", "workspace.create"]) {
    await db.audit.append({
      actor: { id: "actor-0", email: "first@example.com", role: "admin" },
      action,
      resource: { type: "workspace", id: "ws-0" },
      clientIp: null,
      userAgent: null,
      result: "success",
      reason: null,
      details: {},
    });
  }
  target = await db.audit.append({
    actor: { id: "actor-1", email: "admin@example.com", role: "admin" },
    action: "workspace.launch",
    resource: { type: "workspace", id: "ws-1" },
    clientIp: "10.1.2.3",
    userAgent: "vitest",
    result: "denied",
    reason: "policy_denied",
    details: { policy: "ip-allowlist", allowed: ["10.0.0.0/8"] },
  });
  await db.audit.append({
    actor: { id: "actor-2", email: "user@example.com", role: "user" },
    action: "session.heartbeat",
    resource: { type: "session", id: "s-1" },
    clientIp: "10.1.2.4",
    userAgent: "vitest",
    result: "success",
    reason: null,
    details: {},
  });
});

/** One stored field changed to a value of the same type. */
const TAMPERINGS: { field: string; set: () => Document; byHash: boolean }[] = [
  { field: "seq", set: () => ({ seq: 0 }), byHash: false },
  { field: "at", set: () => ({ at: new Date(target.at.getTime() + 1) }), byHash: true },
  { field: "actor.id", set: () => ({ "actor.id": "actor-9" }), byHash: true },
  { field: "actor.email", set: () => ({ "actor.email": "someone@example.com" }), byHash: true },
  { field: "actor.role", set: () => ({ "actor.role": "user" }), byHash: true },
  { field: "action", set: () => ({ action: "workspace.list" }), byHash: true },
  { field: "resource.type", set: () => ({ "resource.type": "session" }), byHash: true },
  { field: "resource.id", set: () => ({ "resource.id": "ws-2" }), byHash: true },
  { field: "clientIp", set: () => ({ clientIp: "10.1.2.9" }), byHash: true },
  { field: "userAgent", set: () => ({ userAgent: "curl" }), byHash: true },
  { field: "result", set: () => ({ result: "success" }), byHash: true },
  { field: "reason", set: () => ({ reason: "mfa_required" }), byHash: true },
  { field: "details", set: () => ({ details: { policy: "ip-allowlist", allowed: [] } }), byHash: true },
  { field: "details (one member)", set: () => ({ "details.policy": "mfa-required" }), byHash: true },
  { field: "prevHash", set: () => ({ prevHash: GENESIS_HASH }), byHash: false },
  { field: "hash", set: () => ({ hash: "f".repeat(64) }), byHash: true },
];

describe("audit.verify names the entry whose stored field changed", () => {
  it("starts from an intact chain", async () => {
    expect(await handle.db.audit.verify()).toEqual({ ok: true, checked: 4, firstBroken: null });
  });

  it.each(TAMPERINGS)("$field", async ({ set, byHash }) => {
    const original = await rawAudit().findOne({ _id: target.id });
    if (original === null) throw new Error("the target entry is missing");
    await rawAudit().updateOne({ _id: target.id }, { $set: set() });
    try {
      const report = await handle.db.audit.verify();
      expect(report.ok).toBe(false);
      expect(report.firstBroken?.id).toBe(target.id);
      if (byHash) expect(report.firstBroken).toMatchObject({ seq: target.seq, problem: "hash_mismatch" });
    } finally {
      await rawAudit().replaceOne({ _id: target.id }, original);
    }
    expect((await handle.db.audit.verify()).ok).toBe(true);
  });

  it("id (the entry stored again under another id)", async () => {
    const original = await rawAudit().findOne({ _id: target.id });
    if (original === null) throw new Error("the target entry is missing");
    const moved = { ...original, _id: "00000000-0000-4000-8000-000000000000" };
    await rawAudit().deleteOne({ _id: target.id });
    await rawAudit().insertOne(moved);
    try {
      expect((await handle.db.audit.verify()).firstBroken).toEqual({
        seq: target.seq,
        id: moved._id,
        problem: "hash_mismatch",
      });
    } finally {
      await rawAudit().deleteOne({ _id: moved._id });
      await rawAudit().insertOne(original);
    }
    expect((await handle.db.audit.verify()).ok).toBe(true);
  });

  it("prevHash (an entry rewritten and re-hashed, the next link re-pointed to it)", async () => {
    // Without prevHash inside the hash, this would verify: the rewrite would cost one re-hash
    // and one re-pointed link instead of re-hashing the whole rest of the chain.
    const original = await rawAudit().findOne({ _id: target.id });
    const next = await rawAudit().findOne({ seq: target.seq + 1 });
    if (original === null || next === null) throw new Error("the entries are missing");
    const { _id, hash: _old, ...rest } = original;
    const hash = hashEntry({ id: _id, ...rest, result: "success" });
    await rawAudit().updateOne({ _id }, { $set: { result: "success", hash } });
    await rawAudit().updateOne({ _id: next._id }, { $set: { prevHash: hash } });
    try {
      expect((await handle.db.audit.verify()).firstBroken).toEqual({
        seq: next.seq,
        id: next._id,
        problem: "hash_mismatch",
      });
    } finally {
      await rawAudit().replaceOne({ _id }, original);
      await rawAudit().replaceOne({ _id: next._id }, next);
    }
    expect((await handle.db.audit.verify()).ok).toBe(true);
  });
});
