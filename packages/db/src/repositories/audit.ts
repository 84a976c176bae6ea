import { randomUUID } from "node:crypto";
import {
  type AuditEntry,
  type AuditEvent,
  type AuditFilter,
  type AuditVerifyOutput,
  GENESIS_HASH,
  type ListAuditInput,
} from "@neosc/core/audit";
import type { Page } from "@neosc/core/common";
import type { Filter } from "mongodb";
import { canonicalJson, sha256Hex } from "../canonical.ts";
import type { AuditDoc, Collections } from "../collections.ts";
import { decodeCursor, encodeCursor, escapeRegex } from "../cursor.ts";
import { isDuplicateKeyError } from "../errors.ts";

export interface AuditRepository {
  /**
   * Appends one link: assigns `seq` (next after the last, unique index, retried on conflict),
   * `at` (never earlier than the previous entry), `prevHash` and
   * `hash = sha256(canonicalJson(entry without hash))`. `details` are stored as plain JSON.
   */
  append(event: AuditEvent): Promise<AuditEntry>;
  /** Newest first (seq desc), keyset cursor. */
  list(input: ListAuditInput): Promise<Page<AuditEntry>>;
  /** Oldest first (seq asc), at most `limit` entries matching the filter (export). */
  scan(filter: AuditFilter, limit: number): Promise<AuditEntry[]>;
  /** Walks the whole chain by seq and reports the first broken link. */
  verify(): Promise<AuditVerifyOutput>;
  count(): Promise<number>;
}

/*
 * The hash chain (ARCHITECTURE §7). Entry n stores `prevHash` = hash of entry n-1 (GENESIS_HASH
 * for the first) and `hash` = SHA-256 of the canonical JSON of the entry itself without `hash`
 * (id, seq, at, actor, action, resource, clientIp, userAgent, result, reason, details, prevHash).
 *
 * Appending without transactions: read the last entry, write seq = last.seq + 1 chained to its
 * hash. The unique index on `seq` lets exactly one of several concurrent writers (on any
 * replica) win a seq; the others get a duplicate key, re-read the new last entry and retry with
 * a small random back-off. Entries are never updated, so a chain link, once written, stays valid.
 */

const MAX_APPEND_ATTEMPTS = 200;

type Unhashed = Omit<AuditEntry, "hash">;

export function hashEntry(entry: Unhashed): string {
  return sha256Hex(
    canonicalJson({
      id: entry.id,
      seq: entry.seq,
      at: entry.at,
      actor: entry.actor,
      action: entry.action,
      resource: entry.resource,
      clientIp: entry.clientIp,
      userAgent: entry.userAgent,
      result: entry.result,
      reason: entry.reason,
      details: entry.details,
      prevHash: entry.prevHash,
    }),
  );
}

function toEntry(doc: AuditDoc): AuditEntry {
  return {
    id: doc._id,
    seq: doc.seq,
    at: doc.at,
    actor: { id: doc.actor?.id ?? null, email: doc.actor?.email ?? null, role: doc.actor?.role ?? null },
    action: doc.action,
    resource: { type: doc.resource?.type ?? "", id: doc.resource?.id ?? null },
    clientIp: doc.clientIp ?? null,
    userAgent: doc.userAgent ?? null,
    result: doc.result,
    reason: doc.reason ?? null,
    details: doc.details ?? {},
    prevHash: doc.prevHash,
    hash: doc.hash,
  };
}

function toDoc(entry: AuditEntry): AuditDoc {
  const { id, ...rest } = entry;
  return { _id: id, ...rest };
}

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A string as the database gives it back: BSON strings are UTF-8, which has no encoding for an
 * unpaired UTF-16 surrogate, so each becomes U+FFFD. Hashing the stored form keeps a note such as
 * "\ud800" from making its own entry fail verification.
 */
function storedText(text: string): string {
  return text.replace(UNPAIRED_SURROGATE, "\ufffd");
}

function storedTextOrNull(text: string | null): string | null {
  return text === null ? null : storedText(text);
}

function storedValue(value: unknown): unknown {
  if (typeof value === "string") return storedText(value);
  if (Array.isArray(value)) return value.map(storedValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, member]) => [storedText(key), storedValue(member)]),
    );
  }
  return value;
}

/** Details are stored as plain JSON (dates become ISO strings), so they hash the same when read back. */
function plainDetails(details: Record<string, unknown>): Record<string, unknown> {
  const plain = storedValue(JSON.parse(JSON.stringify(details ?? {})));
  return plain !== null && typeof plain === "object" && !Array.isArray(plain)
    ? (plain as Record<string, unknown>)
    : {};
}

