import {
  AuditPageSchema,
  AuditVerifyOutputSchema,
  ExportAuditInputSchema,
  ExportAuditOutputSchema,
  ListAuditInputSchema,
} from "@neosc/core/audit";
import { NoInputSchema } from "@neosc/core/common";
import { exportAudit, listAudit, verifyAudit } from "../../domain/audit/log.ts";
import { procedureFor, router } from "../../trpc.ts";

export const auditRouter = router({
  /** Admins: entries newest first, filtered, cursor-paginated. */
  list: procedureFor("audit.list")
    .input(ListAuditInputSchema)
    .output(AuditPageSchema)
    .query(({ ctx, input }) => listAudit(ctx, input)),

  /** Admins: recomputes the hash chain. */
  verify: procedureFor("audit.verify")
    .input(NoInputSchema)
    .output(AuditVerifyOutputSchema)
    .query(({ ctx }) => verifyAudit(ctx)),

  /** Admins: a filtered range as JSON Lines or CSV (the export is itself audited). */
  export: procedureFor("audit.export")
    .input(ExportAuditInputSchema)
    .output(ExportAuditOutputSchema)
    .query(({ ctx, input }) => exportAudit(ctx, input)),
});
