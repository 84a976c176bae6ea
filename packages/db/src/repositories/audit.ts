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
  /**
   * Refusals (`result: denied`) written since `from`, counted per reason, most first; at most
   * `limit` entries are counted (statistics: a scan, bounded).
   */
  denialsByReason(from: Date, limit: number): Promise<{ reason: string; count: number }[]>;
}

/*
 * The hash chain (ARCHITECTURE §7). Entry n stores `prevHash` = hash of entry n-1 (GENESIS_HASH
 * for the first) and `hash` = SHA-256 of the canonical JSON of the entry itself without `hash`
 * (id, seq, at, actor, action, resource, clientIp, userAgent, result, reason, details, prevHash).
 *
 * Appending without transactions, and without a scan (FerretDB 1.24 finds only `_id` cheaply): an
 * entry's `_id` is derived from its seq (auditIdOf), so the insert of entry n+1 is the
 * compare-and-set that decides who extends the chain after n — the unique `_id` (and the unique
 * index on `seq`) lets exactly one of several concurrent writers, on any replica, win it. The
 * others get a duplicate key, find the new last entry by `_id` (n+1, n+2, … until one is
 * missing) and chain onto it. Where to start is this process's own last link, else the head
 * document (`markers` "audit-head", a hint every writer moves forward after its batch), else
 * (an install upgraded from before the head document) one sorted read of the last entry. Entries
 * are never updated, so a link, once written, stays valid.
 */

const MAX_APPEND_ATTEMPTS = 200;

const HEAD_ID = "audit-head";

/**
 * The `_id` of the entry with this seq: a UUID (version 4 layout) whose last 48 bits are the seq,
 * so the next link is found by `_id`. Entries written before this scheme keep their random ids.
 */
export function auditIdOf(seq: number): string {
  return `00000000-0000-4000-8000-${seq.toString(16).padStart(12, "0")}`;
}

/** What the next link needs of the last one. */
interface Link {
  seq: number;
  hash: string;
  at: Date;
}

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
  event: AuditEvent;
  details: Record<string, unknown>;
  resolve: (entry: AuditEntry) => void;
  reject: (error: unknown) => void;
}

/** Most entries one insert carries; the rest wait for the next round trip. */
const MAX_BATCH = 200;

export function createAuditRepository(collections: Collections, clock: () => Date): AuditRepository {
  const { audit, markers } = collections;

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
  /** The last link this process knows of (a hint: the inserts decide); undefined: not read yet. */
  let head: Link | null | undefined;

  const linkOf = (doc: Pick<AuditDoc, "seq" | "hash" | "at">): Link => ({
    seq: doc.seq,
    hash: doc.hash,
    at: doc.at,
  });

  /** The head document's link, or null when there is none yet. */
  async function publishedHead(): Promise<Link | null> {
    const marker = await markers.findOne({ _id: HEAD_ID });
    return marker !== null && typeof marker.seq === "number" && typeof marker.hash === "string"
      ? { seq: marker.seq, hash: marker.hash, at: marker.at }
      : null;
  }

  /** From `link`, the entries written after it, found by `_id` one after the other. */
  async function rollForward(link: Link | null): Promise<Link | null> {
    let current = link;
    for (;;) {
      const next = await audit.findOne(
        { _id: auditIdOf((current?.seq ?? 0) + 1) },
        { projection: { seq: 1, hash: 1, at: 1 } },
      );
      if (next === null) return current;
      current = linkOf(next);
    }
  }

  async function storedHead(): Promise<Link | null> {
    const published = await publishedHead();
    if (published !== null) return rollForward(published);
    // No head document: a fresh install, or one upgraded from before it (one sorted read, once).
    return storedHeadBySort();
  }

  async function storedHeadBySort(): Promise<Link | null> {
    const last = await audit.findOne({}, { sort: { seq: -1 }, projection: { seq: 1, hash: 1, at: 1 } });
    return rollForward(last === null ? null : linkOf(last));
  }

  /** Moves the head document forward (a hint: an older write landing late only costs a roll-forward). */
  async function publish(link: Link): Promise<void> {
    try {
      await markers.updateOne(
        { _id: HEAD_ID },
        { $set: { seq: link.seq, hash: link.hash, at: link.at } },
        { upsert: true },
      );
    } catch (error) {
      // Two first publishes racing (FerretDB's upsert is read-then-insert): the next one lands.
      if (!isDuplicateKeyError(error)) throw error;
    }
  }

  function chain(batch: PendingAppend[], last: Link | null): AuditEntry[] {
    const entries: AuditEntry[] = [];
    let previous = last;
    for (const { event, details } of batch) {
      const now = clock();
      const seq = (previous?.seq ?? 0) + 1;
      const unhashed: Unhashed = {
        id: auditIdOf(seq),
        seq,
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
      if (head === undefined) head = await storedHead();
      const entries = chain(pending, head);
      try {
        await audit.insertMany(entries.map(toDoc), { ordered: true });
      } catch (error) {
        head = undefined;
        if (!isDuplicateKeyError(error)) throw error;
        // Another writer took a seq. The entries before the conflict (ordered insert) are stored
        // and valid links: settle those, then chain the rest after whatever is last now.
        let stored = 0;
        let takenById = false;
        for (const entry of entries) {
          const doc = await audit.findOne({ _id: entry.id }, { projection: { hash: 1 } });
          if (doc?.hash !== entry.hash) {
            takenById = doc !== null;
            break;
          }
          pending[stored]?.resolve(entry);
          stored += 1;
        }
        const ours = stored > 0 ? (entries[stored - 1] as AuditEntry) : null;
        pending = pending.slice(stored);
        if (stored === 0 && !takenById) {
          // The seq is held by an entry with a random id (written before seq-derived ids).
          head = await storedHeadBySort();
        } else {
          const published = await publishedHead();
          const from = ours !== null && (published === null || ours.seq > published.seq) ? ours : published;
          head = await rollForward(from === null ? null : linkOf(from));
        }
        if (pending.length > 0) await pause(Math.random() * Math.min(50, 2 + attempt * 2));
        continue;
      }
      const last = entries.at(-1) as AuditEntry;
      head = linkOf(last);
      await publish(head);
      for (const [index, item] of pending.entries()) item.resolve(entries[index] as AuditEntry);
      return;
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
        queue.push({ event, details: plainDetails(event.details), resolve, reject });
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

    async denialsByReason(from, limit) {
      const rows = await audit
        .aggregate<{ _id: string | null; count: number }>([
          { $match: { result: "denied", at: { $gte: from } } },
          { $limit: limit },
          { $group: { _id: "$reason", count: { $sum: 1 } } },
          { $sort: { count: -1, _id: 1 } },
        ])
        .toArray();
      return rows.map((row) => ({ reason: row._id ?? "unknown", count: row.count }));
    },
  };
}
