import type { AuditEntry, AuditFilter, AuditResult, AuditVerifyReport } from "@neosc/core/audit";
import { ChevronDown, ChevronRight, Download, ShieldCheck, ShieldX } from "lucide-react";
import { type FormEvent, Fragment, useState } from "react";
import { Button } from "../../components/ui/button.tsx";
import { type Column, DataTable } from "../../components/ui/data-table.tsx";
import { Badge, Card, EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { SelectField, TextField } from "../../components/ui/field.tsx";
import { LoadMore } from "../../components/ui/load-more.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
import { formatCount, formatPreciseTime } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";
import { useForm } from "../../lib/use-form.ts";

const PAGE_SIZE = 50;

interface FilterForm {
  actorEmail: string;
  action: string;
  resourceType: string;
  result: "" | AuditResult;
  from: string;
  to: string;
}

const EMPTY: FilterForm = { actorEmail: "", action: "", resourceType: "", result: "", from: "", to: "" };

/** The form's strings as an AuditFilter (blank fields left out; local date-times to Dates). */
export function toAuditFilter(form: FilterForm): AuditFilter {
  const filter: AuditFilter = {};
  if (form.actorEmail.trim()) filter.actorEmail = form.actorEmail.trim();
  if (form.action.trim()) filter.action = form.action.trim();
  if (form.resourceType.trim()) filter.resourceType = form.resourceType.trim();
  if (form.result) filter.result = form.result;
  if (form.from) filter.from = new Date(form.from);
  if (form.to) filter.to = new Date(form.to);
  return filter;
}

const COLUMNS: Column[] = [
  { label: "Details", srOnly: true, className: "w-10" },
  { label: "#" },
  { label: "Time" },
  { label: "Actor" },
  { label: "Action" },
  { label: "Result" },
  { label: "Resource", className: "hidden lg:table-cell" },
  { label: "IP", className: "hidden md:table-cell" },
];

const EXPORT_FORMATS = ["jsonl", "csv"] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

const RESULT_TONE = { success: "success", denied: "warning", error: "danger" } as const;

const PROBLEM_TEXT: Record<NonNullable<AuditVerifyReport["firstBroken"]>["problem"], string> = {
  hash_mismatch: "its content does not match its hash (edited after writing)",
  prev_hash_mismatch: "it does not link to the entry before it",
  seq_gap: "entries are missing before it",
  seq_order: "entries are out of order",
  truncated: "the chain ends before its latest signed checkpoint — the newest entries were deleted",
  checkpoint_mismatch: "it is not the entry the latest checkpoint signed",
  checkpoint_signature: "the latest checkpoint is not signed with this installation's key",
};

/** Which signed checkpoint the chain was held against, in words. */
function checkpointText(checkpoint: AuditVerifyReport["checkpoint"]): string {
  if (checkpoint === null) return " No signed checkpoint yet, so deleted newest entries would not show.";
  return ` Held against the checkpoint signed at entry #${checkpoint.seq} (${checkpoint.at.toLocaleString(undefined, { timeZoneName: "short" })}).`;
}

function download(filename: string, content: string, type: string) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function EntryDetails({ entry }: { entry: AuditEntry }) {
  return (
    <dl className="grid gap-x-6 gap-y-1 text-xs sm:grid-cols-[8rem_1fr]">
      <dt className="text-fg-muted">User agent</dt>
      <dd className="break-all text-fg">{entry.userAgent ?? "—"}</dd>
      <dt className="text-fg-muted">Resource id</dt>
      <dd className="font-mono break-all text-fg">{entry.resource.id ?? "—"}</dd>
      <dt className="text-fg-muted">Details</dt>
      <dd>
        <pre className="overflow-x-auto rounded bg-surface-muted p-2 font-mono text-fg">
          {JSON.stringify(entry.details, null, 2)}
        </pre>
      </dd>
      <dt className="text-fg-muted">Hash</dt>
      <dd className="font-mono break-all text-fg">{entry.hash}</dd>
      <dt className="text-fg-muted">Previous hash</dt>
      <dd className="font-mono break-all text-fg-muted">{entry.prevHash}</dd>
    </dl>
  );
}

export function AuditPage() {
  const utils = trpc.useUtils();
  const { field, values: form, setValues: setForm } = useForm<FilterForm>(EMPTY);
  const [filter, setFilter] = useState<AuditFilter>({});
  const [open, setOpen] = useState<string | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [verification, setVerification] = useState<AuditVerifyReport | null>(null);
  const [exporting, setExporting] = useState<ExportFormat | null>(null);

  const entries = trpc.audit.list.useInfiniteQuery(
    { ...filter, limit: PAGE_SIZE },
    { getNextPageParam: (page) => page.nextCursor ?? undefined },
  );

  function apply(event: FormEvent) {
    event.preventDefault();
    setFilter(toAuditFilter(form));
  }

  async function verify() {
    setVerifying(true);
    try {
      setVerification(await utils.client.audit.verify.query());
    } catch (error) {
      toastError(error);
    } finally {
      setVerifying(false);
    }
  }

  async function exportAs(format: ExportFormat) {
    setExporting(format);
    try {
      const result = await utils.client.audit.export.query({ ...filter, format });
      download(result.filename, result.content, format === "csv" ? "text/csv" : "application/x-ndjson");
      toast({
        title: "Export ready",
        description: `${formatCount(result.count)} entries in ${result.filename}`,
      });
    } catch (error) {
      toastError(error);
    } finally {
      setExporting(null);
      void utils.audit.list.invalidate();
    }
  }

  const rows = entries.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every sign-in, change and refusal, hash-chained so tampering shows."
        actions={
          <>
            {EXPORT_FORMATS.map((format) => (
              <Button
                key={format}
                variant="secondary"
                loading={exporting === format}
                disabled={exporting !== null}
                onClick={() => void exportAs(format)}
                icon={<Download aria-hidden className="size-4" />}
              >
                {format.toUpperCase()}
              </Button>
            ))}
            <Button
              loading={verifying}
              onClick={() => void verify()}
              icon={<ShieldCheck aria-hidden className="size-4" />}
            >
              Verify chain
            </Button>
          </>
        }
      />

      {verification ? (
        <div
          role="status"
          className={`mb-4 flex items-start gap-3 rounded-xl border p-4 text-sm ${
            verification.ok ? "border-success/40 bg-success-soft" : "border-danger/40 bg-danger-soft"
          }`}
        >
          {verification.ok ? (
            <ShieldCheck aria-hidden className="size-5 shrink-0 text-success" />
          ) : (
            <ShieldX aria-hidden className="size-5 shrink-0 text-danger" />
          )}
          <div>
            <p className="font-medium text-fg">
              {verification.ok ? "The chain is intact" : "The chain is broken"}
            </p>
            <p className="text-fg">
              {verification.ok
                ? `${formatCount(verification.checked)} entries checked; every hash matches and links to the one before.${checkpointText(verification.checkpoint)}`
                : verification.firstBroken
                  ? `First problem at entry #${verification.firstBroken.seq}: ${PROBLEM_TEXT[verification.firstBroken.problem]}. ${formatCount(verification.checked)} entries checked.`
                  : `${formatCount(verification.checked)} entries checked.`}
            </p>
          </div>
        </div>
      ) : null}

      <Card className="mb-4 p-4">
        <form onSubmit={apply} className="grid gap-3 sm:grid-cols-2 lg:grid-cols-6">
          <TextField label="Actor email" {...field("actorEmail")} placeholder="someone@example.com" />
          <TextField label="Action" {...field("action")} placeholder="workspace.launch" />
          <TextField label="Resource type" {...field("resourceType")} placeholder="workspace" />
          <SelectField label="Result" {...field("result")}>
            <option value="">Any</option>
            <option value="success">Success</option>
            <option value="denied">Denied</option>
            <option value="error">Error</option>
          </SelectField>
          <TextField label="From" type="datetime-local" {...field("from")} />
          <TextField label="To" type="datetime-local" {...field("to")} />
          <div className="flex gap-2 sm:col-span-2 lg:col-span-6">
            <Button type="submit" size="sm">
              Apply filters
            </Button>
            <Button
              size="sm"
              variant="ghost"
              onClick={() => {
                setForm(EMPTY);
                setFilter({});
              }}
            >
              Clear
            </Button>
          </div>
        </form>
      </Card>

      {entries.isPending ? (
        <Skeleton className="h-96" />
      ) : entries.error ? (
        <ErrorState error={entries.error} onRetry={() => void entries.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No entries">Nothing matches these filters.</EmptyState>
      ) : (
        <div className="space-y-4">
          <DataTable dense columns={COLUMNS}>
            {rows.map((entry) => {
              const expanded = open === entry.id;
              return (
                <Fragment key={entry.id}>
                  <tr className="align-top">
                    <td className="px-3 py-2">
                      <button
                        type="button"
                        aria-expanded={expanded}
                        aria-label={`Details of entry ${entry.seq}`}
                        onClick={() => setOpen(expanded ? null : entry.id)}
                        className="rounded p-0.5 text-fg-muted hover:bg-surface-muted"
                      >
                        {expanded ? (
                          <ChevronDown aria-hidden className="size-4" />
                        ) : (
                          <ChevronRight aria-hidden className="size-4" />
                        )}
                      </button>
                    </td>
                    <td className="px-3 py-2 font-mono text-xs text-fg-muted tabular-nums">{entry.seq}</td>
                    <td className="px-3 py-2 text-xs whitespace-nowrap text-fg-muted tabular-nums">
                      {formatPreciseTime(entry.at)}
                    </td>
                    <td className="max-w-48 truncate px-3 py-2 text-fg">
                      {entry.actor.email ?? <span className="text-fg-muted">system</span>}
                    </td>
                    <td className="px-3 py-2 font-mono text-xs text-fg">{entry.action}</td>
                    <td className="px-3 py-2">
                      <Badge tone={RESULT_TONE[entry.result]}>{entry.result}</Badge>
                      {entry.reason ? (
                        <p className="mt-0.5 font-mono text-xs text-fg-muted">{entry.reason}</p>
                      ) : null}
                    </td>
                    <td className="hidden px-3 py-2 text-xs text-fg-muted lg:table-cell">
                      {entry.resource.type}
                    </td>
                    <td className="hidden px-3 py-2 font-mono text-xs text-fg-muted md:table-cell">
                      {entry.clientIp ?? "—"}
                    </td>
                  </tr>
                  {expanded ? (
                    <tr>
                      <td colSpan={8} className="bg-surface-muted/50 px-4 py-3">
                        <EntryDetails entry={entry} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              );
            })}
          </DataTable>
          <LoadMore query={entries} label="Load older entries" end="That is the beginning of the log." />
        </div>
      )}
    </>
  );
}
