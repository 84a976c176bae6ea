import {
  AuditCheckpointOutputSchema,
  AuditPageSchema,
  AuditVerifyReportSchema,
  ExportAuditInputSchema,
  ExportAuditOutputSchema,
  ListAuditInputSchema,
} from "@neosc/core/audit";
import { NoInputSchema } from "@neosc/core/common";
import { checkpointAudit, verifyAudit } from "../../domain/audit/checkpoints.ts";
import { exportAudit, listAudit } from "../../domain/audit/log.ts";
import { procedureFor, router } from "../../trpc.ts";

export const auditRouter = router({
  /** Admins: entries newest first, filtered, cursor-paginated. */
  list: procedureFor("audit.list")
    .input(ListAuditInputSchema)
    .output(AuditPageSchema)
    .query(({ ctx, input }) => listAudit(ctx, input)),

  /** Admins: recomputes the hash chain and checks it against the latest signed checkpoint. */
  verify: procedureFor("audit.verify")
    .input(NoInputSchema)
    .output(AuditVerifyReportSchema)
    .query(({ ctx }) => verifyAudit(ctx)),

  /** Admins: signs a checkpoint of the chain's head now. */
  checkpoint: procedureFor("audit.checkpoint")
    .input(NoInputSchema)
    .output(AuditCheckpointOutputSchema)
    .mutation(({ ctx }) => checkpointAudit(ctx)),

  /** Admins: a filtered range as JSON Lines or CSV (the export is itself audited). */
  export: procedureFor("audit.export")
    .input(ExportAuditInputSchema)
    .output(ExportAuditOutputSchema)
    .query(({ ctx, input }) => exportAudit(ctx, input)),
});
