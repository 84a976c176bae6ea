import { randomUUID } from "node:crypto";
import type { Page } from "@neosc/core/common";
import type { WorkspaceEndpoint } from "@neosc/core/endpoint";
import type { ListSessionsInput, SessionEndReason, WorkspaceSession } from "@neosc/core/session";
import type { Filter } from "mongodb";
import type { ActiveSessionDoc, ClaimDoc, Collections, SessionDoc, SessionSnapshot } from "../collections.ts";
import { claimOnce, dayOf, hourOf } from "../collections.ts";
import { decodeCursor, encodeCursor } from "../cursor.ts";
import { duplicateError, isDuplicateKeyError } from "../errors.ts";
import { withLock } from "../locks.ts";
import { bumpRevocations } from "./gateway.ts";

/** What the domain supplies at launch; status, heartbeat and end fields are set by the repository. */
export interface NewWorkspaceSession {
  /** Optional: the caller may choose the id (the gateway connection URL contains it). */
  id?: string;
  workspaceId: string;
  workspaceSlug: string;
  workspaceName: string;
  workspaceKind: WorkspaceSession["workspaceKind"];
  userId: string;
  userEmail: string;
  organizationId: string | null;
  startedAt: Date;
  clientIp: string | null;
  /** The workspace host it is placed on (null: web workspaces). */
  hostId?: string | null;
  connectionUrl: string | null;
  endsAt: Date | null;
  idleEndsAt: Date | null;
}

export interface ActiveSessionFilter {
  userId?: string;
  workspaceId?: string;
  organizationId?: string;
  hostId?: string;
}

export type TimeUnit = "hour" | "day";

/** One UTC hour or day with at least one event (empty buckets are not returned). */
export interface BucketCount {
  start: Date;
  count: number;
}

/** A workspace host a session may be placed on, with the most sessions it takes at once. */
export interface HostRoom {
  id: string;
  capacity: number;
}

