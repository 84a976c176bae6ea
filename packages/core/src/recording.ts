import { z } from "zod";
import { IdSchema } from "./common.ts";

/*
 * The formats of a session recording (ARCHITECTURE §10), shared by the gateway that writes them,
 * the API that verifies and serves them and the portal's players that read them. A segment is
 * one gateway connection of a session (for a web app: one stretch of requests the gateway
 * watched), stored gzip-compressed, in one of three kinds:
 * - `rfb` (desktops and apps): a header (magic, version, the length
 * of a JSON description, the description), then records, each `kind u8 | ms since the segment
 * started u32 | length u32 | payload`. Server records hold the bytes the viewer received,
 * exactly as sent; pointer records hold the person's pointer (mask u8, x u16, y u16), so the
 * player can draw where the pointer was. Keystrokes are never recorded.
 * - `asciicast` (terminals): asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2), a
 *   JSON header line then `[seconds, code, data]` lines: `o` output, `r` resize ("COLSxROWS"),
 *   `m` marker, and `i` typed input only when the `recording` policy's `recordInput` says so.
 * - `access-log` (web apps): JSON lines, a header then one line per request (method, path
 *   without its query's values, status, bytes, duration); never bodies.
 */

export const RecordingKindSchema = z.enum(["rfb", "asciicast", "access-log"]);
export type RecordingKind = z.infer<typeof RecordingKindSchema>;

export const RECORDING_MAGIC = "NEOSCREC";
export const RECORDING_VERSION = 1;

