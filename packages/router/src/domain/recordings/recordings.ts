import { SYSTEM_ACTOR } from "@neosc/core/audit";
import { DomainError } from "@neosc/core/errors";
import {
  type RecordingKind,
  RecordingKindSchema,
  type RecordingSegment,
  type VerifyRecordingsOutput,
} from "@neosc/core/recording";
import type { Database } from "@neosc/db/database";
import type { AuthedContext, InnerContext, RecordingFiles } from "../../context.ts";
import { audit } from "../audit/record.ts";
import { loadPolicies } from "../policies/policies.ts";

/*
 * Recordings as the audit chain knows them (ARCHITECTURE §10): the gateway appends
 * `recording.start` when a segment opens and `recording.segment` (number, kind — a desktop's
 * `rfb`, a terminal's `asciicast`, a web app's `access-log` — SHA-256 and size of the stored
 * file) when it is finished; retention appends `recording.delete`. The chain is the
 * authority: `audit.verify` proves no entry was changed or removed, and `recording.verify`
 * re-hashes the stored files against those entries, so a changed or removed file is named.
 */

/** Largest piece of a segment one `recording.chunk` call returns. */
export const RECORDING_CHUNK_BYTES = 1024 * 1024;
/** Bounds the audit scans of one call (admin pages may scan, §5). */
const SCAN_LIMIT = 50_000;

interface SegmentEntry {
  sessionId: string;
  segment: number;
  kind: RecordingKind;
  startedAt: Date;
  endedAt: Date;
  durationMs: number;
  bytes: number;
  sha256: string;
}

/** The kind an audit entry names; entries written before terminals were recorded say `protocol: "rfb"`. */
function kindOf(details: Record<string, unknown>): RecordingKind | null {
  const parsed = RecordingKindSchema.safeParse(details.kind ?? details.protocol);
  return parsed.success ? parsed.data : null;
}

function segmentOf(entry: { resource: { id: string | null }; details: Record<string, unknown> }) {
  const d = entry.details;
  const kind = kindOf(d);
  if (
    entry.resource.id === null ||
    kind === null ||
    typeof d.segment !== "number" ||
    typeof d.sha256 !== "string" ||
    typeof d.bytes !== "number" ||
    typeof d.startedAt !== "string" ||
    typeof d.endedAt !== "string"
  ) {
    return null;
  }
  const startedAt = new Date(d.startedAt);
  const endedAt = new Date(d.endedAt);
  return {
    sessionId: entry.resource.id,
    segment: d.segment,
    kind,
    startedAt,
    endedAt,
    durationMs: Math.max(0, endedAt.getTime() - startedAt.getTime()),
    bytes: d.bytes,
    sha256: d.sha256,
  } satisfies SegmentEntry;
}

const key = (sessionId: string, segment: number) => `${sessionId}:${segment}`;

/** The finished segments of one session (or all), with the ones retention deleted. */
async function segmentsFromAudit(db: Pick<Database, "audit">, sessionId?: string) {
  const scope = sessionId === undefined ? {} : { resourceType: "session", resourceId: sessionId };
  const [finished, deleted, started, failed] = await Promise.all([
    db.audit.scan({ action: "recording.segment", ...scope }, SCAN_LIMIT),
    db.audit.scan({ action: "recording.delete", ...scope }, SCAN_LIMIT),
    db.audit.scan({ action: "recording.start", ...scope }, SCAN_LIMIT),
    db.audit.scan({ action: "recording.failed", ...scope }, SCAN_LIMIT),
  ]);
  const deletedAt = new Map<string, Date>();
  for (const entry of deleted) {
    const segment = entry.details.segment;
    if (entry.resource.id !== null && typeof segment === "number")
      deletedAt.set(key(entry.resource.id, segment), entry.at);
  }
  const segments = finished.flatMap((entry) => {
    const segment = segmentOf(entry);
    return segment === null ? [] : [segment];
  });
  const ended = new Set([...segments.map((s) => key(s.sessionId, s.segment))]);
  for (const entry of failed) {
    const segment = entry.details.segment;
    if (entry.resource.id !== null && typeof segment === "number") ended.add(key(entry.resource.id, segment));
  }
  const opened = started.flatMap((entry) =>
    entry.resource.id !== null && typeof entry.details.segment === "number"
      ? [
          {
            sessionId: entry.resource.id,
            segment: entry.details.segment,
            kind: kindOf(entry.details) ?? "rfb",
          },
        ]
      : [],
  );
  return {
    segments,
    deletedAt,
    /** Opened and neither finished nor failed: still recording, or lost (the gateway stopped). */
    unfinished: opened.filter((s) => !ended.has(key(s.sessionId, s.segment))),
  };
}

function files(ctx: Pick<InnerContext, "services">): RecordingFiles {
  const store = ctx.services.recordings;
  if (store === null) {
    throw new DomainError("UNAVAILABLE", "recording_unavailable", "This API has no recordings folder");
  }
  return store;
}

/** Admins: the recorded segments of a session, oldest first. */
export async function listRecordings(
  ctx: AuthedContext,
  input: { sessionId: string },
): Promise<{ segments: RecordingSegment[] }> {
  const { segments, deletedAt } = await segmentsFromAudit(ctx.db, input.sessionId);
  return {
    segments: segments
      .map((s) => ({ ...s, deletedAt: deletedAt.get(key(s.sessionId, s.segment)) ?? null }))
      .sort((a, b) => a.segment - b.segment),
  };
}