export interface SessionsRepository {
  /**
   * Starts a session only while the person has fewer than `limit` active sessions (`null`: no
   * limit). Race-free without transactions: the check and the write happen under the person's
   * write lock, so of many parallel launches (on any replica) only `limit` start. Returns null
   * when the limit is reached.
   */
  createWithinLimit(session: NewWorkspaceSession, limit: number | null): Promise<WorkspaceSession | null>;
  /**
   * `createWithinLimit` for a session on a workspace host: placed on the first of `hosts` (in
   * the caller's order of preference) that still has room, the room checked and taken in one
   * step under the host's load lock, so of many parallel launches (on any replica) no more than
   * a host's capacity get a place on it. `person_limit`: the person's limit is reached;
   * `hosts_full`: none of the hosts had room.
   */
  createPlaced(
    session: Omit<NewWorkspaceSession, "hostId">,
    limit: number | null,
    hosts: readonly HostRoom[],
  ): Promise<WorkspaceSession | "person_limit" | "hosts_full">;
  findById(id: string): Promise<WorkspaceSession | null>;
  /*
   * The person's active sessions are read from their person document (one read by `_id`): the
   * copies made at launch, refreshed by input, heartbeats and the end.
   */
  /** The person's active session of that workspace, if any (newest first when several). */
  findActiveByUserAndWorkspace(userId: string, workspaceId: string): Promise<WorkspaceSession | null>;
  listActiveByUser(userId: string): Promise<WorkspaceSession[]>;
  countActiveByUser(userId: string): Promise<number>;
  /**
   * Newest first. With `userId` from the person document; without, from the active sessions
   * collection (bounded by what is active, not by history), each session then read by `_id`.
   */
  listActive(filter?: ActiveSessionFilter): Promise<WorkspaceSession[]>;
  countActive(filter?: ActiveSessionFilter): Promise<number>;
  /** Its host stores where the started workspace listens (only while the session is active). */
  setEndpoint(id: string, endpoint: Omit<WorkspaceEndpoint, "secret">): Promise<boolean>;
  /** Where an active session's workspace listens; null when ended or not started. */
  findEndpoint(id: string): Promise<Omit<WorkspaceEndpoint, "secret"> | null>;
  /**
   * Active sessions on each of these workspace hosts, for placement: one read by `_id` per host
   * (its load document), however many sessions are stored.
   */
  activeCountsByHost(hostIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * Rewrites the host's load document from its active sessions (the active sessions collection,
   * then each of the host's sessions by `_id`), under its load
   * lock: repairs what a writer that died between a session's insert or end and the load write
   * left. Returns how many sessions it lists.
   */
  recountHostLoad(hostId: string): Promise<number>;
  /** Newest first (startedAt desc, id desc), keyset cursor. */
  list(input: ListSessionsInput): Promise<Page<WorkspaceSession>>;
  /** Only while active; returns the updated session or null. */
  heartbeat(id: string, update: { at: Date }): Promise<WorkspaceSession | null>;
  /**
   * A person's real input reached the gateway (throttled by the caller): sets `lastInputAt` and
   * the new `idleEndsAt`. Only while active; returns the updated session or null.
   */
  recordInput(id: string, update: { at: Date; idleEndsAt: Date | null }): Promise<WorkspaceSession | null>;
  /**
   * Opens or renews (`until`: the lease's end) or closes (`until: null`) one watching connection's
   * entry on a live session; leases that ran out by `at` are dropped on the way. When the session
   * becomes watched or stops being watched, the revocation signal moves (the gateways tell the
   * person's viewer).
   */
  setWatch(id: string, watch: { connectionId: string; until: Date | null; at: Date }): Promise<void>;
  /**
   * Compare-and-set: ends the session only if it is still active. Returns the ended session when
   * THIS call ended it, null when it was already ended (or does not exist).
   */
  end(
    id: string,
    end: { reason: SessionEndReason; at: Date; note?: string | null },
  ): Promise<WorkspaceSession | null>;
  /**
   * Replaces the copy of the person's email on every session of theirs, ended ones included, and
   * on their person document (anonymization: the history keeps the id, not who they were). A scan
   * by `userId`, for a rare admin action. Returns how many stored sessions changed.
   */
  replaceUserEmail(userId: string, email: string): Promise<number>;
  /**
   * Active sessions whose `endsAt` or `idleEndsAt` is at or before `now` (for the sweeper): one
   * read of the active sessions collection, then each session that may be due by `_id`.
   */
  findExpired(now: Date, limit?: number): Promise<WorkspaceSession[]>;
  /**
   * Builds the per-person documents of an install upgraded from before they existed (from one
   * scan of the active sessions); idempotent, and a no-op once done. Returns how many it wrote.
   */
  indexPeople(): Promise<number>;
  /** Likewise the workspace hosts' load documents (see recountHostLoad). Returns how many it wrote. */
  indexHostLoads(): Promise<number>;
  /** Likewise the active sessions collection (see ActiveSessionDoc). Returns how many it wrote. */
  indexActiveSessions(): Promise<number>;
  /** Launches (session starts) per UTC hour/day since `from`, oldest first. */
  launchesPerBucket(unit: TimeUnit, from: Date): Promise<BucketCount[]>;
  /** Most launched workspaces since `from`. */
  topWorkspaces(
    from: Date,
    limit: number,
  ): Promise<{ workspaceId: string; name: string; launches: number }[]>;
  /**
   * When each session that ran at some time after `from` started and ended (null: still running),
   * newest first, at most `limit` of them (statistics: a scan, bounded).
   */
  spansSince(from: Date, limit: number): Promise<{ spans: SessionSpan[]; capped: boolean }>;
}

export interface SessionSpan {
  startedAt: Date;
  endedAt: Date | null;
}

function toSession(doc: SessionDoc): WorkspaceSession {
  return {
    id: doc._id,
    workspaceId: doc.workspaceId,
    workspaceSlug: doc.workspaceSlug,
    workspaceName: doc.workspaceName,
    workspaceKind: doc.workspaceKind,
    userId: doc.userId,
    userEmail: doc.userEmail,
    organizationId: doc.organizationId ?? null,
    status: doc.status,
    startedAt: doc.startedAt,
    lastHeartbeatAt: doc.lastHeartbeatAt,
    lastInputAt: doc.lastInputAt ?? null,
    endedAt: doc.endedAt ?? null,
    endReason: doc.endReason ?? null,
    endNote: doc.endNote ?? null,
    clientIp: doc.clientIp ?? null,
    hostId: doc.hostId ?? null,
    connectionUrl: doc.connectionUrl ?? null,
    endsAt: doc.endsAt ?? null,
    idleEndsAt: doc.idleEndsAt ?? null,
    ...watchedUntil(doc),
  };
}

/** The furthest lease of the session's open watches (none: not watched). */
function watchedUntil(doc: SessionDoc): { watchedUntil?: Date } {
  let until: Date | undefined;
  for (const watch of doc.watches ?? []) if (until === undefined || watch.until > until) until = watch.until;
  return until === undefined ? {} : { watchedUntil: until };
}

function activeFilter(filter: ActiveSessionFilter = {}): Filter<SessionDoc> {
  const query: Filter<SessionDoc> = { status: "active" };
  if (filter.userId !== undefined) query.userId = filter.userId;
  if (filter.workspaceId !== undefined) query.workspaceId = filter.workspaceId;
  if (filter.organizationId !== undefined) query.organizationId = filter.organizationId;
  if (filter.hostId !== undefined) query.hostId = filter.hostId;
  return query;
}

const endClaimId = (sessionId: string) => `session-end:${sessionId}`;
const personLockId = (userId: string) => `person-write:${userId}`;
const hostLoadLockId = (hostId: string) => `host-load:${hostId}`;
/** Set once every person with an active session has a person document (see indexPeople). */
const PEOPLE_INDEXED = "people-indexed";
/** Set once every host with an active session has a load document (see indexHostLoads). */
const HOST_LOADS_INDEXED = "host-loads-indexed";
/** Set once every active session has its active sessions entry (see indexActiveSessions). */
const ACTIVE_SESSIONS_INDEXED = "active-sessions-indexed";
/**
 * An active sessions entry without its session is a launch still between the two inserts, or one
 * that died there; after this long it is the latter and is dropped.
 */
const ENTRY_GRACE_MS = 5 * 60_000;

function entryOf(doc: SessionDoc): ActiveSessionDoc {
  return {
    _id: doc._id,
    userId: doc.userId,
    workspaceId: doc.workspaceId,
    organizationId: doc.organizationId ?? null,
    hostId: doc.hostId ?? null,
    endsAt: doc.endsAt ?? null,
    idleEndsAt: doc.idleEndsAt ?? null,
    at: new Date(),
  };
}

const isDue = (at: Date | null, now: Date) => at !== null && at.getTime() <= now.getTime();

function snapshotOf(doc: SessionDoc): SessionSnapshot {
  const { endpoint: _endpoint, ...snapshot } = doc;
  return snapshot;
}

const newestFirst = (a: SessionSnapshot, b: SessionSnapshot) =>
  b.startedAt.getTime() - a.startedAt.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0);

