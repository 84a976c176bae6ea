import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { access, constants, mkdir, open, rename, rm, unlink } from "node:fs/promises";
import path from "node:path";
import { finished, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import {
  type AccessLogEntry,
  encodeAccessLogLine,
  encodeAsciicastEvent,
  encodeAsciicastHeader,
  encodePointer,
  encodeRecordHead,
  encodeRecordingHeader,
  type RecordingKind,
  RecordKind,
  segmentFileName,
} from "@neosc/core/recording";
import { SegmentWriter, type WriterReply } from "./segment-writer.ts";

/*
 * The recordings folder (ARCHITECTURE §10) and the recorders. One SegmentRecorder writes every
 * kind of segment (desktop, terminal, web app access log); the kinds differ only in how they
 * encode what they are given (DesktopRecorder, TerminalRecorder, AccessLogRecorder). A segment is
 * written as gzip (framed, compressed and hashed on the writer's thread, segment-writer.ts) into
 * `<segment>.part`, renamed to its final name once complete, and its SHA-256 (over the stored,
 * compressed bytes) goes into the audit chain by the caller. Memory is bounded: records wait in
 * the recorder's own queue (the relay's buffers, not copies) while the writer works; the relay is
 * asked to hold the workspace only once a few MiB wait, and a disk that stays slow past `stallMs`
 * (or input beyond `maxBufferedBytes`) fails the recorder instead of buffering more.
 */

export interface SegmentResult {
  sha256: string;
  /** Compressed size on disk. */
  bytes: number;
  startedAt: Date;
  endedAt: Date;
}

/** Where a segment is: a session's numbered segment of one kind. */
export interface SegmentRef {
  sessionId: string;
  segment: number;
  kind: RecordingKind;
}

export interface SegmentStart extends SegmentRef {
  startedAt: Date;
}

/** A terminal segment's start: its size until the browser's first resize, and whether input is kept. */
export interface TerminalStart {
  cols: number;
  rows: number;
  recordInput: boolean;
}

export interface RecordingStore {
  readonly dir: string;
  /** Whether a recording can be written now: the folder exists (or can be made) and takes a file. */
  writable(): Promise<boolean>;
  /** Starts writing a segment of any kind with its opening bytes; rejects when the file cannot be created. */
  startSegment(input: SegmentStart, header: Buffer): Promise<SegmentRecorder>;
  /** SHA-256 and size of a stored segment, or null when it is not there. */
  hash(ref: SegmentRef): Promise<{ sha256: string; bytes: number } | null>;
  /** Up to `length` stored (compressed) bytes from `offset` and the file's size; null when absent. */
  readChunk(
    ref: SegmentRef,
    offset: number,
    length: number,
  ): Promise<{ bytes: Uint8Array; total: number } | null>;
  /** Deletes a stored segment; false when it was not there. */
  remove(ref: SegmentRef): Promise<boolean>;
}

/** A desktop connection's segment: what the viewer received, and the person's pointer. */
export async function startDesktopRecording(
  store: RecordingStore,
  start: Omit<SegmentStart, "kind">,
): Promise<DesktopRecorder> {
  const header = encodeRecordingHeader({
    sessionId: start.sessionId,
    segment: start.segment,
    protocol: "rfb",
    startedAt: start.startedAt.toISOString(),
  });
  return new DesktopRecorder(await store.startSegment({ ...start, kind: "rfb" }, Buffer.from(header)));
}

/** A terminal connection's segment (asciicast v2). */
export async function startTerminalRecording(
  store: RecordingStore,
  start: Omit<SegmentStart, "kind">,
  terminal: TerminalStart,
): Promise<TerminalRecorder> {
  const header = encodeAsciicastHeader({
    version: 2,
    width: terminal.cols,
    height: terminal.rows,
    timestamp: Math.floor(start.startedAt.getTime() / 1000),
    title: `NeoSC session ${start.sessionId}, connection ${start.segment}`,
    env: { TERM: "xterm-256color" },
  });
  return new TerminalRecorder(
    await store.startSegment({ ...start, kind: "asciicast" }, Buffer.from(header)),
    terminal.recordInput,
    { cols: terminal.cols, rows: terminal.rows },
  );
}

/** A web app's access log segment (JSON lines). */
export async function startAccessLog(
  store: RecordingStore,
  start: Omit<SegmentStart, "kind">,
): Promise<AccessLogRecorder> {
  const header = encodeAccessLogLine({
    version: 1,
    kind: "access-log",
    sessionId: start.sessionId,
    segment: start.segment,
    startedAt: start.startedAt.toISOString(),
  });
  return new AccessLogRecorder(
    await store.startSegment({ ...start, kind: "access-log" }, Buffer.from(header)),
  );
}

export interface RecorderLimits {
  /** How long the disk may keep the recorder waiting before it fails (default 10 s). */
  stallMs: number;
  /** Bytes held in memory beyond which the recorder fails rather than buffer more (default 8 MiB). */
  maxBufferedBytes: number;
}

/** Opens the file a segment is written to; the default is the file system (a test may slow it). */
export type SegmentSink = (file: string) => Promise<Writable>;

const DEFAULT_LIMITS: RecorderLimits = { stallMs: 10_000, maxBufferedBytes: 8 * 1024 * 1024 };
/**
 * Stored bytes the file stream may hold before no more batches go to the writer. A batch comes
 * back as ~320 KiB, so at 256 KiB every write stopped the writer until the disk had taken it:
 * the two took turns instead of working at once.
 */
const FILE_HIGH_WATER_BYTES = 2 * 1024 * 1024;

const fileSink: SegmentSink = async (file) => {
  // Opened here so that a folder that cannot be written fails the start, not the first write.
  const handle = await open(file, "wx", 0o600);
  return createWriteStream("", { fd: handle, autoClose: true, highWaterMark: FILE_HIGH_WATER_BYTES });
};

export function createRecordingStore(
  dir: string,
  options: { limits?: Partial<RecorderLimits>; sink?: SegmentSink } = {},
): RecordingStore {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const sink = options.sink ?? fileSink;
  const writer = new SegmentWriter();
  const fileOf = (ref: SegmentRef) => path.join(dir, segmentFileName(ref.sessionId, ref.segment, ref.kind));

  return {
    dir,
    async writable() {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await access(dir, constants.W_OK | constants.X_OK);
        const probe = path.join(dir, `.probe-${process.pid}-${Date.now()}`);
        const handle = await open(probe, "wx", 0o600);
        await handle.close();
        await unlink(probe);
        return true;
      } catch {
        return false;
      }
    },

    async startSegment(start, header) {
      const file = fileOf(start);
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      const part = `${file}.part`;
      const out = await sink(part);
      return new SegmentRecorder({ ...start, file, part, out, limits, writer, header });
    },

    async hash(ref) {
      const file = fileOf(ref);
      const hash = createHash("sha256");
      let bytes = 0;
      try {
        await pipeline(createReadStream(file), async (source: AsyncIterable<Buffer>) => {
          for await (const chunk of source) {
            hash.update(chunk);
            bytes += chunk.length;
          }
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw error;
      }
      return { sha256: hash.digest("hex"), bytes };
    },

    async readChunk(ref, offset, length) {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(fileOf(ref), "r");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw error;
      }
      try {
        const total = (await handle.stat()).size;
        const buffer = Buffer.alloc(Math.max(0, Math.min(length, total - offset)));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        return { bytes: buffer.subarray(0, bytesRead), total };
      } finally {
        await handle.close();
      }
    },

    async remove(ref) {
      const file = fileOf(ref);
      try {
        await unlink(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
        throw error;
      }
      // The session's folder goes once its last segment has.
      await rm(path.dirname(file), { recursive: false }).catch(() => {});
      return true;
    },
  };
}

export type RecorderFailure = "recording_stalled" | "recording_overflow" | "recording_write_failed";

/** Records go to the writer in batches of up to this many bytes (one copy and one message each). */
const BATCH_BYTES = 256 * 1024;
/**
 * A batch goes once this many bytes wait, or once its oldest record waited FLUSH_MS: a terminal's
 * output arrives as many small writes, and each batch costs a deflate block and a sync flush, so
 * small ones wait to go together. A gateway that dies loses at most the last FLUSH_MS of records.
 */
const MIN_BATCH_BYTES = 64 * 1024;
const FLUSH_MS = 1000;
/** Deflate level per kind: desktops at 1 (speed), text at 6 (small, and it pays). */
const DEFLATE_LEVEL: Record<RecordingKind, number> = { rfb: 1, asciicast: 6, "access-log": 6 };
/** Batches with the writer at once, so it works while the next ones are copied. */
const BATCHES_IN_FLIGHT = 4;
/**
 * Bytes not yet stored beyond which `server` asks the relay to hold the workspace: below it the
 * relay never waits for the recorder (bursts are absorbed), above it memory is the bound and the
 * disk's pace is the relay's.
 */
const QUEUE_HIGH_WATER_BYTES = 4 * 1024 * 1024;

/**
 * Writes one segment of any kind. `append` returns false when the caller should stop reading the
 * workspace until `onDrain` fires; if the
 * disk does not catch up, `onFailure` fires once and the recorder stops (the caller decides
 * whether the session goes on). Compression and hashing happen on the writer's thread
 * (segment-writer.ts); this side queues, batches and writes the file.
 */
export class SegmentRecorder {
  readonly sessionId: string;
  readonly segment: number;
  readonly kind: RecordingKind;
  readonly startedAt: Date;
  private readonly out: Writable;
  private readonly written: Promise<void>;
  private readonly writer: SegmentWriter;
  private readonly writerId: number;
  private readonly limits: RecorderLimits;
  private readonly highWater: number;
  private readonly file: string;
  private readonly part: string;
  private stallTimer: NodeJS.Timeout | null = null;
  private readonly drainListeners: (() => void)[] = [];
  private failureListeners: ((why: RecorderFailure, detail: string) => void)[] = [];
  private state: "recording" | "failed" | "finished" = "recording";
  /** Records not yet with the writer, oldest first (the relay's buffers, not copies). */
  private queue: Buffer[] = [];
  /** Record bytes accepted and not yet stored: the queue's and those with the writer. */
  private pendingBytes = 0;
  private queuedBytes = 0;
  private inFlight = 0;
  /** The file stream is above its high-water mark: no more batches until it drains. */
  private fileBehind = false;
  private full = false;
  private scheduled = false;
  private readonly idle: (() => void)[] = [];
  private readonly minBatch: number;
  /** When the oldest record still in the queue arrived. */
  private queuedSince = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  /** `finish` wants everything now, however little. */
  private flushing = false;
  private finished: ((reply: WriterReply) => void) | null = null;
  /** Bytes of records accepted (payloads where apart, before compression). */
  recordedBytes = 0;
  /** Of those, stored without compression because they did not compress (set when finished). */
  storedBytes = 0;
  /** The most record bytes waiting at once (the bench reports it). */
  peakPendingBytes = 0;

  constructor(
    input: SegmentStart & {
      file: string;
      part: string;
      out: Writable;
      limits: RecorderLimits;
      writer: SegmentWriter;
      /** The kind's opening bytes. */
      header: Buffer;
    },
  ) {
    this.sessionId = input.sessionId;
    this.segment = input.segment;
    this.kind = input.kind;
    this.startedAt = input.startedAt;
    this.file = input.file;
    this.part = input.part;
    this.limits = input.limits;
    this.highWater = Math.min(QUEUE_HIGH_WATER_BYTES, input.limits.maxBufferedBytes / 2);
    this.minBatch = Math.min(MIN_BATCH_BYTES, this.highWater / 4);
    this.out = input.out;
    this.written = new Promise<void>((resolve, reject) => {
      finished(this.out, (error) => (error ? reject(error) : resolve()));
    });
    this.written.catch((error: unknown) =>
      this.fail("recording_write_failed", error instanceof Error ? error.message : String(error)),
    );
    this.out.on("drain", () => {
      this.fileBehind = false;
      this.pump();
    });
    this.writer = input.writer;
    this.writerId = this.writer.open(
      {
        reply: (reply) => this.stored(reply),
        lost: (detail) => this.fail("recording_write_failed", detail),
      },
      DEFLATE_LEVEL[input.kind],
    );
    this.enqueue(input.header);
  }

  get failed(): boolean {
    return this.state === "failed";
  }

  get recording(): boolean {
    return this.state === "recording";
  }

  /** Milliseconds since the segment started (the records' clock). */
  elapsedMs(): number {
    return Date.now() - this.startedAt.getTime();
  }

  /**
   * Appends one record: its encoded head (or the whole record) and, apart so that the relay's
   * buffer is queued as it is, its payload. False: pause the workspace until `onDrain`.
   */
  append(record: Uint8Array, payload?: Buffer): boolean {
    if (this.state !== "recording") return true;
    this.recordedBytes += payload?.length ?? record.length;
    this.enqueue(
      Buffer.isBuffer(record) ? record : Buffer.from(record.buffer, record.byteOffset, record.length),
    );
    if (payload !== undefined) this.enqueue(payload);
    if (this.pendingBytes > this.limits.maxBufferedBytes) {
      this.fail("recording_overflow", `more than ${this.limits.maxBufferedBytes} bytes waiting for the disk`);
    }
    if (this.state !== "recording") return true;
    if (this.pendingBytes < this.highWater) return true;
    this.full = true;
    if (this.stallTimer === null) {
      this.stallTimer = setTimeout(
        () => this.fail("recording_stalled", `the recordings disk took over ${this.limits.stallMs} ms`),
        this.limits.stallMs,
      );
    }
    return false;
  }

  /** Called each time the recorder can take more again (and once when it stops for good). */
  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  onFailure(listener: (why: RecorderFailure, detail: string) => void): void {
    this.failureListeners.push(listener);
  }

  /** Ends the segment: flushes, moves it to its final name and returns its hash and size. */
  async finish(endedAt: Date): Promise<SegmentResult> {
    if (this.state !== "recording") throw new Error(`recorder ${this.state}`);
    // What is queued still goes in.
    this.flushing = true;
    this.pump();
    await new Promise<void>((resolve) => {
      if (this.pendingBytes === 0) resolve();
      else this.idle.push(resolve);
    });
    if (this.state !== "recording") throw new Error(`recorder ${this.state}`);
    this.state = "finished";
    this.clearStall();
    const last = await new Promise<WriterReply>((resolve) => {
      this.finished = resolve;
      this.writer.finish(this.writerId);
    });
    this.writer.done(this.writerId);
    this.storedBytes = last.storedRaw ?? 0;
    this.out.end(Buffer.from(last.out));
    await this.written;
    await rename(this.part, this.file);
    this.releaseDrain();
    return { sha256: last.sha256 ?? "", bytes: last.bytes ?? 0, startedAt: this.startedAt, endedAt };
  }

  /** Stops without keeping anything (the connection never got going). */
  async discard(): Promise<void> {
    if (this.state === "recording") this.state = "failed";
    this.dropQueue();
    this.clearStall();
    this.writer.close(this.writerId);
    this.out.destroy();
    await this.written.catch(() => {});
    await unlink(this.part).catch(() => {});
    this.releaseDrain();
  }

  private enqueue(bytes: Buffer) {
    if (this.queuedBytes === 0) this.queuedSince = Date.now();
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    this.pendingBytes += bytes.length;
    if (this.pendingBytes > this.peakPendingBytes) this.peakPendingBytes = this.pendingBytes;
    // Later in this turn, so a record's head and payload (and a burst of reads) go as one batch.
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.pump();
      });
    }
  }

  /** Sends batches to the writer while it has room and the file keeps up. */
  private pump() {
    while (
      this.state === "recording" &&
      this.queuedBytes > 0 &&
      this.inFlight < BATCHES_IN_FLIGHT &&
      !this.fileBehind
    ) {
      if (!this.due()) return;
      // Copied once into a buffer of its own, which moves to the writer's thread.
      const size = Math.min(this.queuedBytes, BATCH_BYTES + 64 * 1024);
      const batch = new Uint8Array(size);
      let at = 0;
      while (at < size) {
        const next = this.queue[0] as Buffer;
        const take = Math.min(next.length, size - at);
        batch.set(take === next.length ? next : next.subarray(0, take), at);
        if (take === next.length) this.queue.shift();
        else this.queue[0] = next.subarray(take);
        at += take;
      }
      this.queuedBytes -= size;
      if (this.queuedBytes > 0) this.queuedSince = Date.now();
      this.inFlight += 1;
      this.writer.batch(this.writerId, batch);
    }
  }

  /** Whether what is queued should go now; if not, a timer comes back for it when it is due. */
  private due(): boolean {
    if (this.flushing || this.full || this.queuedBytes >= this.minBatch) return true;
    const wait = this.queuedSince + FLUSH_MS - Date.now();
    if (wait <= 0) return true;
    if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.pump();
      }, wait);
      this.flushTimer.unref();
    }
    return false;
  }

  /** The writer's bytes for a batch (or the header): to the file, then the next batches. */
  private stored(reply: WriterReply) {
    if (this.state === "failed") return;
    if (this.finished !== null) {
      this.finished(reply);
      return;
    }
    if (reply.taken > 0) {
      this.inFlight -= 1;
      this.pendingBytes -= reply.taken;
    }
    if (!this.out.write(Buffer.from(reply.out))) this.fileBehind = true;
    if (this.full && this.pendingBytes < this.highWater / 2) {
      this.full = false;
      this.clearStall();
      this.releaseDrain();
    }
    if (this.pendingBytes === 0) for (const resolve of this.idle.splice(0)) resolve();
    this.pump();
  }

  private dropQueue() {
    this.queue = [];
    this.queuedBytes = 0;
    this.pendingBytes = 0;
  }

  private releaseDrain() {
    for (const listener of this.drainListeners) listener();
  }

  private clearStall() {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    if (this.state !== "recording" && this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
  }

  private fail(why: RecorderFailure, detail: string) {
    if (this.state !== "recording") return;
    this.state = "failed";
    this.clearStall();
    // What was buffered is dropped: memory stays bounded, and the failure is the caller's to audit.
    this.dropQueue();
    this.writer.close(this.writerId);
    this.out.destroy();
    void unlink(this.part).catch(() => {});
    for (const listener of this.failureListeners) listener(why, detail);
    this.releaseDrain();
    for (const resolve of this.idle.splice(0)) resolve();
  }
}

