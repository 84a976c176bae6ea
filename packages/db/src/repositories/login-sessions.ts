import { randomUUID } from "node:crypto";
import type { LoginSession } from "@neosc/core/auth";
import type { Filter } from "mongodb";
import type { Collections, LoginSessionDoc } from "../collections.ts";
import type { LoginSessionsRepository } from "../database.ts";
import { mapDuplicate } from "../errors.ts";

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

    async revoke(id, at) {
      const result = await loginSessions.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: at } });
      return result.modifiedCount === 1;
    },

    async revokeAllForUser(userId, at, options = {}) {
      const filter: Filter<LoginSessionDoc> = { userId, revokedAt: null };
      if (options.exceptId !== undefined) filter._id = { $ne: options.exceptId };
      const result = await loginSessions.updateMany(filter, { $set: { revokedAt: at } });
      return result.modifiedCount;
    },

    async deleteExpired(before) {
      const result = await loginSessions.deleteMany({ expiresAt: { $lt: before } });
      return result.deletedCount;
    },
  };
}