function matches(session: SessionSnapshot, filter: ActiveSessionFilter): boolean {
  return (
    (filter.workspaceId === undefined || session.workspaceId === filter.workspaceId) &&
    (filter.organizationId === undefined || session.organizationId === filter.organizationId) &&
    (filter.hostId === undefined || session.hostId === filter.hostId)
  );
}

/** One change of a host's load, waiting in its replica's batch (see updateHostLoad). */
interface LoadChange {
  change: (ids: string[]) => string[] | null | Promise<string[] | null>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function createSessionsRepository(collections: Collections): SessionsRepository {
  const { sessions, claims } = collections;

  const { people, markers, hostLoads, activeSessions } = collections;
  /** Monotonic: once the marker is seen, this replica stops looking for it. */
  let peopleIndexed = false;

  async function isPeopleIndexed(): Promise<boolean> {
    if (!peopleIndexed) peopleIndexed = (await markers.findOne({ _id: PEOPLE_INDEXED })) !== null;
    return peopleIndexed;
  }

  /** The person's active sessions, newest first: one read by `_id`. */
  async function personSessions(userId: string): Promise<SessionSnapshot[]> {
    const person = await people.findOne({ _id: userId });
    if (person !== null) return [...person.sessions].sort(newestFirst);
    if (await isPeopleIndexed()) return [];
    // An install upgraded from before person documents, not yet indexed: the old scan.
    const docs = await sessions.find(activeFilter({ userId })).toArray();
    return docs.map(snapshotOf).sort(newestFirst);
  }

  async function writePerson(userId: string, list: SessionSnapshot[]): Promise<void> {
    await people.updateOne(
      { _id: userId },
      { $set: { sessions: list, updatedAt: new Date() } },
      { upsert: true },
    );
  }

  /** Changes the person's copies under their write lock (see PersonDoc). */
  function updatePerson(
    userId: string,
    change: (list: SessionSnapshot[]) => SessionSnapshot[] | null,
  ): Promise<void> {
    return withLock(claims, personLockId(userId), async () => {
      const next = change(await personSessions(userId));
      if (next !== null) await writePerson(userId, next);
    });
  }

  /** Load changes of this replica waiting for the host's lock, per host (see updateHostLoad). */
  const loadBatches = new Map<string, LoadChange[]>();

  /**
   * Changes the host's list of active sessions under its load lock (see HostLoadDoc): launches
   * and ends on any replica serialize here, so none is lost to FerretDB's read-modify-write.
   * The changes that this replica asks for while one of its writers waits for the lock join that
   * writer: one lock, one read and one write apply them all, in order. Ten launches at once on
   * one replica otherwise queue for the lock one after another (four round trips each).
   */
  function updateHostLoad(hostId: string, change: LoadChange["change"]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiting = loadBatches.get(hostId);
      if (waiting !== undefined) {
        waiting.push({ change, resolve, reject });
        return;
      }
      const batch: LoadChange[] = [{ change, resolve, reject }];
      loadBatches.set(hostId, batch);
      const applied = new Set<LoadChange>();
      withLock(claims, hostLoadLockId(hostId), async () => {
        // Closed once the lock is held: a change asked for from now on waits for the next round.
        if (loadBatches.get(hostId) === batch) loadBatches.delete(hostId);
        const current = await hostLoads.findOne({ _id: hostId });
        let ids = current?.sessions ?? [];
        let changed = false;
        for (const entry of batch) {
          try {
            const next = await entry.change(ids);
            if (next !== null) {
              ids = next;
              changed = true;
            }
            applied.add(entry);
          } catch (error) {
            entry.reject(error);
          }
        }
        if (!changed) return;
        await hostLoads.updateOne(
          { _id: hostId },
          { $set: { sessions: ids, updatedAt: new Date() } },
          { upsert: true },
        );
      }).then(
        () => {
          for (const entry of applied) entry.resolve();
        },
        (error: unknown) => {
          if (loadBatches.get(hostId) === batch) loadBatches.delete(hostId);
          for (const entry of batch) entry.reject(error);
        },
      );
    });
  }

  /*
   * Under the load lock, so exact: a session inserted after the scan is added after this write
   * (its launch waits for the lock), one ended after the scan is removed after it.
   */
  async function recountHostLoad(hostId: string): Promise<number> {
    let count = 0;
    await updateHostLoad(hostId, async (listed) => {
      const docs = await liveSessions((await activeEntries()).filter((entry) => entry.hostId === hostId));
      count = docs.length;
      const ids = docs.map((doc) => doc._id);
      // Unchanged (the usual case): nothing written.
      const known = new Set(listed);
      return ids.length === listed.length && ids.every((id) => known.has(id)) ? null : ids;
    });
    return count;
  }

  /*
   * The active sessions collection (see ActiveSessionDoc): one read of a collection as large as
   * what is active, then the sessions by `_id`; the entries found stale are dropped on the way.
   */
  function activeEntries(): Promise<ActiveSessionDoc[]> {
    return activeSessions.find({}).toArray();
  }

  /** The entries' sessions that are still active, each read by `_id` (stale entries dropped). */
  async function liveSessions(entries: readonly ActiveSessionDoc[]): Promise<SessionDoc[]> {
    const docs = await Promise.all(entries.map((entry) => sessions.findOne({ _id: entry._id })));
    const stale = entries.filter((entry, index) => {
      const doc = docs[index];
      if (doc === null || doc === undefined) return entry.at.getTime() < Date.now() - ENTRY_GRACE_MS;
      return doc.status !== "active";
    });
    await Promise.all(stale.map((entry) => activeSessions.deleteOne({ _id: entry._id })));
    return docs.flatMap((doc) => (doc != null && doc.status === "active" ? [doc] : []));
  }

  async function activeSessionsMatching(filter: ActiveSessionFilter): Promise<SessionDoc[]> {
    const entries = (await activeEntries()).filter(
      (entry) =>
        (filter.workspaceId === undefined || entry.workspaceId === filter.workspaceId) &&
        (filter.organizationId === undefined || entry.organizationId === filter.organizationId) &&
        (filter.hostId === undefined || entry.hostId === filter.hostId),
    );
    return (await liveSessions(entries)).filter((doc) => matches(doc, filter)).sort(newestFirst);
  }

  /**
   * Inserted before the session (see ActiveSessionDoc). An entry left by a launch that died
   * before its session is replaced; an id already used by a session is the caller's duplicate.
   */
  async function insertEntry(doc: SessionDoc): Promise<void> {
    try {
      await activeSessions.insertOne(entryOf(doc));
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      if ((await sessions.findOne({ _id: doc._id }, { projection: { _id: 1 } })) !== null)
        throw duplicateError("session", "_id", error);
      await activeSessions.replaceOne({ _id: doc._id }, entryOf(doc));
    }
  }

  /** Replaces the person's copy of a session that is still listed (fresher fields). */
  function refreshCopy(doc: SessionDoc): Promise<void> {
    return updatePerson(doc.userId, (list) =>
      list.some((copy) => copy._id === doc._id)
        ? list.map((copy) => (copy._id === doc._id ? snapshotOf(doc) : copy))
        : null,
    );
  }

  /** The listed sessions that are still active, as stored now (each read by `_id`). */
  async function stillActive(list: SessionSnapshot[]): Promise<SessionSnapshot[]> {
    const docs = await Promise.all(list.map((copy) => sessions.findOne({ _id: copy._id })));
    return docs.flatMap((doc) => (doc !== null && doc.status === "active" ? [snapshotOf(doc)] : []));
  }

  /**
   * Inserts the session under the person's write lock (their limit checked there), on the first
   * of `hosts` whose load lock, held by the same step, finds it below its capacity (null: no
   * check); a session that finds no room is removed again, never returned. No hosts: a web
   * session, placed nowhere.
   */
  async function create(
    input: Omit<NewWorkspaceSession, "hostId">,
    limit: number | null,
    hosts: readonly { id: string; capacity: number | null }[],
  ): Promise<WorkspaceSession | "person_limit" | "hosts_full"> {
    const id = input.id ?? randomUUID();
    const docFor = (hostId: string | null): SessionDoc => ({
      _id: id,
      workspaceId: input.workspaceId,
      workspaceSlug: input.workspaceSlug,
      workspaceName: input.workspaceName,
      workspaceKind: input.workspaceKind,
      userId: input.userId,
      userEmail: input.userEmail,
      organizationId: input.organizationId,
      status: "active" as const,
      startedAt: input.startedAt,
      lastHeartbeatAt: input.startedAt,
      lastInputAt: null,
      endedAt: null,
      endReason: null,
      endNote: null,
      clientIp: input.clientIp,
      hostId,
      connectionUrl: input.connectionUrl,
      endsAt: input.endsAt,
      idleEndsAt: input.idleEndsAt,
      startHour: hourOf(input.startedAt),
      startDay: dayOf(input.startedAt),
      // Unique per session (the index also holds the numbered slots of sessions started
      // before person documents, `<userId>:<n>`, until they end).
      slotKey: `active:${id}`,
    });
    // A launch waiting for the lock gives up as soon as the limit is reached (without it,
    // a storm of launches would queue for the lock only to be refused one by one).
    const full = async () => {
      if (limit === null) return null;
      const listed = await personSessions(input.userId);
      return listed.length >= limit && (await stillActive(listed)).length >= limit
        ? { answer: "person_limit" as const }
        : null;
    };
    const insert = async (doc: SessionDoc) => {
      await insertEntry(doc);
      try {
        await sessions.insertOne(doc);
      } catch (error) {
        if (isDuplicateKeyError(error)) {
          // Its entry was this launch's (insertEntry found no session of that id before).
          await activeSessions.deleteOne({ _id: id });
          throw duplicateError("session", "_id", error);
        }
        throw error;
      }
    };
    return withLock<WorkspaceSession | "person_limit" | "hosts_full">(
      claims,
      personLockId(input.userId),
      async () => {
        let listed = await personSessions(input.userId);
        if (limit !== null && listed.length >= limit) {
          const live = await stillActive(listed);
          if (live.length !== listed.length) await writePerson(input.userId, live);
          listed = live;
          if (listed.length >= limit) return "person_limit";
        }
        if (hosts.length === 0) {
          const doc = docFor(null);
          await insert(doc);
          await writePerson(input.userId, [snapshotOf(doc), ...listed]);
          return toSession(doc);
        }
        for (const host of hosts) {
          // Inserted before its place is taken: a recount meanwhile counts it (too many for a
          // moment, never too few), and an end of it (nobody knows its id yet) finds it.
          const doc = docFor(host.id);
          await insert(doc);
          let placed = false;
          const take = updateHostLoad(host.id, (ids) => {
            if (ids.includes(id)) {
              placed = true;
              return null;
            }
            if (host.capacity !== null && ids.length >= host.capacity) return null;
            placed = true;
            return [...ids, id];
          });
          // The person's copy in the same round trip; taken back when the host had no room.
          const [taken, copied] = await Promise.allSettled([
            take,
            writePerson(input.userId, [snapshotOf(doc), ...listed]),
          ]);
          if (taken.status === "fulfilled" && copied.status === "fulfilled" && placed) return toSession(doc);
          await writePerson(input.userId, listed);
          await sessions.deleteOne({ _id: id });
          if (placed)
            await updateHostLoad(host.id, (ids) =>
              ids.includes(id) ? ids.filter((other) => other !== id) : null,
            );
          if (taken.status === "rejected") throw taken.reason;
          if (copied.status === "rejected") throw copied.reason;
        }
        await activeSessions.deleteOne({ _id: id });
        return "hosts_full";
      },
      { whileWaiting: full },
    );
  }

  /** Writes the ended state recorded in an end claim onto the session (same values every time). */
  function applyEnd(id: string, claim: ClaimDoc): Promise<SessionDoc | null> {
    return sessions.findOneAndUpdate(
      { _id: id },
      {
        $set: {
          status: "ended",
          endedAt: claim.at,
          endReason: claim.data.reason as SessionEndReason,
          endNote: (claim.data.note as string | null) ?? null,
          slotKey: `ended:${id}`,
        },
      },
      { returnDocument: "after" },
    );
  }

  /**
   * Sets fields of a live session; null when it is gone or ended. A stale write may try to put
   * back a slot that a new launch has taken (duplicate key: the session ended), and on FerretDB a
   * write that read the session just before it ended writes it back as active: the end claim is
   * the truth, so it is re-applied.
   */
  async function setWhileLive(
    filter: Filter<SessionDoc>,
    fields: Partial<SessionDoc>,
  ): Promise<SessionDoc | null> {
    let doc: SessionDoc | null;
    try {
      doc = await sessions.findOneAndUpdate(filter, { $set: fields }, { returnDocument: "after" });
    } catch (error) {
      if (isDuplicateKeyError(error)) return null;
      throw error;
    }
    if (!doc) return null;
    const ended = await claims.findOne({ _id: endClaimId(doc._id) });
    if (ended) {
      await applyEnd(doc._id, ended);
      return null;
    }
    return doc;
  }

  async function buckets(field: "startHour" | "startDay", from: Date): Promise<BucketCount[]> {
    const rows = await sessions
      .aggregate<{ _id: Date; count: number }>([
        { $match: { startedAt: { $gte: from } } },
        { $group: { _id: `$${field}`, count: { $sum: 1 } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    return rows.map((row) => ({ start: row._id, count: row.count }));
  }

  return {
    /*
     * Max-concurrent-sessions without transactions: under the person's write lock the launch
     * reads their person document, and inserts the session and its copy only while fewer than
     * `limit` are listed, so of N parallel launches on any replicas exactly `limit` start. At the
     * limit, the listed sessions are re-read by `_id` first: a copy whose session ended without
     * its removal (a writer died in between) is dropped instead of refusing the person forever.
     */
    async createWithinLimit(input: NewWorkspaceSession, limit: number | null) {
      const hostId = input.hostId ?? null;
      const created = await create(input, limit, hostId === null ? [] : [{ id: hostId, capacity: null }]);
      return typeof created === "string" ? null : created;
    },

    createPlaced(input, limit, hosts) {
      if (hosts.length === 0) return Promise.resolve("hosts_full" as const);
      return create(input, limit, hosts);
    },

    async findById(id) {
      const doc = await sessions.findOne({ _id: id });
      return doc ? toSession(doc) : null;
    },

    async findActiveByUserAndWorkspace(userId, workspaceId) {
      const found = (await personSessions(userId)).find((copy) => copy.workspaceId === workspaceId);
      return found ? toSession(found) : null;
    },

    async listActiveByUser(userId) {
      return (await personSessions(userId)).map(toSession);
    },

    async countActiveByUser(userId) {
      return (await personSessions(userId)).length;
    },

    async listActive(filter = {}) {
      if (filter.userId !== undefined) {
        return (await personSessions(filter.userId)).filter((copy) => matches(copy, filter)).map(toSession);
      }
      return (await activeSessionsMatching(filter)).map(toSession);
    },

    async setEndpoint(id, endpoint) {
      // Never the secret, whatever the caller passed: it stays with the workspace.
      const { secret: _secret, ...stored } = endpoint as WorkspaceEndpoint;
      const doc = await setWhileLive({ _id: id }, { endpoint: stored });
      return doc?.status === "active";
    },

    async findEndpoint(id) {
      // By `_id` alone (any other condition makes FerretDB scan), the state checked here.
      const doc = await sessions.findOne({ _id: id }, { projection: { endpoint: 1, status: 1 } });
      return doc?.status === "active" ? (doc.endpoint ?? null) : null;
    },

    async activeCountsByHost(hostIds) {
      const docs = await Promise.all(hostIds.map((hostId) => hostLoads.findOne({ _id: hostId })));
      return new Map(hostIds.map((hostId, index) => [hostId, docs[index]?.sessions.length ?? 0]));
    },

    recountHostLoad,

    async countActive(filter = {}) {
      if (filter.userId !== undefined) {
        return (await personSessions(filter.userId)).filter((copy) => matches(copy, filter)).length;
      }
      return (await activeSessionsMatching(filter)).length;
    },

    async list(input: ListSessionsInput): Promise<Page<WorkspaceSession>> {
      const query: Filter<SessionDoc> = {};
      if (input.status !== undefined) query.status = input.status;
      if (input.userId !== undefined) query.userId = input.userId;
      if (input.workspaceId !== undefined) query.workspaceId = input.workspaceId;
      if (input.cursor) {
        const [startedAtMs, id] = decodeCursor(input.cursor, ["number", "string"] as const);
        const startedAt = new Date(startedAtMs);
        query.$or = [{ startedAt: { $lt: startedAt } }, { startedAt, _id: { $lt: id } }];
      }
      const docs = await sessions
        .find(query)
        .sort({ startedAt: -1, _id: -1 })
        .limit(input.limit + 1)
        .toArray();
      const items = docs.slice(0, input.limit).map(toSession);
      const last = items.at(-1);
      return {
        items,
        nextCursor:
          docs.length > input.limit && last ? encodeCursor([last.startedAt.getTime(), last.id]) : null,
      };
    },

    async heartbeat(id, update) {
      const doc = await setWhileLive({ _id: id }, { lastHeartbeatAt: update.at });
      if (doc?.status !== "active") return null;
      await refreshCopy(doc);
      return toSession(doc);
    },

    async setWatch(id, watch) {
      const found = await sessions.findOne({ _id: id }, { projection: { userId: 1, status: 1 } });
      if (found === null || found.status !== "active") return;
      // Under the person's lock, so two watches opening at once on two replicas both stay listed.
      const changed = await withLock(claims, personLockId(found.userId), async () => {
        const current = await sessions.findOne({ _id: id });
        if (current === null || current.status !== "active") return false;
        const wasWatched = (current.watches ?? []).some((entry) => entry.until > watch.at);
        const watches = (current.watches ?? []).filter(
          (entry) => entry.connectionId !== watch.connectionId && entry.until > watch.at,
        );
        if (watch.until !== null) watches.push({ connectionId: watch.connectionId, until: watch.until });
        const doc = await setWhileLive({ _id: id }, { watches });
        if (doc === null) return false;
        // The person's viewer reads their copy (session.active).
        const list = await personSessions(doc.userId);
        if (list.some((copy) => copy._id === id))
          await writePerson(
            doc.userId,
            list.map((copy) => (copy._id === id ? snapshotOf(doc) : copy)),
          );
        return wasWatched !== watches.length > 0;
      });
      // Watched or no longer: the replica holding the person's connection re-reads the session
      // within a poll and tells their viewer. A lease renewal changes neither, and signals nothing.
      if (changed) await bumpRevocations(collections, watch.at);
    },

    async recordInput(id, update) {
      const doc = await setWhileLive({ _id: id }, { lastInputAt: update.at, idleEndsAt: update.idleEndsAt });
      if (doc?.status !== "active") return null;
      // The sweeper reads the deadline from the entry (no upsert: an end may have removed it).
      await activeSessions.updateOne({ _id: id }, { $set: { idleEndsAt: doc.idleEndsAt ?? null } });
      // The dashboard and the viewer's idle warning read the person's copy.
      await refreshCopy(doc);
      return toSession(doc);
    },

    /*
     * Exactly one caller ends a session, also on FerretDB (see ClaimDoc): the end is decided by
     * inserting the claim `session-end:<id>`; the winner and every later caller then write the
     * claim's values (idempotent), so an end interrupted after the claim is completed by the next
     * attempt (e.g. the sweeper).
     */
    async end(id, end) {
      const current = await sessions.findOne({ _id: id }, { projection: { status: 1 } });
      if (current === null || current.status !== "active") return null;
      const claim: ClaimDoc = {
        _id: endClaimId(id),
        at: end.at,
        data: { reason: end.reason, note: end.note ?? null },
      };
      const won = await claimOnce(claims, claim);
      const decided = won ? claim : await claims.findOne({ _id: claim._id });
      const doc = decided ? await applyEnd(id, decided) : null;
      if (won) {
        if (doc !== null) {
          // Only the winner of the end claim: the person's copy, the active entry and the host's
          // load drop it once.
          await Promise.all([
            updatePerson(doc.userId, (list) =>
              list.some((copy) => copy._id === id) ? list.filter((copy) => copy._id !== id) : null,
            ),
            activeSessions.deleteOne({ _id: id }),
          ]);
          // After the person's lock: a launch adds to the load while holding it, so an end racing
          // its own launch never removes the session before it was added.
          const hostId = doc.hostId;
          if (hostId != null) {
            await updateHostLoad(hostId, (ids) =>
              ids.includes(id) ? ids.filter((other) => other !== id) : null,
            );
          }
        } else await activeSessions.deleteOne({ _id: id });
        // Live connections of this session, on any gateway replica, close on the next poll.
        await bumpRevocations(collections, end.at);
      }
      return won && doc ? toSession(doc) : null;
    },

    async replaceUserEmail(userId, email) {
      const result = await sessions.updateMany(
        { userId, userEmail: { $ne: email } },
        { $set: { userEmail: email } },
      );
      await updatePerson(userId, (list) =>
        list.some((copy) => copy.userEmail !== email)
          ? list.map((copy) => ({ ...copy, userEmail: email }))
          : null,
      );
      return result.modifiedCount;
    },

    /*
     * The entries' deadlines are never later than their sessions' (input moves the session's
     * first), so every due session is fetched; one the entry only thought due gets its deadlines
     * written back to the entry.
     */
    async findExpired(now, limit = 500) {
      const due = (await activeEntries())
        .filter((entry) => isDue(entry.endsAt ?? null, now) || isDue(entry.idleEndsAt ?? null, now))
        .sort((a, b) => a.at.getTime() - b.at.getTime() || (a._id < b._id ? -1 : 1));
      const expired: SessionDoc[] = [];
      for (let start = 0; start < due.length && expired.length < limit; start += limit) {
        for (const doc of await liveSessions(due.slice(start, start + limit))) {
          if (isDue(doc.endsAt ?? null, now) || isDue(doc.idleEndsAt ?? null, now)) expired.push(doc);
          else
            await activeSessions.updateOne(
              { _id: doc._id },
              { $set: { endsAt: doc.endsAt ?? null, idleEndsAt: doc.idleEndsAt ?? null } },
            );
        }
      }
      return expired.slice(0, limit).map(toSession);
    },

    /*
     * For an install upgraded from before person documents: one scan of the active sessions,
     * then each person's document written under their lock unless a launch already wrote it.
     * The marker makes later starts (and every replica) skip this.
     */
    async indexPeople() {
      if (await isPeopleIndexed()) return 0;
      const byPerson = new Map<string, SessionSnapshot[]>();
      for (const doc of await sessions.find({ status: "active" }).toArray()) {
        byPerson.set(doc.userId, [...(byPerson.get(doc.userId) ?? []), snapshotOf(doc)]);
      }
      let written = 0;
      for (const [userId, list] of byPerson) {
        await withLock(claims, personLockId(userId), async () => {
          if ((await people.findOne({ _id: userId })) !== null) return;
          await writePerson(userId, list.sort(newestFirst));
          written += 1;
        });
      }
      try {
        await markers.insertOne({ _id: PEOPLE_INDEXED, at: new Date() });
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      peopleIndexed = true;
      return written;
    },

    /*
     * For an install upgraded from before host load documents: each host that has active sessions
     * (one scan) is recounted under its lock; the marker makes later starts skip this.
     */
    async indexHostLoads() {
      if ((await markers.findOne({ _id: HOST_LOADS_INDEXED })) !== null) return 0;
      const hostIds = new Set<string>();
      for (const doc of await sessions.find({ status: "active" }, { projection: { hostId: 1 } }).toArray()) {
        if (doc.hostId != null) hostIds.add(doc.hostId);
      }
      for (const hostId of hostIds) await recountHostLoad(hostId);
      try {
        await markers.insertOne({ _id: HOST_LOADS_INDEXED, at: new Date() });
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      return hostIds.size;
    },

    /*
     * For an install upgraded from before the active sessions collection: one scan of the active
     * sessions, each given its entry unless it has one; the marker makes later starts skip this.
     */
    async indexActiveSessions() {
      if ((await markers.findOne({ _id: ACTIVE_SESSIONS_INDEXED })) !== null) return 0;
      let written = 0;
      for (const doc of await sessions.find({ status: "active" }).toArray()) {
        try {
          await activeSessions.insertOne(entryOf(doc));
          written += 1;
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
        }
      }
      try {
        await markers.insertOne({ _id: ACTIVE_SESSIONS_INDEXED, at: new Date() });
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      return written;
    },

    launchesPerBucket(unit, from) {
      return buckets(unit === "hour" ? "startHour" : "startDay", from);
    },

    async topWorkspaces(from, limit) {
      const rows = await sessions
        .aggregate<{ _id: string; launches: number }>([
          { $match: { startedAt: { $gte: from } } },
          { $group: { _id: "$workspaceId", launches: { $sum: 1 } } },
          { $sort: { launches: -1, _id: 1 } },
          { $limit: limit },
        ])
        .toArray();
      // FerretDB has no $first/$last accumulators: the name comes from the latest launch.
      return Promise.all(
        rows.map(async (row) => {
          const latest = await sessions.findOne(
            { workspaceId: row._id },
            { sort: { startedAt: -1 }, projection: { workspaceName: 1 } },
          );
          return { workspaceId: row._id, name: latest?.workspaceName ?? "", launches: row.launches };
        }),
      );
    },

    async spansSince(from, limit) {
      const docs = await sessions
        .find(
          { $or: [{ status: "active" }, { endedAt: { $gte: from } }] },
          { projection: { startedAt: 1, endedAt: 1 } },
        )
        .sort({ startedAt: -1 })
        .limit(limit + 1)
        .toArray();
      return {
        spans: docs
          .slice(0, limit)
          .map((doc) => ({ startedAt: doc.startedAt, endedAt: doc.endedAt ?? null })),
        capped: docs.length > limit,
      };
    },
  };
}
