import type { AuditEntry } from "@neosc/core/audit";

/** Columns of the CSV export, in order. Nested values are flattened into these. */
export const AUDIT_CSV_COLUMNS = [
  "seq",
  "at",
  "actorId",
  "actorEmail",
  "actorRole",
  "action",
  "resourceType",
  "resourceId",
  "clientIp",
  "userAgent",
  "result",
  "reason",
  "details",
  "prevHash",
  "hash",
] as const;

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. A cell that a
 * spreadsheet would read as a formula (leading `=`, `+`, `-`, `@`, tab or carriage return) is
 * prefixed with `'` so opening an export never runs anything (OWASP "CSV injection").
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  if (/[",\r\n]/.test(text)) text = `"${text.replaceAll('"', '""')}"`;
  return text;
}

function auditRow(entry: AuditEntry): (string | number | null)[] {
  return [
    entry.seq,
    entry.at.toISOString(),
    entry.actor.id,
    entry.actor.email,
    entry.actor.role,
    entry.action,
    entry.resource.type,
    entry.resource.id,
    entry.clientIp,
    entry.userAgent,
    entry.result,
    entry.reason,
    JSON.stringify(entry.details),
    entry.prevHash,
    entry.hash,
  ];
}

export function auditToCsv(entries: readonly AuditEntry[]): string {
  const lines = [AUDIT_CSV_COLUMNS.join(",")];
  for (const entry of entries) lines.push(auditRow(entry).map(csvCell).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/** JSON Lines: one entry per line, dates as ISO strings. */
export function auditToJsonLines(entries: readonly AuditEntry[]): string {
  return entries.map((entry) => `${JSON.stringify({ ...entry, at: entry.at.toISOString() })}\n`).join("");
}
