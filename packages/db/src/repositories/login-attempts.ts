import { randomUUID } from "node:crypto";
import type { Collections, LoginAttemptDoc } from "../collections.ts";
import { dayOf, hourOf } from "../collections.ts";
import type { BucketCount, TimeUnit } from "./sessions.ts";

export interface LoginAttemptsRepository {
  /**
   * Records one failed login under several throttle keys at once (e.g. `email:a@b.c` and
   * `ip:10.0.0.1`); it counts once in the failed-login statistics. Returns its id, so an attempt
   * recorded before its outcome was known can be forgotten again.
   */
  recordFailure(keys: string[], at: Date): Promise<string>;
  /**
   * Records one registration attempt under throttle keys (e.g. `register-ip:10.0.0.1`); it is
   * counted by `countSince` but is not a failed login in the statistics.
   */
  recordRegistration(keys: string[], at: Date): Promise<string>;
  /** Removes one recorded attempt entirely (it turned out not to be a failure). */
  forget(id: string): Promise<void>;
  /** Attempts under `key` at or after `since`, and the oldest of them (for Retry-After). */
  countSince(key: string, since: Date): Promise<{ count: number; oldestAt: Date | null }>;
  /** Forgets `key` for throttling (after a successful login); statistics keep the failures. */
  clear(key: string): Promise<void>;
  /** Failed logins per UTC hour/day since `from`, oldest first. */
  failuresPerBucket(unit: TimeUnit, from: Date): Promise<BucketCount[]>;
  /** Housekeeping: deletes failures older than `before`. Returns how many. */
  prune(before: Date): Promise<number>;
}

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
