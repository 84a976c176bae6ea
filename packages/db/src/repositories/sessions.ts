import { randomUUID } from "node:crypto";
import type { Page } from "@neosc/core/common";
import type { WorkspaceEndpoint } from "@neosc/core/endpoint";
import type { ListSessionsInput, SessionEndReason, WorkspaceSession } from "@neosc/core/session";
import type { Filter } from "mongodb";
import type { ClaimDoc, Collections, SessionDoc } from "../collections.ts";
import { claimOnce, dayOf, hourOf } from "../collections.ts";
import { decodeCursor, encodeCursor } from "../cursor.ts";
import { duplicateError, isDuplicateKeyError } from "../errors.ts";
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

export interface SessionsRepository {
  /**
   * Starts a session only while the person has fewer than `limit` active sessions (`null`: no
   * limit). Race-free without transactions: every active session occupies a numbered slot
   * (`<userId>:<n>`) under a unique index, so of many parallel launches only `limit` can take
   * the slots 0..limit-1. Returns null when all slots are taken.
   */
  createWithinLimit(session: NewWorkspaceSession, limit: number | null): Promise<WorkspaceSession | null>;
  findById(id: string): Promise<WorkspaceSession | null>;
  /** The person's active session of that workspace, if any (newest first when several). */
  findActiveByUserAndWorkspace(userId: string, workspaceId: string): Promise<WorkspaceSession | null>;
  listActiveByUser(userId: string): Promise<WorkspaceSession[]>;
  countActiveByUser(userId: string): Promise<number>;
  /** Newest first. */
  listActive(filter?: ActiveSessionFilter): Promise<WorkspaceSession[]>;
  countActive(filter?: ActiveSessionFilter): Promise<number>;
  /** Its host stores where the started workspace listens (only while the session is active). */
  setEndpoint(id: string, endpoint: Omit<WorkspaceEndpoint, "secret">): Promise<boolean>;
  /** Where an active session's workspace listens; null when ended or not started. */
  findEndpoint(id: string): Promise<Omit<WorkspaceEndpoint, "secret"> | null>;
  /** Active sessions per workspace host (hosts without any are absent), for placement. */
  activeCountsByHost(): Promise<Map<string, number>>;
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
   * Compare-and-set: ends the session only if it is still active. Returns the ended session when
   * THIS call ended it, null when it was already ended (or does not exist).
   */
  end(
    id: string,
    end: { reason: SessionEndReason; at: Date; note?: string | null },
  ): Promise<WorkspaceSession | null>;
  /** Active sessions whose `endsAt` or `idleEndsAt` is at or before `now` (for the sweeper). */
  findExpired(now: Date, limit?: number): Promise<WorkspaceSession[]>;
  /** Launches (session starts) per UTC hour/day since `from`, oldest first. */
  launchesPerBucket(unit: TimeUnit, from: Date): Promise<BucketCount[]>;
  /** Most launched workspaces since `from`. */
  topWorkspaces(
    from: Date,
    limit: number,
  ): Promise<{ workspaceId: string; name: string; launches: number }[]>;
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
  };
}

function activeFilter(filter: ActiveSessionFilter = {}): Filter<SessionDoc> {
  const query: Filter<SessionDoc> = { status: "active" };
  if (filter.userId !== undefined) query.userId = filter.userId;
  if (filter.workspaceId !== undefined) query.workspaceId = filter.workspaceId;
  if (filter.organizationId !== undefined) query.organizationId = filter.organizationId;
  if (filter.hostId !== undefined) query.hostId = filter.hostId;
  return query;
}

const slotKeyOf = (userId: string, slot: number) => `${userId}:${slot}`;

/** How many times a launch re-reads the slots after losing one to a parallel launch. */
const MAX_SLOT_ATTEMPTS = 64;

const endClaimId = (sessionId: string) => `session-end:${sessionId}`;

