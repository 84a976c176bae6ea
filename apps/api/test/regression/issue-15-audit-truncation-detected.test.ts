import type { AuditEntry, AuditVerifyReport } from "@neosc/core/audit";
import { hashEntry } from "@neosc/db/repositories/audit";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server.ts";
import { useApi } from "../support/api.ts";
import { bearer, mutation, query } from "../support/http.ts";
import { signInAdmin } from "../support/people.ts";

/*
 * Deleting the newest audit entries left a valid, shorter chain: `audit.verify` said "intact".
 * Signed checkpoints of the chain's head (key outside the database) now make it show.
 */

const api = useApi();
let server: RunningServer;
let adminToken: string;
/** What the first case deleted. */
let truncated: AuditDoc[] = [];

/** The stored shapes, as far as this test touches them. */
type AuditDoc = { _id: string; hash: string } & Omit<AuditEntry, "id" | "hash">;
type AuditCheckpointDoc = { _id: string; seq: number; hash: string };

const raw = () => api.database.connection.client.db(api.database.dbName);
const auditLogs = () => raw().collection<AuditDoc>("audit_logs");
const checkpoints = () => raw().collection<AuditCheckpointDoc>("audit_checkpoints");

async function verify(target = server) {
  const response = await query<AuditVerifyReport>(target.url, "audit.verify", undefined, {
    headers: bearer(adminToken),
  });
  if (response.data === null) throw new Error(`audit.verify refused: ${JSON.stringify(response.error)}`);
  return response.data;
}

async function checkpointNow() {
  const response = await mutation<{ seq: number; hash: string }>(server.url, "audit.checkpoint", undefined, {
    headers: bearer(adminToken),
  });
  expect(response.status).toBe(200);
  if (response.data === null) throw new Error("no checkpoint");
  return response.data;
}

beforeAll(async () => {
  server = await api.start();
  adminToken = await signInAdmin(server);
});

describe("audit tail truncation", () => {
  it("is reported once the newest entries are deleted in the database", async () => {
    for (let i = 0; i < 4; i++) await signInAdmin(server);
    const checkpoint = await checkpointNow();
    const head = await auditLogs().findOne({}, { sort: { seq: -1 } });
    // The checkpoint covers its own audit entry.
    expect(head).toMatchObject({ seq: checkpoint.seq, hash: checkpoint.hash, action: "audit.checkpoint" });
    expect(await verify()).toMatchObject({
      ok: true,
      checked: checkpoint.seq,
      checkpoint: { seq: checkpoint.seq },
    });

    truncated = await auditLogs()
      .find({ seq: { $gt: checkpoint.seq - 3 } })
      .toArray();
    await auditLogs().deleteMany({ seq: { $gt: checkpoint.seq - 3 } });
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: { seq: checkpoint.seq - 2, problem: "truncated" },
      checkpoint: { seq: checkpoint.seq },
    });
  });

  it("cannot be hidden by rewriting the checkpoint without the key", async () => {
    const latest = await checkpoints().findOne({ _id: "latest" });
    if (latest === null) throw new Error("no checkpoint stored");
    const head = await auditLogs().findOne({}, { sort: { seq: -1 } });
    if (head === null) throw new Error("empty chain");
    await checkpoints().updateOne({ _id: "latest" }, { $set: { seq: head.seq, hash: head.hash } });
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: { seq: head.seq, problem: "checkpoint_signature" },
    });
  });

  it("names the signed entry when it was rewritten with a recomputed hash (a chain that still links)", async () => {
    // The deleted entries put back: entries appended since chain onto the deleted head (the API
    // still knows it), which would otherwise stay a gap in front of this case.
    await auditLogs().insertMany(truncated);
    const checkpoint = await checkpointNow();
    const doc = await auditLogs().findOne({ seq: checkpoint.seq });
    if (doc === null) throw new Error("no head entry");
    const { _id, hash: _hash, ...rest } = doc;
    const rewritten = { ...rest, id: _id, action: "audit.list" };
    await auditLogs().updateOne({ _id }, { $set: { action: "audit.list", hash: hashEntry(rewritten) } });
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: { seq: checkpoint.seq, id: _id, problem: "checkpoint_mismatch" },
    });
  });

  it("is checkpointed periodically by every replica while the head moves", async () => {
    const fresh = await api.start({ NEOSC_AUDIT_CHECKPOINT_INTERVAL_SECONDS: "1" });
    await checkpoints().deleteMany({});
    await signInAdmin(fresh);
    const head = await auditLogs().findOne({}, { sort: { seq: -1 } });
    await expect
      .poll(async () => (await checkpoints().findOne({ _id: "latest" }))?.seq ?? 0, { timeout: 5000 })
      .toBeGreaterThanOrEqual(head?.seq ?? 1);
  });
});