export const RecordKind = { server: 1, pointer: 2 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export const RecordingHeaderSchema = z.object({
  sessionId: IdSchema,
  segment: z.number().int().min(1),
  protocol: z.enum(["rfb"]),
  startedAt: z.iso.datetime(),
});
export type RecordingHeader = z.infer<typeof RecordingHeaderSchema>;

export type RecordingRecord =
  | { kind: "server"; at: number; bytes: Uint8Array }
  | { kind: "pointer"; at: number; mask: number; x: number; y: number };

const RECORD_HEADER_BYTES = 9;

/** The segment's opening bytes (before compression). */
export function encodeRecordingHeader(header: RecordingHeader): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(RECORDING_MAGIC.length + 1 + 4 + json.length);
  out.set(new TextEncoder().encode(RECORDING_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint8(RECORDING_MAGIC.length, RECORDING_VERSION);
  view.setUint32(RECORDING_MAGIC.length + 1, json.length);
  out.set(json, RECORDING_MAGIC.length + 5);
  return out;
}

/** One record's framing; the payload follows it. */
export function encodeRecordHead(kind: RecordKind, at: number, length: number): Uint8Array {
  const head = new Uint8Array(RECORD_HEADER_BYTES);
  const view = new DataView(head.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, Math.max(0, Math.min(0xffffffff, Math.round(at))));
  view.setUint32(5, length);
  return head;
}

export function encodePointer(mask: number, x: number, y: number): Uint8Array {
  const payload = new Uint8Array(5);
  const view = new DataView(payload.buffer);
  view.setUint8(0, mask);
  view.setUint16(1, x);
  view.setUint16(3, y);
  return payload;
}

export class RecordingFormatError extends Error {
  override name = "RecordingFormatError";
}

/**
 * Reads an uncompressed segment. A segment cut short (the gateway stopped mid-write) yields the
 * records before the cut and `truncated: true`.
 */
export function decodeRecording(bytes: Uint8Array): {
  header: RecordingHeader;
  records: RecordingRecord[];
  truncated: boolean;
} {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = new TextDecoder().decode(bytes.subarray(0, RECORDING_MAGIC.length));
  if (magic !== RECORDING_MAGIC || bytes.length < RECORDING_MAGIC.length + 5) {
    throw new RecordingFormatError("not a NeoSC recording");
  }
  const version = view.getUint8(RECORDING_MAGIC.length);
  if (version !== RECORDING_VERSION) throw new RecordingFormatError(`recording version ${version}`);
  const jsonLength = view.getUint32(RECORDING_MAGIC.length + 1);
  let offset = RECORDING_MAGIC.length + 5;
  const header = RecordingHeaderSchema.parse(
    JSON.parse(new TextDecoder().decode(bytes.subarray(offset, offset + jsonLength))),
  );
  offset += jsonLength;
  const records: RecordingRecord[] = [];
  while (offset + RECORD_HEADER_BYTES <= bytes.length) {
    const kind = view.getUint8(offset);
    const at = view.getUint32(offset + 1);
    const length = view.getUint32(offset + 5);
    const start = offset + RECORD_HEADER_BYTES;
    if (start + length > bytes.length) break;
    if (kind === RecordKind.server)
      records.push({ kind: "server", at, bytes: bytes.subarray(start, start + length) });
    else if (kind === RecordKind.pointer && length === 5) {
      records.push({
        kind: "pointer",
        at,
        mask: view.getUint8(start),
        x: view.getUint16(start + 1),
        y: view.getUint16(start + 3),
      });
    } else throw new RecordingFormatError(`unknown record kind ${kind}`);
    offset = start + length;
  }
  return { header, records, truncated: offset !== bytes.length };
}

/** One stored segment as the audit chain describes it (`recording.segment`). */
export const RecordingSegmentSchema = z.object({
  sessionId: IdSchema,
  segment: z.number().int().min(1),
  kind: RecordingKindSchema,
  startedAt: z.date(),
  endedAt: z.date(),
  durationMs: z.number().int().min(0),
  /** Compressed size on disk. */
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Deleted by retention (audited as `recording.delete`). */
  deletedAt: z.date().nullable(),
});
export type RecordingSegment = z.infer<typeof RecordingSegmentSchema>;

export const ListRecordingsInputSchema = z.strictObject({ sessionId: IdSchema });
export const ListRecordingsOutputSchema = z.object({ segments: z.array(RecordingSegmentSchema) });

export const RecordingChunkInputSchema = z.strictObject({
  sessionId: IdSchema,
  segment: z.coerce.number().int().min(1).max(1_000_000),
  offset: z.coerce.number().int().min(0).default(0),
});
export const RecordingChunkOutputSchema = z.object({
  /** Base64 of the stored (gzip) bytes from `offset`. */
  data: z.string(),
  offset: z.number().int(),
  total: z.number().int(),
  nextOffset: z.number().int().nullable(),
  /** The SHA-256 of the whole stored file as the audit chain holds it (the player checks it). */
  sha256: z.string(),
});

export const VerifyRecordingsInputSchema = z.strictObject({ sessionId: IdSchema.optional() });
export const RecordingProblemSchema = z.object({
  sessionId: IdSchema,
  segment: z.number().int(),
  kind: RecordingKindSchema,
  /** altered: the stored bytes differ from the hash in the audit chain; missing: no file. */
  problem: z.enum(["altered", "missing", "unfinished"]),
});
export const VerifyRecordingsOutputSchema = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  problems: z.array(RecordingProblemSchema),
});
export type VerifyRecordingsOutput = z.infer<typeof VerifyRecordingsOutputSchema>;

const EXTENSION: Record<RecordingKind, string> = {
  rfb: "rfb",
  asciicast: "cast",
  "access-log": "access.jsonl",
};

/** Where a segment lives, relative to the recordings folder. */
export function segmentFileName(sessionId: string, segment: number, kind: RecordingKind): string {
  return `${sessionId}/${String(segment).padStart(4, "0")}.${EXTENSION[kind]}.gz`;
}

// asciicast v2 ------------------------------------------------------------------------------

export interface AsciicastHeader {
  version: 2;
  width: number;
  height: number;
  /** Unix seconds of the segment's start. */
  timestamp: number;
  title?: string;
  env?: Record<string, string>;
}

export type AsciicastEvent = [seconds: number, code: "o" | "i" | "r" | "m", data: string];

