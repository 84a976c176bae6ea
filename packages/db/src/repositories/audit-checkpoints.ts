import type { AuditCheckpoint } from "@neosc/core/audit";
import type { AuditCheckpointDoc, Collections } from "../collections.ts";

/** One link of the chain as a checkpoint names it. */
export interface AuditLink {
  id: string;
  seq: number;
  hash: string;
}

export interface AuditCheckpointsRepository {
  /** The newest entry of the audit chain, or null while it is empty. */
  head(): Promise<AuditLink | null>;
  /** The entry with this seq, or null when there is none. */
  linkAt(seq: number): Promise<AuditLink | null>;
  /** The latest stored checkpoint, or null when none was written yet. */
  latest(): Promise<AuditCheckpoint | null>;
  /** Stores `checkpoint` as the latest, unless one at a later seq is stored already. */
  save(checkpoint: AuditCheckpoint): Promise<void>;
}

const LATEST = "latest";

function toCheckpoint(doc: AuditCheckpointDoc): AuditCheckpoint {
  return { seq: doc.seq, hash: doc.hash, at: doc.at, keyId: doc.keyId, signature: doc.signature };
}

/*
 * Reads the audit collection (never writes it: appends belong to repositories/audit.ts) and keeps
 * the latest checkpoint in a document of its own, found by `_id`.
 */
export function createAuditCheckpointsRepository(collections: Collections): AuditCheckpointsRepository {
  const { audit, auditCheckpoints } = collections;
  const link = (doc: { _id: string; seq: number; hash: string } | null): AuditLink | null =>
    doc === null ? null : { id: doc._id, seq: doc.seq, hash: doc.hash };
  return {
    async head() {
      return link(await audit.findOne({}, { sort: { seq: -1 }, projection: { seq: 1, hash: 1 } }));
    },

    async linkAt(seq) {
      return link(await audit.findOne({ seq }, { projection: { seq: 1, hash: 1 } }));
    },

    async latest() {
      const doc = await auditCheckpoints.findOne({ _id: LATEST });
      return doc === null ? null : toCheckpoint(doc);
    },

    async save(checkpoint) {
      // Replicas checkpoint on their own timers; a slower one must not put back an older head.
      const current = await auditCheckpoints.findOne({ _id: LATEST }, { projection: { seq: 1 } });
      if (current !== null && current.seq > checkpoint.seq) return;
      await auditCheckpoints.replaceOne({ _id: LATEST }, { ...checkpoint }, { upsert: true });
    },
  };
}
