import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { access, constants, mkdir, open, rename, rm, unlink } from "node:fs/promises";
import path from "node:path";
import { Transform, type TransformOptions, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip, type ZlibOptions } from "node:zlib";
import {
  encodePointer,
  encodeRecordHead,
  encodeRecordingHeader,
  RecordKind,
  segmentFileName,
} from "@neosc/core/recording";

/*
 * The recordings folder (ARCHITECTURE §10) and the recorder of one connection. A segment is
 * written as gzip through a hashing tap into `<segment>.part`, renamed to its final name once
 * complete, and its SHA-256 (over the stored, compressed bytes) goes into the audit chain by the
 * caller. Memory is bounded: the recorder reports backpressure as soon as the compressor's input
 * buffer is full, the relay then stops reading the workspace, and a disk that stays slow past
 * `stallMs` (or input beyond `maxBufferedBytes`) fails the recorder instead of buffering more.
 */

export interface SegmentResult {
  sha256: string;
  /** Compressed size on disk. */
  bytes: number;
  startedAt: Date;
  endedAt: Date;
}

export interface RecordingStore {
  readonly dir: string;
  /** Whether a recording can be written now: the folder exists (or can be made) and takes a file. */
  writable(): Promise<boolean>;
  /** Starts writing a segment; rejects when the file cannot be created. */
  startSegment(input: { sessionId: string; segment: number; startedAt: Date }): Promise<SegmentRecorder>;
  /** SHA-256 and size of a stored segment, or null when it is not there. */
  hash(sessionId: string, segment: number): Promise<{ sha256: string; bytes: number } | null>;
  /** Up to `length` stored (compressed) bytes from `offset` and the file's size; null when absent. */
  readChunk(
    sessionId: string,
    segment: number,
    offset: number,
    length: number,
  ): Promise<{ bytes: Uint8Array; total: number } | null>;
  /** Deletes a stored segment; false when it was not there. */
  remove(sessionId: string, segment: number): Promise<boolean>;
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
const FILE_HIGH_WATER_BYTES = 256 * 1024;
const GZIP_OPTIONS: ZlibOptions & TransformOptions = {
  level: 1,
  chunkSize: 64 * 1024,
  highWaterMark: 1024 * 1024,
};

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
  const fileOf = (sessionId: string, segment: number) => path.join(dir, segmentFileName(sessionId, segment));

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

    async startSegment({ sessionId, segment, startedAt }) {
      const file = fileOf(sessionId, segment);
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      const part = `${file}.part`;
      const out = await sink(part);
      return new SegmentRecorder({ sessionId, segment, startedAt, file, part, out, limits });
    },

