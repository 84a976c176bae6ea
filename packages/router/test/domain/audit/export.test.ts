import type { AuditEntry } from "@neosc/core/audit";
import { describe, expect, it } from "vitest";
import { auditToCsv, auditToJsonLines, csvCell } from "../../../src/domain/audit/export.ts";
import { parseCsv } from "../../support/csv.ts";

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: "7b0b1f5e-7a35-4d2c-9c43-8b7d1b0c9f10",
    seq: 1,
    at: new Date("2025-03-01T10:00:00.000Z"),
    actor: { id: "u1", email: "ada@example.com", role: "admin" },
    action: "workspace.launch",
    resource: { type: "workspace", id: "w1" },
    clientIp: "10.0.0.1",
    userAgent: "curl/8",
    result: "success",
    reason: null,
    details: {},
    prevHash: "0".repeat(64),
    hash: "a".repeat(64),
    ...overrides,
  };
}

describe("csvCell", () => {
  it("quotes commas, quotes and line breaks", () => {
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("two\nlines")).toBe('"two\nlines"');
    expect(csvCell(null)).toBe("");
    expect(csvCell(42)).toBe("42");
  });

  it.each(["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://evil","x")'])(
    "defuses the formula %j",
    (text) => {
      const cell = csvCell(text);
      const unquoted = cell.startsWith('"') ? cell.slice(1) : cell;
      expect(unquoted.startsWith("'")).toBe(true);
    },
  );
});

describe("auditToCsv", () => {
  it("writes a header and round-trips hostile values", () => {
    const hostile = entry({
      userAgent: '=cmd|" /C calc"!A0',
      actor: { id: null, email: "a,b@example.com", role: null },
      details: { note: 'line1\r\nline2 "quoted"' },
    });
    const rows = parseCsv(auditToCsv([entry(), hostile]));
    expect(rows).toHaveLength(3);
    expect(rows[0]?.[0]).toBe("seq");
    expect(rows[2]?.[3]).toBe("a,b@example.com");
    expect(rows[2]?.[2]).toBe("");
    expect(rows[2]?.[9]).toBe(`'=cmd|" /C calc"!A0`);
    expect(JSON.parse(rows[2]?.[12] ?? "")).toEqual({ note: 'line1\r\nline2 "quoted"' });
    for (const row of rows) expect(row).toHaveLength(15);
  });
});

describe("auditToJsonLines", () => {
  it("writes one parseable object per line", () => {
    const text = auditToJsonLines([entry(), entry({ seq: 2, details: { x: "a\nb" } })]);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1] ?? "")).toMatchObject({
      seq: 2,
      details: { x: "a\nb" },
      at: "2025-03-01T10:00:00.000Z",
    });
  });
});
