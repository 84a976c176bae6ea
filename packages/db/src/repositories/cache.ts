import { randomUUID } from "node:crypto";
import type { Collection, Filter, UpdateFilter } from "mongodb";
import type { MarkerDoc } from "../collections.ts";
import { isDuplicateKeyError } from "../errors.ts";

/*
 * A replica's copy of a small, rarely written, shared collection (the catalogue, the policies, the
 * workspace hosts), so requests do not read it from the database each time (FerretDB 1.24 scans
 * for anything but `_id`, and every read is a round trip). Never per-user state: every replica
 * holds the same copy of shared data.
 *
 * Bounded staleness: a copy is used for at most `maxAgeMs`; then one read by `_id` of its version
 * document (`markers`) says whether it is still current, and only a changed version reloads it.
 * Every write through a repository changes the version (a random token: FerretDB applies `$inc`
 * as read-modify-write, so two racing bumps could write the same number) and drops this replica's
 * copy at once, so the writing replica never serves the old value and the others within
 * `maxAgeMs`. Without a version document (`versionId` null) the copy simply expires.
 */

export interface SharedCache<T> {
  get(): Promise<T>;
  /** After a write: drops this replica's copy and tells the others (changes the version). */
  changed(): Promise<void>;
}

export interface SharedCacheOptions<T> {
  markers: Collection<MarkerDoc>;
  /** The version document's `_id`; null: no version, the copy only expires. */
  versionId: string | null;
  load: () => Promise<T>;
  /** 0 reads the version document on every `get`. */
  maxAgeMs: number;
}

interface Copy<T> {
  value: T;
  token: string | null;
  checkedAt: number;
}

export function sharedCache<T>(options: SharedCacheOptions<T>): SharedCache<T> {
  const { markers, versionId, load, maxAgeMs } = options;
  let copy: Copy<T> | null = null;
  let refreshing: Promise<T> | null = null;
  /** Changes on every local write, so a load that raced the write does not store its old value. */
  let generation = 0;

  async function token(): Promise<string | null> {
    if (versionId === null) return null;
    const marker = await markers.findOne({ _id: versionId });
    return typeof marker?.token === "string" ? marker.token : null;
  }

  async function refresh(): Promise<T> {
    const started = generation;
    const current = await token();
    if (copy !== null && versionId !== null && current === copy.token) {
      copy.checkedAt = performance.now();
      return copy.value;
    }
    const value = await load();
    if (started === generation) copy = { value, token: current, checkedAt: performance.now() };
    return value;
  }

  return {
    get() {
      if (copy !== null && performance.now() - copy.checkedAt < maxAgeMs) return Promise.resolve(copy.value);
      if (refreshing !== null) return refreshing;
      const pending: Promise<T> = refresh().finally(() => {
        if (refreshing === pending) refreshing = null;
      });
      refreshing = pending;
      return pending;
    },

    async changed() {
      generation += 1;
      copy = null;
      refreshing = null;
      if (versionId === null) return;
      await bumpVersionDocument(markers, versionId, new Date());
    },
  };
}

/**
 * Gives a version document a new random token, so every replica sees by one `_id` read that what
 * it versions changed (the catalogue and policies here, revocations in the gateway state).
 */
export async function bumpVersionDocument<T extends { _id: string; at: Date; token?: string }>(
  collection: Collection<T>,
  id: string,
  at: Date,
): Promise<void> {
  const bump = () =>
    collection.updateOne({ _id: id } as Filter<T>, { $set: { token: randomUUID(), at } } as UpdateFilter<T>, {
      upsert: true,
    });
  try {
    await bump();
  } catch (error) {
    // Two first bumps racing: FerretDB's upsert is read-then-insert, so the loser's insert hits
    // the _id index. The document exists now; bump it again so this change is seen too.
    if (!isDuplicateKeyError(error)) throw error;
    await bump();
  }
}