function filterOf(filter: AuditFilter): Filter<AuditDoc> {
  const query: Filter<AuditDoc> = {};
  if (filter.actorId !== undefined) query["actor.id"] = filter.actorId;
  if (filter.actorEmail) query["actor.email"] = { $regex: escapeRegex(filter.actorEmail), $options: "i" };
  if (filter.action) query.action = { $regex: `^${escapeRegex(filter.action)}` };
  if (filter.resourceType !== undefined) query["resource.type"] = filter.resourceType;
  if (filter.resourceId !== undefined) query["resource.id"] = filter.resourceId;
  if (filter.result !== undefined) query.result = filter.result;
  if (filter.from !== undefined || filter.to !== undefined) {
    query.at = {
      ...(filter.from === undefined ? {} : { $gte: filter.from }),
      ...(filter.to === undefined ? {} : { $lte: filter.to }),
    };
  }
  return query;
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface PendingAppend {
  id: string;
  event: AuditEvent;
  details: Record<string, unknown>;
  resolve: (entry: AuditEntry) => void;
  reject: (error: unknown) => void;
}

/** Most entries one insert carries; the rest wait for the next round trip. */
const MAX_BATCH = 200;

export function createAuditRepository(collections: Collections, clock: () => Date): AuditRepository {
  const audit = collections.audit;

  /*
   * Group commit. Inside one process, appends queue up and a single writer chains everything
   * pending onto the last stored entry and writes it with one ordered insert. Concurrent
   * requests on this replica therefore never race each other for a seq (they would otherwise
   * retry quadratically); the unique index on `seq` still arbitrates between replicas. The
   * queue holds only events in flight, never per-user state, and every caller's promise
   * settles with its own entry or the error of the write it was part of.
   */
  let queue: PendingAppend[] = [];
  let writing = false;

  function chain(batch: PendingAppend[], last: { seq: number; hash: string; at: Date } | null): AuditEntry[] {
    const entries: AuditEntry[] = [];
    let previous = last;
    for (const { id, event, details } of batch) {
      const now = clock();
      const unhashed: Unhashed = {
        id,
        seq: (previous?.seq ?? 0) + 1,
        // Never earlier than the previous link, so time order along the chain is checkable.
        at: previous && previous.at > now ? previous.at : now,
        actor: {
          id: storedTextOrNull(event.actor.id),
          email: storedTextOrNull(event.actor.email),
          role: event.actor.role,
        },
        action: storedText(event.action),
        resource: { type: storedText(event.resource.type), id: storedTextOrNull(event.resource.id) },
        clientIp: storedTextOrNull(event.clientIp),
        userAgent: storedTextOrNull(event.userAgent),
        result: event.result,
        reason: storedTextOrNull(event.reason),
        details,
        prevHash: previous?.hash ?? GENESIS_HASH,
      };
      const entry: AuditEntry = { ...unhashed, hash: hashEntry(unhashed) };
      entries.push(entry);
      previous = entry;
    }
    return entries;
  }

  async function write(batch: PendingAppend[]): Promise<void> {
    let pending = batch;
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS && pending.length > 0; attempt += 1) {
      const last = await audit.findOne({}, { sort: { seq: -1 }, projection: { seq: 1, hash: 1, at: 1 } });
      const entries = chain(pending, last);
      try {
        await audit.insertMany(entries.map(toDoc), { ordered: true });
        for (const [index, item] of pending.entries()) item.resolve(entries[index] as AuditEntry);
        return;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        // Another replica took a seq. The entries before the conflict (ordered insert) — or
        // all of ours, after an ambiguous failure — are stored and valid links: settle those.
        const ids = pending.map((item) => item.id);
        const stored = new Map(
          (await audit.find({ _id: { $in: ids } }).toArray()).map((doc) => [doc._id, doc]),
        );
        const rest: PendingAppend[] = [];
        for (const item of pending) {
          const doc = stored.get(item.id);
          if (doc) item.resolve(toEntry(doc));
          else rest.push(item);
        }
        pending = rest;
        if (pending.length > 0) await pause(Math.random() * Math.min(50, 2 + attempt * 2));
      }
    }
    if (pending.length > 0) throw new Error("audit append: too much contention for the next seq");
  }

  async function drain(): Promise<void> {
    writing = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, MAX_BATCH);
        queue = queue.slice(MAX_BATCH);
        try {
          await write(batch);
        } catch (error) {
          // Settles only the ones still waiting; resolved promises ignore a later reject.
          for (const item of batch) item.reject(error);
        }
      }
    } finally {
      writing = false;
    }
  }

  return {
    append(event) {
      return new Promise<AuditEntry>((resolve, reject) => {
        queue.push({ id: randomUUID(), event, details: plainDetails(event.details), resolve, reject });
        if (!writing) void drain();
      });
    },

    async list(input) {
      const query = filterOf(input);
      if (input.cursor) {
        const [seq] = decodeCursor(input.cursor, ["number"] as const);
        query.seq = { $lt: seq };
      }
      const docs = await audit
        .find(query)
        .sort({ seq: -1 })
        .limit(input.limit + 1)
        .toArray();
      const items = docs.slice(0, input.limit).map(toEntry);
      const last = items.at(-1);
      return { items, nextCursor: docs.length > input.limit && last ? encodeCursor([last.seq]) : null };
    },

    async scan(filter, limit) {
      const docs = await audit.find(filterOf(filter)).sort({ seq: 1 }).limit(limit).toArray();
      return docs.map(toEntry);
    },

    async verify(): Promise<AuditVerifyOutput> {
      let previous: AuditEntry | null = null;
      let checked = 0;
      const cursor = audit.find({}).sort({ seq: 1, _id: 1 }).batchSize(1000);
      try {
        for await (const doc of cursor) {
          const entry = toEntry(doc);
          const broken = (problem: NonNullable<AuditVerifyOutput["firstBroken"]>["problem"]) => ({
            ok: false,
            checked,
            firstBroken: { seq: entry.seq, id: entry.id, problem },
          });
          const expectedSeq = (previous?.seq ?? 0) + 1;
          if (previous && entry.seq === previous.seq) return broken("seq_order");
          if (entry.seq !== expectedSeq) return broken("seq_gap");
          if (previous && entry.at.getTime() < previous.at.getTime()) return broken("seq_order");
          if (entry.prevHash !== (previous?.hash ?? GENESIS_HASH)) return broken("prev_hash_mismatch");
          if (hashEntry(entry) !== entry.hash) return broken("hash_mismatch");
          checked += 1;
          previous = entry;
        }
      } finally {
        await cursor.close();
      }
      return { ok: true, checked, firstBroken: null };
    },

    count() {
      return audit.countDocuments({});
    },
  };
}
