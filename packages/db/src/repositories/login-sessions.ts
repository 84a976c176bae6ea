import { randomUUID } from "node:crypto";
import type { LoginSession } from "@neosc/core/auth";
import type { AuthMethod } from "@neosc/core/user";
import type { Filter } from "mongodb";
import type { Collections, LoginSessionDoc } from "../collections.ts";
import { mapDuplicate } from "../errors.ts";
import { bumpRevocations } from "./gateway.ts";

export interface NewLoginSession {
  /** Optional: the caller may choose the id (it becomes the token's `jti`). */
  id?: string;
  userId: string;
  method: AuthMethod;
  mfa: boolean;
  clientIp: string | null;
  userAgent: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface LoginSessionsRepository {
  create(input: NewLoginSession): Promise<LoginSession>;
  findById(id: string): Promise<LoginSession | null>;
  /** Not revoked and `expiresAt` after `now`. */
  findActive(id: string, now: Date): Promise<LoginSession | null>;
  /**
   * Marks a live login session as two-factor (a step-up with a code). Stored, so every replica
   * reads the raised assurance on the next request. False when it is revoked or gone.
   */
  raiseToMfa(id: string): Promise<boolean>;
  /** True when this call revoked it (it was not revoked before). */
  revoke(id: string, at: Date): Promise<boolean>;
  /** Revokes every unrevoked session of the person except `exceptId`; returns how many. */
  revokeAllForUser(userId: string, at: Date, options?: { exceptId?: string }): Promise<number>;
  /** Housekeeping: deletes sessions that expired before `before`. Returns how many. */
  deleteExpired(before: Date): Promise<number>;
}

function toLoginSession(doc: LoginSessionDoc): LoginSession {
  return {
    id: doc._id,
    userId: doc.userId,
    method: doc.method,
    mfa: doc.mfa,
    clientIp: doc.clientIp ?? null,
    userAgent: doc.userAgent ?? null,
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt,
    revokedAt: doc.revokedAt ?? null,
  };
}

export function createLoginSessionsRepository(collections: Collections): LoginSessionsRepository {
  const loginSessions = collections.loginSessions;

  return {
    async create(input) {
      const doc: LoginSessionDoc = {
        _id: input.id ?? randomUUID(),
        userId: input.userId,
        method: input.method,
        mfa: input.mfa,
        clientIp: input.clientIp,
        userAgent: input.userAgent,
        createdAt: input.createdAt,
        expiresAt: input.expiresAt,
        revokedAt: null,
      };
      await mapDuplicate(() => loginSessions.insertOne(doc), {
        entity: "login session",
        collection: loginSessions,
        written: doc,
        unique: ["_id"],
      });
      return toLoginSession(doc);
    },

    async findById(id) {
      const doc = await loginSessions.findOne({ _id: id });
      return doc ? toLoginSession(doc) : null;
    },

    async findActive(id, now) {
      // Runs on every authenticated request. By `_id` alone, then checked here: FerretDB 1.24
      // (SQLite) pushes down only a bare `_id` filter, and any extra condition makes it scan and
      // decode the whole collection (see e2e/bench/probe-ferretdb.ts).
      const doc = await loginSessions.findOne({ _id: id });
      if (doc === null || (doc.revokedAt ?? null) !== null || !(doc.expiresAt > now)) return null;
      return toLoginSession(doc);
    },

    async raiseToMfa(id) {
      const result = await loginSessions.updateOne({ _id: id, revokedAt: null }, { $set: { mfa: true } });
      return result.matchedCount === 1;
    },

    async revoke(id, at) {
      const result = await loginSessions.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: at } });
      // Gateway connections opened through this login close on every replica's next poll.
      if (result.modifiedCount === 1) await bumpRevocations(collections, at);
      return result.modifiedCount === 1;
    },

    async revokeAllForUser(userId, at, options = {}) {
      const filter: Filter<LoginSessionDoc> = { userId, revokedAt: null };
      if (options.exceptId !== undefined) filter._id = { $ne: options.exceptId };
      const result = await loginSessions.updateMany(filter, { $set: { revokedAt: at } });
      if (result.modifiedCount > 0) await bumpRevocations(collections, at);
      return result.modifiedCount;
    },

    async deleteExpired(before) {
      const result = await loginSessions.deleteMany({ expiresAt: { $lt: before } });
      return result.deletedCount;
    },
  };
}