/** A desktop connection: the bytes the viewer received, exactly, and the person's pointer. */
export class DesktopRecorder {
  constructor(readonly writer: SegmentRecorder) {}

  /** Bytes the viewer received; false: pause the workspace until the segment drains. */
  server(bytes: Buffer): boolean {
    if (!this.writer.recording || bytes.length === 0) return true;
    return this.writer.append(
      encodeRecordHead(RecordKind.server, this.writer.elapsedMs(), bytes.length),
      bytes,
    );
  }

  pointer(mask: number, x: number, y: number): void {
    if (!this.writer.recording) return;
    const payload = Buffer.from(encodePointer(mask, x, y));
    this.writer.append(
      encodeRecordHead(RecordKind.pointer, this.writer.elapsedMs(), payload.length),
      payload,
    );
  }
}

/**
 * A terminal connection as asciicast v2: output as the viewer received it (decoded as UTF-8
 * across chunk boundaries), resizes, markers, and typed input only when `recordInput` is set.
 */
export class TerminalRecorder {
  private readonly output = new StringDecoder("utf8");

  constructor(
    readonly writer: SegmentRecorder,
    readonly recordInput: boolean,
    /** The size the header states; a resize to the size it already has is not an event. */
    private size: { cols: number; rows: number },
  ) {}

