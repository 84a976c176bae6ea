import { z } from "zod";
import { CursorSchema, IdSchema, pageOf } from "./common.ts";
import { PROCEDURE_ACCESS } from "./permissions.ts";
import { type Role, RoleSchema } from "./roles.ts";

export const AuditResultSchema = z.enum(["success", "denied", "error"]);
export type AuditResult = z.infer<typeof AuditResultSchema>;

export const AuditActorSchema = z.object({
  id: z.string().nullable(),
  email: z.string().nullable(),
  role: RoleSchema.nullable(),
});
export type AuditActor = z.infer<typeof AuditActorSchema>;

/** The actor of entries written by NeoSC itself (sweeper, gateway, cascades without a person). */
export const SYSTEM_ACTOR: AuditActor = { id: "system", email: null, role: null };

/** A signed-in person (or service account) as an audit entry names them. */
export function actorFor(user: { id: string; email: string; role: Role }): AuditActor {
  return { id: user.id, email: user.email, role: user.role };
}

/** Nobody signed in; a failed sign-in names the email it tried. */
export function anonymousActor(email: string | null = null): AuditActor {
  return { id: null, email, role: null };
}

export const AuditResourceSchema = z.object({ type: z.string(), id: z.string().nullable() });

/** One link of the append-only, hash-chained audit log (ARCHITECTURE §7). */
export const AuditEntrySchema = z.object({
  id: IdSchema,
  seq: z.number().int().min(1),
  at: z.date(),
  actor: AuditActorSchema,
  /** The procedure name, e.g. `workspace.launch`, or a system action such as `session.expire`. */
  action: z.string(),
  resource: AuditResourceSchema,
  clientIp: z.string().nullable(),
  userAgent: z.string().nullable(),
  result: AuditResultSchema,
  reason: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/** What a writer supplies; seq, time and hashes are assigned on append. */
export type AuditEvent = Omit<AuditEntry, "id" | "seq" | "at" | "prevHash" | "hash">;

export const AuditFilterSchema = z.strictObject({
  actorId: z.string().max(64).optional(),
  actorEmail: z.string().trim().max(254).optional(),
  action: z.string().trim().max(64).optional(),
  resourceType: z.string().trim().max(64).optional(),
  resourceId: z.string().trim().max(64).optional(),
  result: AuditResultSchema.optional(),
  from: z.date().optional(),
  to: z.date().optional(),
});
export type AuditFilter = z.infer<typeof AuditFilterSchema>;

/** A time range whose end comes before its start matches nothing: refused, naming `to`. */
function rangeInOrder(filter: { from?: Date | undefined; to?: Date | undefined }): boolean {
  return filter.from === undefined || filter.to === undefined || filter.from.getTime() <= filter.to.getTime();
}
const RANGE_IN_ORDER = { message: "must not be before “from”", path: ["to"] };

export const ListAuditInputSchema = AuditFilterSchema.extend({
  limit: z.number().int().min(1).max(200).default(50),
  cursor: CursorSchema.optional(),
  /** Added by tRPC's `useInfiniteQuery` to every page request; paging is always newest first. */
  direction: z.enum(["forward", "backward"]).optional(),
}).refine(rangeInOrder, RANGE_IN_ORDER);
export type ListAuditInput = z.infer<typeof ListAuditInputSchema>;
export const AuditPageSchema = pageOf(AuditEntrySchema);

export const AuditProblemSchema = z.enum([
  "hash_mismatch",
  "prev_hash_mismatch",
  "seq_gap",
  "seq_order",
  /** The chain ends before the latest signed checkpoint: its newest entries were deleted. */
  "truncated",
  /** The entry at the checkpoint's seq is not the one that was signed. */
  "checkpoint_mismatch",
  /** The latest checkpoint's signature is not this installation's key's. */
  "checkpoint_signature",
]);
export type AuditProblem = z.infer<typeof AuditProblemSchema>;

export const AuditVerifyOutputSchema = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  firstBroken: z
    .object({
      seq: z.number().int(),
      id: z.string().nullable(),
      problem: AuditProblemSchema,
    })
    .nullable(),
});
export type AuditVerifyOutput = z.infer<typeof AuditVerifyOutputSchema>;

/**
 * A signed statement that the chain's entry `seq` had `hash`, written periodically and on
 * demand. The signing key is outside the database, so deleting the newest entries cannot be
 * hidden by rewriting the checkpoint.
 */
export const AuditCheckpointSchema = z.object({
  seq: z.number().int().min(1),
  hash: z.string(),
  at: z.date(),
  /** Which key signed it (a hash of the public key). */
  keyId: z.string(),
  signature: z.string(),
});
export type AuditCheckpoint = z.infer<typeof AuditCheckpointSchema>;

/** The text a checkpoint's signature covers. */
export function auditCheckpointPayload(checkpoint: Pick<AuditCheckpoint, "seq" | "hash" | "at">): string {
  return `neosc-audit-checkpoint:v1:${checkpoint.seq}:${checkpoint.hash}:${checkpoint.at.toISOString()}`;
}

/** `audit.verify`: the chain walk, checked against the latest signed checkpoint (null: none yet). */
export const AuditVerifyReportSchema = AuditVerifyOutputSchema.extend({
  checkpoint: AuditCheckpointSchema.omit({ signature: true }).nullable(),
});
export type AuditVerifyReport = z.infer<typeof AuditVerifyReportSchema>;

/** `audit.checkpoint`: the checkpoint just written (null when the chain is empty). */
export const AuditCheckpointOutputSchema = AuditCheckpointSchema.omit({ signature: true }).nullable();

export const ExportAuditInputSchema = AuditFilterSchema.extend({
  format: z.enum(["jsonl", "csv"]),
  limit: z.number().int().min(1).max(50_000).default(10_000),
}).refine(rangeInOrder, RANGE_IN_ORDER);
export const ExportAuditOutputSchema = z.object({
  format: z.enum(["jsonl", "csv"]),
  filename: z.string(),
  count: z.number().int(),
  content: z.string(),
});

export const GENESIS_HASH = "0".repeat(64);

/**
 * Actions that are not procedures: what the sweeper, the gateway, the workspace hosts, the web
 * proxy, the recorder and the first start record. Procedures are audited under their own names
 * (a refused call too), so the two lists together are every action the log can hold.
 */
export const SYSTEM_AUDIT_ACTIONS = [
  /** A recovery code was used up (at sign-in or step-up), with how many are left. */
  "auth.mfa.recoveryCodeUsed",
  "session.expire",
  "session.end",
  "session.launchFailed",
  "gateway.connect",
  "gateway.disconnect",
  "gateway.clipboard",
  "webapp.open",
  "webapp.request",
  "webapp.upload",
  "webapp.download",
  "recording.start",
  "recording.segment",
  "recording.failed",
  "recording.delete",
  "recording.download",
  "system.bootstrapAdmin",
  "system.seedCatalogue",
] as const;

/** Every action an audit entry can name, procedures first (the audit page's action choices). */
export const AUDIT_ACTIONS: readonly string[] = [
  ...new Set([...Object.keys(PROCEDURE_ACCESS), ...SYSTEM_AUDIT_ACTIONS]),
];

/** What an audit entry can be about (`resource.type`); `none` for entries about nothing in particular. */
export const AUDIT_RESOURCE_TYPES = [
  "session",
  "workspace",
  "user",
  "login_session",
  "api_token",
  "organization",
  "policy",
  "audit",
  "procedure",
  "none",
] as const;