export function encodeAsciicastHeader(header: AsciicastHeader): string {
  return `${JSON.stringify(header)}\n`;
}

/** One event line; `ms` since the segment started, written as seconds with millisecond precision. */
export function encodeAsciicastEvent(ms: number, code: AsciicastEvent[1], data: string): string {
  return `${JSON.stringify([Math.max(0, Math.round(ms)) / 1000, code, data])}\n`;
}

/**
 * Reads an uncompressed asciicast v2 segment. A last line cut short (the gateway stopped
 * mid-write) is dropped and reported as `truncated`.
 */
export function decodeAsciicast(text: string): {
  header: AsciicastHeader;
  events: AsciicastEvent[];
  truncated: boolean;
} {
  const lines = text.split("\n");
  const last = lines.pop();
  const truncated = last !== undefined && last !== "";
  let header: AsciicastHeader;
  try {
    header = JSON.parse(lines[0] ?? "") as AsciicastHeader;
  } catch {
    throw new RecordingFormatError("not an asciicast");
  }
  if (header?.version !== 2 || typeof header.width !== "number" || typeof header.height !== "number") {
    throw new RecordingFormatError("not an asciicast v2 header");
  }
  const events = lines.slice(1).map((line) => {
    const event = JSON.parse(line) as AsciicastEvent;
    if (!Array.isArray(event) || typeof event[0] !== "number" || typeof event[2] !== "string") {
      throw new RecordingFormatError(`not an asciicast event: ${line.slice(0, 80)}`);
    }
    return event;
  });
  return { header, events, truncated };
}

// Web app access log -----------------------------------------------------------------------

export const ACCESS_LOG_VERSION = 1;

export const AccessLogHeaderSchema = z.object({
  version: z.literal(ACCESS_LOG_VERSION),
  kind: z.literal("access-log"),
  sessionId: IdSchema,
  segment: z.number().int().min(1),
  startedAt: z.iso.datetime(),
});
export type AccessLogHeader = z.infer<typeof AccessLogHeaderSchema>;

/**
 * One request the web app answered through the gateway. The query's values never appear (they
 * carry tokens and reset codes as often as page numbers): only its parameter names.
 */
export const AccessLogEntrySchema = z.object({
  /** When the request arrived. */
  at: z.iso.datetime(),
  method: z.string().max(16),
  /** The path without the query string. */
  path: z.string().max(2048),
  /** Names of the query's parameters, in order. */
  query: z.array(z.string().max(128)).max(64),
  /** The status the browser got (101 for a WebSocket; 502 when the app did not answer). */
  status: z.number().int().min(100).max(999),
  /** Response body bytes sent to the browser (both directions for a WebSocket). */
  bytes: z.number().int().min(0),
  durationMs: z.number().int().min(0),
  /** Refused by the gateway (`file_transfer_off`) rather than answered by the app. */
  refused: z.string().max(64).nullable(),
});
export type AccessLogEntry = z.infer<typeof AccessLogEntrySchema>;

export function encodeAccessLogLine(line: AccessLogHeader | AccessLogEntry): string {
  return `${JSON.stringify(line)}\n`;
}

/** Reads an uncompressed access log; a last line cut short is dropped and reported. */
export function decodeAccessLog(text: string): {
  header: AccessLogHeader;
  entries: AccessLogEntry[];
  truncated: boolean;
} {
  const lines = text.split("\n");
  const last = lines.pop();
  const truncated = last !== undefined && last !== "";
  const parse = (line: string | undefined) => {
    try {
      return JSON.parse(line ?? "") as unknown;
    } catch {
      throw new RecordingFormatError("not an access log line");
    }
  };
  const header = AccessLogHeaderSchema.safeParse(parse(lines[0]));
  if (!header.success) throw new RecordingFormatError("not a NeoSC access log");
  return {
    header: header.data,
    entries: lines.slice(1).map((line) => AccessLogEntrySchema.parse(parse(line))),
    truncated,
  };
}