export function createSessionsRepository(collections: Collections): SessionsRepository {
  const { sessions, claims } = collections;

  async function occupiedSlots(userId: string): Promise<{ slots: Set<number>; active: number }> {
    const docs = await sessions.find(activeFilter({ userId }), { projection: { slotKey: 1 } }).toArray();
    const slots = new Set<number>();
    for (const doc of docs) {
      const slot = Number(doc.slotKey.slice(userId.length + 1));
      if (Number.isInteger(slot)) slots.add(slot);
    }
    return { slots, active: docs.length };
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
     * Max-concurrent-sessions without transactions. Every active session holds a numbered slot
     * `<userId>:<n>` in `slotKey`, which has a unique index; ending a session rewrites its slotKey
     * to `ended:<id>` in the same single-document update that ends it, so a slot is freed exactly
     * when its session ends, and no counter can drift. A launch inserts itself into the lowest
     * free slot below `limit`; when a parallel launch took that slot first, the insert fails with
     * a duplicate key and the launch re-reads the free slots. So of N parallel launches against
     * `limit` free slots exactly `limit` succeed, whichever replica runs them.
     * Sessions may hold slots >= limit when the limit was lowered (or was off) while they ran,
     * so after inserting, the launch counts the person's active sessions and withdraws itself
     * when there are more than `limit` (conservative: two racing launches may both withdraw).
     */
    async createWithinLimit(input: NewWorkspaceSession, limit: number | null) {
      const id = input.id ?? randomUUID();
      const base = {
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
        hostId: input.hostId ?? null,
        connectionUrl: input.connectionUrl,
        endsAt: input.endsAt,
        idleEndsAt: input.idleEndsAt,
        startHour: hourOf(input.startedAt),
        startDay: dayOf(input.startedAt),
      };
      for (let attempt = 0; attempt < MAX_SLOT_ATTEMPTS; attempt += 1) {
        const { slots, active } = await occupiedSlots(input.userId);
        if (limit !== null && active >= limit) return null;
        let slot = 0;
        while (slots.has(slot)) slot += 1;
        if (limit !== null && slot >= limit) return null;
        const doc: SessionDoc = { ...base, slotKey: slotKeyOf(input.userId, slot) };
        try {
          await sessions.insertOne(doc);
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
          if (await sessions.findOne({ _id: id }, { projection: { _id: 1 } })) {
            throw duplicateError("session", "_id", error);
          }
          continue;
        }
        if (
          limit !== null &&
          (await sessions.countDocuments(activeFilter({ userId: input.userId }))) > limit
        ) {
          await sessions.deleteOne({ _id: id, status: "active" });
          return null;
        }
        return toSession(doc);
      }
      throw new Error(`could not find a free session slot for user ${input.userId}`);
    },

    async findById(id) {
      const doc = await sessions.findOne({ _id: id });
      return doc ? toSession(doc) : null;
    },

    async findActiveByUserAndWorkspace(userId, workspaceId) {
      const doc = await sessions.findOne(activeFilter({ userId, workspaceId }), {
        sort: { startedAt: -1, _id: -1 },
      });
      return doc ? toSession(doc) : null;
    },

    async listActiveByUser(userId) {
      const docs = await sessions.find(activeFilter({ userId })).sort({ startedAt: -1, _id: -1 }).toArray();
      return docs.map(toSession);
    },

    countActiveByUser(userId) {
      return sessions.countDocuments(activeFilter({ userId }));
    },

    async listActive(filter) {
      const docs = await sessions.find(activeFilter(filter)).sort({ startedAt: -1, _id: -1 }).toArray();
      return docs.map(toSession);
    },

    async setEndpoint(id, endpoint) {
      // Never the secret, whatever the caller passed: it stays with the workspace.
      const { secret: _secret, ...stored } = endpoint as WorkspaceEndpoint;
      const result = await sessions.updateOne({ _id: id, status: "active" }, { $set: { endpoint: stored } });
      return result.matchedCount === 1;
    },

    async findEndpoint(id) {
      const doc = await sessions.findOne({ _id: id, status: "active" }, { projection: { endpoint: 1 } });
      return doc?.endpoint ?? null;
    },

    async activeCountsByHost() {
      const rows = await sessions
        .aggregate<{ _id: string | null; count: number }>([
          { $match: { status: "active" } },
          { $group: { _id: "$hostId", count: { $sum: 1 } } },
        ])
        .toArray();
      return new Map(rows.flatMap((row) => (row._id === null ? [] : [[row._id, row.count] as const])));
    },

    countActive(filter) {
      return sessions.countDocuments(activeFilter(filter));
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
      const doc = await setWhileLive({ _id: id, status: "active" }, { lastHeartbeatAt: update.at });
      return doc === null ? null : toSession(doc);
    },

    async recordInput(id, update) {
      const doc = await setWhileLive({ _id: id }, { lastInputAt: update.at, idleEndsAt: update.idleEndsAt });
      return doc?.status === "active" ? toSession(doc) : null;
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
      // Live connections of this session, on any gateway replica, close on the next poll.
      if (won) await bumpRevocations(collections, end.at);
      return won && doc ? toSession(doc) : null;
    },

    async findExpired(now, limit = 500) {
      const docs = await sessions
        .find({ status: "active", $or: [{ endsAt: { $lte: now } }, { idleEndsAt: { $lte: now } }] })
        .sort({ startedAt: 1, _id: 1 })
        .limit(limit)
        .toArray();
      return docs.map(toSession);
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
  };
}
