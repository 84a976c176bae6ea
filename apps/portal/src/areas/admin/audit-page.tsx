import {
  AUDIT_ACTIONS,
  AUDIT_RESOURCE_TYPES,
  type AuditEntry,
  type AuditFilter,
  type AuditResult,
  type AuditVerifyReport,
} from "@neosc/core/audit";
import { ChevronDown, ChevronRight, Download, ShieldCheck, ShieldX } from "lucide-react";
import { type FormEvent, Fragment, useState } from "react";
import { Link } from "react-router";
import { Button } from "../../components/ui/button.tsx";
import { type Column, DataTable } from "../../components/ui/data-table.tsx";
import { Badge, Card, EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { SelectField, TextField } from "../../components/ui/field.tsx";
import { LoadMore } from "../../components/ui/load-more.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
import { formatCount, formatPreciseTime, localTimeZone } from "../../lib/format.ts";
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

/** What each action prefix is about, for the action choices' groups. */
const AREA_LABEL: Record<string, string> = {
  auth: "Sign-in and account",
  workspace: "Workspaces",
  session: "Sessions",
  gateway: "Connections",
  webapp: "Web apps",
  recording: "Recordings",
  policy: "Policies",
  organization: "Organizations",
  user: "Users",
  serviceAccount: "Service accounts",
  apiToken: "API tokens",
  audit: "Audit log",
  stats: "Stats",
  system: "System",
};

const RESOURCE_LABEL: Record<(typeof AUDIT_RESOURCE_TYPES)[number], string> = {
  session: "Session",
  workspace: "Workspace",
  user: "User",
  login_session: "Sign-in",
  api_token: "API token",
  organization: "Organization",
  policy: "Policy",
  audit: "Audit log",
  procedure: "Procedure (a refused call)",
  none: "Nothing in particular",
};

/** Every known action grouped by what it is about; a group's own value (`session.`) matches all of it. */
export function actionGroups(actions: readonly string[] = AUDIT_ACTIONS) {
  const groups = new Map<string, string[]>();
  for (const action of actions) {
    const area = action.slice(0, action.indexOf("."));
    groups.set(area, [...(groups.get(area) ?? []), action]);
  }
  return [...groups].map(([area, members]) => ({
    area,
    label: AREA_LABEL[area] ?? area,
    prefix: `${area}.`,
    actions: members.sort(),
  }));
}

/** A `datetime-local` value (the browser's time zone) as a Date, or null when it is not one. */
function localDateTime(value: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * The form's strings as an AuditFilter (blank fields left out; local date-times to Dates), or
 * the errors per field: a time that is not one, or a "to" before the "from".
 */
export function toAuditFilter(
  form: FilterForm,
): { filter: AuditFilter; errors: null } | { filter: null; errors: Record<string, string[]> } {
  const filter: AuditFilter = {};
  const errors: Record<string, string[]> = {};
  if (form.actorEmail.trim()) filter.actorEmail = form.actorEmail.trim();
  if (form.action.trim()) filter.action = form.action.trim();
  if (form.resourceType.trim()) filter.resourceType = form.resourceType.trim();
  if (form.result) filter.result = form.result;
  if (form.from) {
    const from = localDateTime(form.from);
    if (from === null) errors.from = ["Enter a date and time"];
    else filter.from = from;
  }
  if (form.to) {
    const to = localDateTime(form.to);
    if (to === null) errors.to = ["Enter a date and time"];
    else filter.to = to;
  }
  if (filter.from && filter.to && filter.to.getTime() < filter.from.getTime()) {
    errors.to = ["must be after “From”"];
  }
  return Object.keys(errors).length > 0 ? { filter: null, errors } : { filter, errors: null };
}

const COLUMNS: Column[] = [
  { label: "Details", srOnly: true, className: "w-10" },
  { label: "#" },
  { label: `Time (${localTimeZone()})` },
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

/** "12 entries checked, #1 to #12" (the chain is verified from its start). */
function checkedRange(checked: number): string {
  if (checked === 0) return "No entries to check";
  return `${formatCount(checked)} ${checked === 1 ? "entry" : "entries"} checked, #1 to #${checked}`;
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

/** A session's entries lead to its recordings (the page says when there are none). */
function SessionReplayLink({ sessionId }: { sessionId: string }) {
  return (
    <Link
      className="font-sans text-primary underline"
      to={`/admin/recordings/${sessionId}`}
      aria-label={`Recording of session ${sessionId}`}
    >
      Recording
    </Link>
  );
}

function EntryDetails({ entry }: { entry: AuditEntry }) {
  return (
    <dl className="grid gap-x-6 gap-y-1 text-xs sm:grid-cols-[8rem_1fr]">
      <dt className="text-fg-muted">User agent</dt>
      <dd className="break-all text-fg">{entry.userAgent ?? "—"}</dd>
      <dt className="text-fg-muted">Resource id</dt>
      <dd className="font-mono break-all text-fg">
        {entry.resource.id ?? "—"}
        {entry.resource.type === "session" && entry.resource.id !== null ? (
          <>
            {" "}
            <SessionReplayLink sessionId={entry.resource.id} />
          </>
        ) : null}
      </dd>
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
  const { field, values: form, setValues: setForm, setErrors } = useForm<FilterForm>(EMPTY);
  const [filter, setFilter] = useState<AuditFilter>({});
  const [open, setOpen] = useState<string | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [verification, setVerification] = useState<(AuditVerifyReport & { at: Date }) | null>(null);
  const [exporting, setExporting] = useState<ExportFormat | null>(null);

  const entries = trpc.audit.list.useInfiniteQuery(
    { ...filter, limit: PAGE_SIZE },
    { getNextPageParam: (page) => page.nextCursor ?? undefined },
  );

  function apply(event: FormEvent) {
    event.preventDefault();
    const parsed = toAuditFilter(form);
    setErrors(parsed.errors ?? {});
    if (parsed.filter) setFilter(parsed.filter);
  }

  async function verify() {
    setVerifying(true);
    try {
      const result = await utils.client.audit.verify.query();
      setVerification({ ...result, at: new Date() });
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
                ? `${checkedRange(verification.checked)}: every hash matches and links to the one before.${checkpointText(verification.checkpoint)}`
                : verification.firstBroken
                  ? `First problem at entry #${verification.firstBroken.seq}: ${PROBLEM_TEXT[verification.firstBroken.problem]}. ${checkedRange(verification.checked)}.`
                  : `${checkedRange(verification.checked)}.`}
            </p>
            <p className="mt-1 text-xs text-fg-muted">
              The whole log as it was at {formatPreciseTime(verification.at)} ({localTimeZone()}), whatever
              the filters below show; entries written since are not covered
              {verification.ok ? " (the ones that are carry a check mark)" : ""}.
            </p>
          </div>
        </div>
      ) : null}

      <Card className="mb-4 p-4">
        <form onSubmit={apply} className="grid gap-3 sm:grid-cols-2 lg:grid-cols-6">
          <TextField label="Actor email" {...field("actorEmail")} placeholder="someone@example.com" />
          <SelectField label="Action" {...field("action")}>
            <option value="">Any action</option>
            {actionGroups().map((group) => (
              <optgroup key={group.area} label={group.label}>
                <option value={group.prefix}>All: {group.label.toLowerCase()}</option>
                {group.actions.map((action) => (
                  <option key={action} value={action}>
                    {action}
                  </option>
                ))}
              </optgroup>
            ))}
          </SelectField>
          <SelectField label="Resource" {...field("resourceType")}>
            <option value="">Anything</option>
            {AUDIT_RESOURCE_TYPES.map((type) => (
              <option key={type} value={type}>
                {RESOURCE_LABEL[type]}
              </option>
            ))}
          </SelectField>
          <SelectField label="Result" {...field("result")}>
            <option value="">Any</option>
            <option value="success">Success</option>
            <option value="denied">Denied</option>
            <option value="error">Error</option>
          </SelectField>
          <TextField label={`From (${localTimeZone()})`} type="datetime-local" {...field("from")} />
          <TextField label={`To (${localTimeZone()})`} type="datetime-local" {...field("to")} />
          <div className="flex gap-2 sm:col-span-2 lg:col-span-6">
            <Button type="submit" size="sm">
              Apply filters
            </Button>
            <Button
              size="sm"
              variant="ghost"
              onClick={() => {
                setForm(EMPTY);
                setErrors({});
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
                    <td className="px-3 py-2 font-mono text-xs text-fg-muted tabular-nums">
                      <span className="inline-flex items-center gap-1">
                        {entry.seq}
                        {verification?.ok && entry.seq <= verification.checked ? (
                          <ShieldCheck aria-label="verified" className="size-3.5 text-success" />
                        ) : null}
                      </span>
                    </td>
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
                      {entry.resource.type === "session" && entry.resource.id !== null ? (
                        <p className="mt-0.5">
                          <SessionReplayLink sessionId={entry.resource.id} />
                        </p>
                      ) : null}
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