  /** Output the viewer received; false: pause the workspace until the segment drains. */
  server(bytes: Buffer): boolean {
    if (!this.writer.recording || bytes.length === 0) return true;
    const text = this.output.write(bytes);
    if (text === "") return true;
    return this.event("o", text);
  }

  resize(cols: number, rows: number): void {
    if (cols === this.size.cols && rows === this.size.rows) return;
    this.size = { cols, rows };
    this.event("r", `${cols}x${rows}`);
  }

  marker(label: string): void {
    this.event("m", label);
  }

  /** What the person typed (and pasted); dropped unless the policy keeps input. */
  input(bytes: Uint8Array): void {
    if (!this.recordInput || bytes.length === 0) return;
    this.event("i", Buffer.from(bytes).toString("utf8"));
  }

  private event(code: "o" | "i" | "r" | "m", data: string): boolean {
    if (!this.writer.recording) return true;
    return this.writer.append(Buffer.from(encodeAsciicastEvent(this.writer.elapsedMs(), code, data)));
  }
}

/** A web app's requests, one JSON line each; never bodies, never the query's values. */
export class AccessLogRecorder {
  constructor(readonly writer: SegmentRecorder) {}

  request(entry: AccessLogEntry): void {
    if (!this.writer.recording) return;
    this.writer.append(Buffer.from(encodeAccessLogLine(entry)));
  }
}
