import type { AuditEntry, AuditFilter, ListAuditInput } from "@neosc/core/audit";
import type { Page } from "@neosc/core/common";
import type { AuthedContext } from "../../context.ts";
import { auditToCsv, auditToJsonLines } from "./export.ts";
import { audit } from "./record.ts";

/** Admins: newest first, filtered, keyset-paginated. */
export function listAudit(ctx: AuthedContext, input: ListAuditInput): Promise<Page<AuditEntry>> {
  return ctx.db.audit.list(input);
}

export interface ExportAuditInput extends AuditFilter {
  format: "jsonl" | "csv";
  limit: number;
}

/** Admins: a filtered range, oldest first, as JSON Lines or CSV. The export itself is audited. */
export async function exportAudit(
  ctx: AuthedContext,
  input: ExportAuditInput,
): Promise<{ format: "jsonl" | "csv"; filename: string; count: number; content: string }> {
  const { format, limit, ...filter } = input;
  const entries = await ctx.db.audit.scan(filter, limit);
  const content = format === "csv" ? auditToCsv(entries) : auditToJsonLines(entries);
  const stamp = ctx
    .clock()
    .toISOString()
    .replaceAll(":", "")
    .replace(/\.\d+Z$/, "Z");
  await audit(ctx, {
    action: "audit.export",
    resource: { type: "audit", id: null },
    details: {
      format,
      count: entries.length,
      filter: Object.fromEntries(
        Object.entries(filter).map(([key, value]) => [
          key,
          value instanceof Date ? value.toISOString() : value,
        ]),
      ),
    },
  });
  return { format, filename: `neosc-audit-${stamp}.${format}`, count: entries.length, content };
}
