import { randomUUID } from "node:crypto";
import type { Collections, LoginAttemptDoc } from "../collections.ts";
import { dayOf, hourOf } from "../collections.ts";
import type { LoginAttemptsRepository } from "../database.ts";

export function createLoginAttemptsRepository(collections: Collections): LoginAttemptsRepository {
  const attempts = collections.loginAttempts;

  async function record(keys: string[], at: Date, kind?: LoginAttemptDoc["kind"]): Promise<string> {
    const doc: LoginAttemptDoc = {
      _id: randomUUID(),
      keys: [...new Set(keys)],
      at,
      hour: hourOf(at),
      day: dayOf(at),
      ...(kind === undefined ? {} : { kind }),
    };
    await attempts.insertOne(doc);
    return doc._id;
  }

  return {
    recordFailure: (keys, at) => record(keys, at),
    recordRegistration: (keys, at) => record(keys, at, "registration"),

    async forget(id) {
      await attempts.deleteOne({ _id: id });
    },

    async countSince(key, since) {
      const filter = { keys: key, at: { $gte: since } };
      const [count, oldest] = await Promise.all([
        attempts.countDocuments(filter),
        attempts.findOne(filter, { sort: { at: 1 }, projection: { at: 1 } }),
      ]);
      return { count, oldestAt: oldest?.at ?? null };
    },

    async clear(key) {
      await attempts.updateMany({ keys: key }, { $pull: { keys: key } });
    },

    async failuresPerBucket(unit, from) {
      const rows = await attempts
        .aggregate<{ _id: Date; count: number }>([
          { $match: { at: { $gte: from }, kind: { $ne: "registration" } } },
          { $group: { _id: unit === "hour" ? "$hour" : "$day", count: { $sum: 1 } } },
          { $sort: { _id: 1 } },
        ])
        .toArray();
      return rows.map((row) => ({ start: row._id, count: row.count }));
    },

    async prune(before) {
      const result = await attempts.deleteMany({ at: { $lt: before } });
      return result.deletedCount;
    },
  };
}