/**
 * Admins: re-hashes every stored segment (of one session, or all) against its audit entry and
 * names the ones altered or missing; a segment retention deleted (audited) is not missing.
 */
export async function verifyRecordings(
  ctx: AuthedContext,
  input: { sessionId?: string | undefined },
): Promise<VerifyRecordingsOutput> {
  const store = files(ctx);
  const { segments, deletedAt, unfinished } = await segmentsFromAudit(ctx.db, input.sessionId);
  const problems: VerifyRecordingsOutput["problems"] = [];
  let checked = 0;
  for (const segment of segments) {
    if (deletedAt.has(key(segment.sessionId, segment.segment))) continue;
    checked += 1;
    const stored = await store.hash(segment);
    const named = { sessionId: segment.sessionId, segment: segment.segment, kind: segment.kind };
    if (stored === null) problems.push({ ...named, problem: "missing" });
    else if (stored.sha256 !== segment.sha256 || stored.bytes !== segment.bytes) {
      problems.push({ ...named, problem: "altered" });
    }
  }
  // A segment opened in a session that has ended but never finished: its gateway stopped mid-way.
  for (const open of unfinished) {
    const session = await ctx.db.sessions.findById(open.sessionId);
    if (session !== null && session.status === "ended") problems.push({ ...open, problem: "unfinished" });
  }
  return { ok: problems.length === 0, checked, problems };
}

/**
 * Admins: a piece of a stored segment (the compressed file), for the player or a download. The
 * first piece of each download is audited (`recording.download`).
 */
export async function recordingChunk(
  ctx: AuthedContext,
  input: { sessionId: string; segment: number; offset: number },
): Promise<{ data: string; offset: number; total: number; nextOffset: number | null; sha256: string }> {
  const store = files(ctx);
  const { segments, deletedAt } = await segmentsFromAudit(ctx.db, input.sessionId);
  const known = segments.find((s) => s.segment === input.segment);
  const notFound = () =>
    new DomainError("NOT_FOUND", "not_found", "No such recording", {
      details: { sessionId: input.sessionId },
    });
  if (known === undefined || deletedAt.has(key(input.sessionId, input.segment))) throw notFound();
  const chunk = await store.readChunk(known, input.offset, RECORDING_CHUNK_BYTES);
  if (chunk === null) throw notFound();
  if (input.offset === 0) {
    await audit(ctx, {
      action: "recording.download",
      resource: { type: "session", id: input.sessionId },
      details: { segment: input.segment, kind: known.kind, bytes: chunk.total },
    });
  }
  const end = input.offset + chunk.bytes.length;
  return {
    data: Buffer.from(chunk.bytes).toString("base64"),
    offset: input.offset,
    total: chunk.total,
    nextOffset: end < chunk.total ? end : null,
    sha256: known.sha256,
  };
}

/**
 * Launch: under `required` (the policy's or the workspace's own), a session that cannot be
 * recorded may not start. Every kind is recorded: desktops, terminals and web apps.
 */
export async function checkRecordingAvailable(
  ctx: Pick<InnerContext, "services">,
  required: boolean,
): Promise<DomainError | null> {
  if (!required) return null;
  const store = ctx.services.recordings;
  if (store === null || !(await store.writable())) {
    return new DomainError(
      "UNAVAILABLE",
      "recording_unavailable",
      "Recording is required, and the recordings folder cannot be written",
    );
  }
  return null;
}

/**
 * Deletes segments older than the `recording` policy's retention (whether recording is on now or
 * not), each deletion audited once, however many replicas sweep at the same time. Run by the
 * API's recordings sweeper.
 */
export async function sweepRecordings(ctx: {
  db: Database;
  clock: () => Date;
  services: Pick<InnerContext["services"], "recordings">;
}): Promise<{ deleted: number }> {
  const store = ctx.services.recordings;
  if (store === null) return { deleted: 0 };
  const policies = await loadPolicies(ctx.db);
  const retentionDays = policies.recording.settings.retentionDays;
  const cutoff = new Date(ctx.clock().getTime() - retentionDays * 86_400_000);
  const { segments, deletedAt } = await segmentsFromAudit(ctx.db);
  let deleted = 0;
  for (const segment of segments) {
    if (segment.endedAt > cutoff || deletedAt.has(key(segment.sessionId, segment.segment))) continue;
    // Every API replica sweeps: the one that wins the claim deletes and audits.
    if (!(await ctx.db.gateway.claimRecordingDeletion(segment.sessionId, segment.segment, ctx.clock())))
      continue;
    const removed = await store.remove(segment);
    await ctx.db.audit.append({
      actor: SYSTEM_ACTOR,
      action: "recording.delete",
      resource: { type: "session", id: segment.sessionId },
      clientIp: null,
      userAgent: null,
      result: "success",
      reason: "retention",
      details: {
        segment: segment.segment,
        kind: segment.kind,
        sha256: segment.sha256,
        retentionDays,
        fileWasPresent: removed,
      },
    });
    deleted += 1;
  }
  return { deleted };
}

/** The API's retention timer (hourly by default); `stop` waits for a sweep in progress. */
export function startRecordingSweeper(options: {
  db: Database;
  clock: () => Date;
  services: Pick<InnerContext["services"], "recordings">;
  intervalMs?: number;
  onError?: (error: unknown) => void;
}): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running !== null) return;
    running = sweepRecordings(options)
      .then(() => {})
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        running = null;
      });
  }, options.intervalMs ?? 3_600_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      if (running !== null) await running;
    },
  };
}