    async hash(sessionId, segment) {
      const file = fileOf(sessionId, segment);
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

    async readChunk(sessionId, segment, offset, length) {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(fileOf(sessionId, segment), "r");
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

    async remove(sessionId, segment) {
      const file = fileOf(sessionId, segment);
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

/**
 * Records one connection: the bytes the viewer receives and the person's pointer. `server`
 * returns false when the caller should stop reading the workspace until `onDrain` fires; if the
 * disk does not catch up, `onFailure` fires once and the recorder stops (the caller decides
 * whether the session goes on).
 */
export class SegmentRecorder {
  readonly sessionId: string;
  readonly segment: number;
  readonly startedAt: Date;
  // Level 1: a noVNC stream is mostly Tight/ZRLE (already compressed) and Raw areas shrink well
  // even so. Measured (e2e/bench/recording.ts): Z_RLE would compress incompressible bytes ~2× faster
  // but stores a Raw desktop frame ~50× larger. A 1 MiB input buffer and 64 KiB zlib chunks keep
  // the relay from pausing at every socket read.
  private readonly gzip = createGzip(GZIP_OPTIONS);
  private readonly hash = createHash("sha256");
  private bytesOut = 0;
  private readonly written: Promise<void>;
  private readonly limits: RecorderLimits;
  private readonly file: string;
  private readonly part: string;
  private stallTimer: NodeJS.Timeout | null = null;
  private readonly drainListeners: (() => void)[] = [];
  private failureListeners: ((why: RecorderFailure, detail: string) => void)[] = [];
  private state: "recording" | "failed" | "finished" = "recording";
  /** Bytes of records accepted (before compression). */
  recordedBytes = 0;

  constructor(input: {
    sessionId: string;
    segment: number;
    startedAt: Date;
    file: string;
    part: string;
    out: Writable;
    limits: RecorderLimits;
  }) {
    this.sessionId = input.sessionId;
    this.segment = input.segment;
    this.startedAt = input.startedAt;
    this.file = input.file;
    this.part = input.part;
    this.limits = input.limits;
    const tap = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.hash.update(chunk);
        this.bytesOut += chunk.length;
        done(null, chunk);
      },
    });
    this.written = pipeline(this.gzip, tap, input.out);
    this.written.catch((error: unknown) =>
      this.fail("recording_write_failed", error instanceof Error ? error.message : String(error)),
    );
    this.gzip.on("drain", () => this.drained());
    this.write(
      Buffer.from(
        encodeRecordingHeader({
          sessionId: this.sessionId,
          segment: this.segment,
          protocol: "rfb",
          startedAt: this.startedAt.toISOString(),
        }),
      ),
    );
  }

  get failed(): boolean {
    return this.state === "failed";
  }

  /** Bytes the viewer received; false: pause the workspace until `onDrain`. */
  server(bytes: Buffer): boolean {
    if (this.state !== "recording" || bytes.length === 0) return true;
    const ok = this.record(RecordKind.server, bytes);
    if (!ok && this.stallTimer === null && this.state === "recording") {
      this.stallTimer = setTimeout(
        () => this.fail("recording_stalled", `the recordings disk took over ${this.limits.stallMs} ms`),
        this.limits.stallMs,
      );
    }
    return ok;
  }

  pointer(mask: number, x: number, y: number): void {
    if (this.state !== "recording") return;
    this.record(RecordKind.pointer, Buffer.from(encodePointer(mask, x, y)));
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
    this.state = "finished";
    this.clearStall();
    this.gzip.end();
    await this.written;
    await rename(this.part, this.file);
    this.releaseDrain();
    return { sha256: this.hash.digest("hex"), bytes: this.bytesOut, startedAt: this.startedAt, endedAt };
  }

  /** Stops without keeping anything (the connection never got going). */
  async discard(): Promise<void> {
    if (this.state === "recording") this.state = "failed";
    this.clearStall();
    this.gzip.destroy();
    await this.written.catch(() => {});
    await unlink(this.part).catch(() => {});
    this.releaseDrain();
  }

  private record(kind: RecordKind, payload: Buffer): boolean {
    const at = Date.now() - this.startedAt.getTime();
    this.recordedBytes += payload.length;
    this.write(Buffer.from(encodeRecordHead(kind, at, payload.length)));
    const ok = this.write(payload);
    if (this.gzip.writableLength > this.limits.maxBufferedBytes) {
      this.fail("recording_overflow", `more than ${this.limits.maxBufferedBytes} bytes waiting for the disk`);
      return true;
    }
    return ok;
  }

  private write(bytes: Buffer): boolean {
    return this.gzip.write(bytes);
  }

  private drained() {
    if (this.state !== "recording") return;
    this.clearStall();
    this.releaseDrain();
  }

  private releaseDrain() {
    for (const listener of this.drainListeners) listener();
  }

  private clearStall() {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  private fail(why: RecorderFailure, detail: string) {
    if (this.state !== "recording") return;
    this.state = "failed";
    this.clearStall();
    // What was buffered is dropped: memory stays bounded, and the failure is the caller's to audit.
    this.gzip.destroy();
    void unlink(this.part).catch(() => {});
    for (const listener of this.failureListeners) listener(why, detail);
    this.releaseDrain();
  }
}
