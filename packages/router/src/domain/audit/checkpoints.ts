import { type AuditCheckpoint, type AuditVerifyReport, auditCheckpointPayload } from "@neosc/core/audit";
import type { Database } from "@neosc/db/database";
import type { AuditSigner, AuthedContext } from "../../context.ts";
import { audit } from "./record.ts";

/*
 * Signed checkpoints of the audit chain's head. The hash chain shows an entry changed or removed
 * in the middle, but not the newest entries deleted: the shorter chain is still a valid chain.
 * A checkpoint — the head's seq and hash, signed with a key the database does not hold — says how
 * long the chain was; verification then reports a chain that ends before it.
 */

export interface CheckpointDeps {
  db: Database;
  clock: () => Date;
  signer: AuditSigner;
}

type PublicCheckpoint = Omit<AuditCheckpoint, "signature">;

function withoutSignature({ signature: _signature, ...checkpoint }: AuditCheckpoint): PublicCheckpoint {
  return checkpoint;
}

/** Signs the chain's current head as the latest checkpoint; null while the chain is empty. */
export async function writeCheckpoint(deps: CheckpointDeps): Promise<AuditCheckpoint | null> {
  const head = await deps.db.auditCheckpoints.head();
  if (head === null) return null;
  const unsigned = { seq: head.seq, hash: head.hash, at: deps.clock() };
  const checkpoint: AuditCheckpoint = {
    ...unsigned,
    keyId: deps.signer.keyId,
    signature: deps.signer.sign(auditCheckpointPayload(unsigned)),
  };
  await deps.db.auditCheckpoints.save(checkpoint);
  return checkpoint;
}

/** Admins: a checkpoint now (after auditing the request, so the checkpoint covers it). */
export async function checkpointAudit(ctx: AuthedContext): Promise<PublicCheckpoint | null> {
  await audit(ctx, { action: "audit.checkpoint", resource: { type: "audit", id: null } });
  const checkpoint = await writeCheckpoint({
    db: ctx.db,
    clock: ctx.clock,
    signer: ctx.services.auditSigner,
  });
  return checkpoint === null ? null : withoutSignature(checkpoint);
}

/**
 * Admins: walks the whole chain, then checks it against the latest checkpoint: signed by this
 * installation's key, the entry at its seq still the one signed, and the chain not ending
 * before it (the newest entries deleted).
 */
export async function verifyAudit(ctx: AuthedContext): Promise<AuditVerifyReport> {
  const { db } = ctx;
  const signer = ctx.services.auditSigner;
  const [chain, checkpoint] = await Promise.all([db.audit.verify(), db.auditCheckpoints.latest()]);
  if (checkpoint === null) return { ...chain, checkpoint: null };
  const report = (firstBroken: AuditVerifyReport["firstBroken"]): AuditVerifyReport => ({
    ok: firstBroken === null,
    checked: chain.checked,
    firstBroken,
    checkpoint: withoutSignature(checkpoint),
  });
  if (!chain.ok) return report(chain.firstBroken);
  const genuine =
    checkpoint.keyId === signer.keyId &&
    signer.verify(auditCheckpointPayload(checkpoint), checkpoint.signature);
  if (!genuine) return report({ seq: checkpoint.seq, id: null, problem: "checkpoint_signature" });
  const link = await db.auditCheckpoints.linkAt(checkpoint.seq);
  if (link === null) {
    // A valid chain without the signed seq ends before it: everything from here on was deleted.
    const head = await db.auditCheckpoints.head();
    return report({ seq: (head?.seq ?? 0) + 1, id: null, problem: "truncated" });
  }
  if (link.hash !== checkpoint.hash) {
    return report({ seq: checkpoint.seq, id: link.id, problem: "checkpoint_mismatch" });
  }
  return report(null);
}

export interface CheckpointerHandle {
  /** Stops the timer and waits for a checkpoint in progress. */
  stop(): Promise<void>;
}

/**
 * Signs a checkpoint every `intervalMs` while the chain's head moved. Any number of replicas may
 * run one: a checkpoint never replaces one of a later seq. Each is also handed to `onCheckpoint`
 * (the API logs it), so a copy exists outside the database too.
 */
export function startCheckpointer(
  deps: CheckpointDeps & {
    intervalMs: number;
    onCheckpoint?: (checkpoint: PublicCheckpoint) => void;
    onError?: (error: unknown) => void;
  },
): CheckpointerHandle {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running !== null) return;
    running = (async () => {
      const [head, latest] = await Promise.all([
        deps.db.auditCheckpoints.head(),
        deps.db.auditCheckpoints.latest(),
      ]);
      if (head === null || (latest !== null && latest.seq >= head.seq && latest.keyId === deps.signer.keyId))
        return;
      const checkpoint = await writeCheckpoint(deps);
      if (checkpoint !== null) deps.onCheckpoint?.(withoutSignature(checkpoint));
    })()
      .catch((error: unknown) => deps.onError?.(error))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, deps.intervalMs);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      if (running !== null) await running;
    },
  };
}
