import type { Writable } from "node:stream";
import type { DestinationStream } from "pino";

/*
 * How the API's log reads when a person watches it: on a terminal, one short line per entry
 * ("05:41:29 INFO  neosc api listening  url=http://127.0.0.1:8080"); elsewhere (files, log
 * collectors, containers) the JSON lines stay as they are, so machines keep parsing them.
 */

export type LogFormat = "auto" | "json" | "pretty";

/** `auto`: human lines when standard output is a terminal, JSON lines otherwise. */
export function prettyLogsFor(format: LogFormat, isTty: boolean): boolean {
  return format === "pretty" || (format === "auto" && isTty);
}

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: "TRACE", color: "90" },
  20: { name: "DEBUG", color: "90" },
  30: { name: "INFO ", color: "36" },
  40: { name: "WARN ", color: "33" },
  50: { name: "ERROR", color: "31" },
  60: { name: "FATAL", color: "35" },
};

/** Fields every entry carries that a person does not need on each line. */
const QUIET_FIELDS = new Set(["level", "time", "msg", "pid", "hostname", "service", "err"]);

function paint(color: boolean, code: string, text: string): string {
  return color ? `\u001b[${code}m${text}\u001b[0m` : text;
}

function fieldText(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) || value === "" ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

function clock(time: unknown): string {
  const date = typeof time === "number" ? new Date(time) : new Date();
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((part) => String(part).padStart(2, "0"))
    .join(":");
}

/** One pino JSON line as a person reads it (a line that is not JSON is passed through). */
export function formatLogLine(line: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return line;
    entry = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = LEVELS[typeof entry.level === "number" ? entry.level : 30] ?? { name: "INFO ", color: "36" };
  const fields = Object.entries(entry)
    .filter(([key]) => !QUIET_FIELDS.has(key))
    .map(([key, value]) => `${paint(color, "2", `${key}=`)}${fieldText(value)}`);
  const parts = [
    paint(color, "2", clock(entry.time)),
    paint(color, level.color, level.name),
    typeof entry.msg === "string" ? entry.msg : "",
  ];
  let text = parts.join(" ");
  if (fields.length > 0) text += `  ${fields.join(" ")}`;
  const error = entry.err;
  if (error !== null && typeof error === "object") {
    const { message, stack } = error as { message?: unknown; stack?: unknown };
    const detail = typeof stack === "string" ? stack : typeof message === "string" ? message : "";
    if (detail !== "") text += `\n    ${detail.split("\n").join("\n    ")}`;
  }
  return text;
}

/** A pino destination that writes human lines to `out` (synchronously, like pino's default). */
export function humanLogDestination(out: Writable & { isTTY?: boolean }): DestinationStream {
  const color = out.isTTY === true;
  return {
    write(chunk: string) {
      for (const line of chunk.split("\n")) {
        if (line.trim() !== "") out.write(`${formatLogLine(line, color)}\n`);
      }
    },
  };
}
