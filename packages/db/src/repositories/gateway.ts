import type { Collections, GatewayStateDoc } from "../collections.ts";
import { isDuplicateKeyError } from "../errors.ts";
import { bumpVersionDocument } from "./cache.ts";

/*
 * What the gateway replicas share (ARCHITECTURE §9), all of it found by `_id` (FerretDB scans any
 * other filter):
 * - `revocations`: one document whose `token` changes whenever something that can end a live
 *   connection happens (a session ends, a login is revoked, a person is disabled), or that a
 *   person's viewer must learn of (an admin's watch of the session opens or closes). Each replica
 *   reads it once a second and re-checks the connections it holds only when it changed, so
 *   revocation costs O(1) reads per replica per second. The token is random, not a counter:
 *   FerretDB applies `$inc` as read-modify-write, so two racing bumps could write the same number
 *   and a replica could miss the second one; two random tokens never collide.
 * - `replica:<id>`: each replica's last sign of life, so a connection slot held by a replica that
 *   died can be taken over.
 * - `slot:<sessionId>:<n>`: the per-session connection cap, one inserted document per open
 *   connection (inserts under the unique `_id` are atomic on MongoDB and FerretDB alike).
 * - `recording:<sessionId>:<n>`: the numbers of a session's recording segments, one per
 *   connection, claimed the same way so two replicas never write the same segment.
 * - `recording-delete:<sessionId>:<n>:<day>`: a retention sweep's claim on deleting a segment, so
 *   two replicas sweeping at once delete (and audit) it once. The claim is per UTC day: a sweeper
 *   that died between its claim and the deletion leaves the segment to the next day's sweeps.
 */

const REVOCATIONS_ID = "revocations";
const replicaId = (id: string) => `replica:${id}`;
const slotId = (sessionId: string, slot: number) => `slot:${sessionId}:${slot}`;
const segmentId = (sessionId: string, segment: number) => `recording:${sessionId}:${segment}`;
const deletionId = (sessionId: string, segment: number, at: Date) =>
  `recording-delete:${sessionId}:${segment}:${at.toISOString().slice(0, 10)}`;
/** More segments than this in one session is a reconnect loop, not a recording worth keeping. */
const MAX_SEGMENTS = 10_000;

export interface ConnectionSlot {
  sessionId: string;
  slot: number;
  connectionId: string;
}

export interface GatewayRepository {
  /** The current revocation token (null before the first bump). */
  revocationToken(): Promise<string | null>;
  /** Changes the revocation token; every replica re-checks its connections within a poll. */
  bumpRevocations(at: Date): Promise<void>;
  /** Records that a replica is alive. */
  replicaSeen(replica: string, at: Date): Promise<void>;
  /**
   * Takes the lowest free of `cap` slots for a connection of the session; null when all are held
   * by live replicas. A slot whose replica has not been seen since `staleBefore` is taken over.
   */
  takeSlot(input: {
    sessionId: string;
    cap: number;
    replica: string;
    connectionId: string;
    at: Date;
    staleBefore: Date;
  }): Promise<ConnectionSlot | null>;
  /** Frees a slot this connection holds (never one another connection took over). */
  releaseSlot(slot: ConnectionSlot): Promise<void>;
  /** The next free recording segment number of the session (1, 2, …), claimed for the caller. */
  claimRecordingSegment(sessionId: string, at: Date): Promise<number>;
  /** Whether this caller won the deletion of a segment past retention (once across replicas per day). */
  claimRecordingDeletion(sessionId: string, segment: number, at: Date): Promise<boolean>;
}

/** Used by the repositories whose writes can end (or must reach) a live connection. */
export async function bumpRevocations(collections: Collections, at: Date): Promise<void> {
  await bumpVersionDocument(collections.gatewayState, REVOCATIONS_ID, at);
}

export function createGatewayRepository(collections: Collections): GatewayRepository {
  const state = collections.gatewayState;

  async function holderAlive(doc: GatewayStateDoc, staleBefore: Date): Promise<boolean> {
    if (typeof doc.replica !== "string") return false;
    const replica = await state.findOne({ _id: replicaId(doc.replica) });
    return replica?.at !== undefined && replica.at.getTime() >= staleBefore.getTime();
  }

  return {
    async revocationToken() {
      const doc = await state.findOne({ _id: REVOCATIONS_ID });
      return typeof doc?.token === "string" ? doc.token : null;
    },

    bumpRevocations: (at) => bumpRevocations(collections, at),

    async replicaSeen(replica, at) {
      await state.updateOne({ _id: replicaId(replica) }, { $set: { at } }, { upsert: true });
    },

    async takeSlot(input) {
      const claim = async (slot: number): Promise<ConnectionSlot | null> => {
        try {
          await state.insertOne({
            _id: slotId(input.sessionId, slot),
            at: input.at,
            replica: input.replica,
            connectionId: input.connectionId,
          });
          return { sessionId: input.sessionId, slot, connectionId: input.connectionId };
        } catch (error) {
          if (isDuplicateKeyError(error)) return null;
          throw error;
        }
      };
      for (let slot = 0; slot < input.cap; slot++) {
        const taken = await claim(slot);
        if (taken !== null) return taken;
      }
      // Every slot is held: take over one whose replica died (only if it is still that holder's).
      for (let slot = 0; slot < input.cap; slot++) {
        const held = await state.findOne({ _id: slotId(input.sessionId, slot) });
        if (held !== null) {
          if (await holderAlive(held, input.staleBefore)) continue;
          await state.deleteOne({ _id: held._id, connectionId: held.connectionId });
        }
        const taken = await claim(slot);
        if (taken !== null) return taken;
      }
      return null;
    },

    async releaseSlot(slot) {
      await state.deleteOne({ _id: slotId(slot.sessionId, slot.slot), connectionId: slot.connectionId });
    },

    async claimRecordingSegment(sessionId, at) {
      for (let segment = 1; segment <= MAX_SEGMENTS; segment++) {
        try {
          await state.insertOne({ _id: segmentId(sessionId, segment), at });
          return segment;
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
        }
      }
      throw new Error(`session ${sessionId} has ${MAX_SEGMENTS} recording segments`);
    },

    async claimRecordingDeletion(sessionId, segment, at) {
      try {
        await state.insertOne({ _id: deletionId(sessionId, segment, at), at });
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },
  };
}
