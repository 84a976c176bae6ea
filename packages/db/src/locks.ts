import { randomUUID } from "node:crypto";
import { DomainError } from "@neosc/core/errors";
import type { Collection } from "mongodb";
import { type ClaimDoc, claimOnce } from "./collections.ts";

/*
 * A write lock on one document, for read-modify-write sequences that must not overlap.
 *
 * FerretDB 1.24 applies every update as read-modify-write of the whole document, so a conditional
 * update is no compare-and-set there (see ClaimDoc): two overlapping writers of one document lose
 * one write. What is atomic on MongoDB and FerretDB alike is an insert under the unique `_id`, so
 * the lock is a claim `<name>` inserted by the holder and deleted when it is done. Every step is
 * found by `_id` alone (any other filter makes FerretDB scan the collection).
 *
 * A lock older than LOCK_STALE_MS belongs to a writer that died; exactly one waiter takes it over
 * (it wins the claim `<name>:takeover:<holder>`), so two waiters never both delete it.
 */

/** A lock older than this belongs to a writer that died; the next writer takes it. */
const LOCK_STALE_MS = 10_000;
/** How long a writer waits for the lock before answering UNAVAILABLE (retry). */
const LOCK_WAIT_MS = 10_000;

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

export interface LockOptions<T> {
  /**
   * Asked between attempts while another writer holds the lock: an answer that no longer needs
   * the lock (e.g. "the limit is reached") ends the wait with it.
   */
  whileWaiting?: () => Promise<{ answer: T } | null>;
}

/** Runs `write` while holding the lock `name` (a claim in `claims`); see above. */
export async function withLock<T>(
  claims: Collection<ClaimDoc>,
  name: string,
  write: () => Promise<T>,
  options: LockOptions<T> = {},
): Promise<T> {
  const owner = randomUUID();
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt += 1) {
    if (await claimOnce(claims, { _id: name, at: new Date(), data: { owner } })) break;
    const early = await options.whileWaiting?.();
    if (early) return early.answer;
    // Looking for a dead holder costs a read: only every few attempts.
    if (attempt % 4 === 3) {
      const held = await claims.findOne({ _id: name });
      if (held !== null && Date.now() - held.at.getTime() > LOCK_STALE_MS) {
        const takeover = `${name}:takeover:${String(held.data.owner)}`;
        if (await claimOnce(claims, { _id: takeover, at: new Date(), data: {} })) {
          // The takeover claim stays: a waiter still holding the old read must not win it again.
          await claims.deleteOne({ _id: name });
        }
        continue;
      }
    }
    if (Date.now() > deadline) {
      throw new DomainError("UNAVAILABLE", "database_unavailable", "The record is busy; retry shortly", {
        retryAfterSeconds: 1,
      });
    }
    await pause(1 + Math.random() * Math.min(25, 2 + attempt * 2));
  }
  const acquired = Date.now();
  try {
    return await write();
  } finally {
    // By `_id` alone. A holder slower than the stale limit may have been taken over: it leaves the
    // (new holder's) lock alone.
    if (Date.now() - acquired < LOCK_STALE_MS) await claims.deleteOne({ _id: name });
  }
}
