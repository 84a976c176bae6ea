import { Worker } from "node:worker_threads";

/*
 * The CPU side of writing recording segments, on a worker thread of its own: the gzip framing,
 * compression, CRC-32 and the SHA-256 of the stored bytes. The relay's thread only copies each
 * batch of records once and posts it; the bytes to store come back and go to the file there (so
 * a test can still slow the file). Measured with `pnpm --filter @neosc/e2e bench:recording` on
 * 2 shared cores: SHA-256 (~0.9 GB/s) and CRC-32 (~0.7 GB/s) alone took ~2.5 ms of the relay's
 * thread per MB, about what relaying the MB takes, and deflate level 1 runs at 13–30 MB/s on
 * bytes that do not compress.
 *
 * How a segment is compressed: deflate level 1 while that pays, stored blocks while it does not.
 * Level 1 runs at ~1.3 GB/s on a text desktop's Raw pixels (ratio 0.005) but at 30–50 MB/s on
 * noise (ratio 0.8: the pixels' fourth byte is padding) and gains nothing on a stream already
 * Tight/ZRLE/JPEG, where storing costs a copy. Data that deflates to more than STORE_RATIO is
 * stored: above it level 1 runs far below any relay's pace for little gain. The guess is cheap:
 * a 32 KiB sample of a batch is deflated at the start of a segment and after every STORED_WINDOW
 * stored bytes (~1 ms on noise, where deflating the probe window whole took ~40 ms per 17 MB
 * and was most of this thread's time on a noise desktop, measured); while deflating, each
 * PROBE_WINDOW's ratio decides whether to go on.
 *
 * Each batch is deflated on its own with a sync flush (no final bit), so stored and deflated
 * blocks may follow each other and the file stays one gzip member (header, blocks, CRC-32 and
 * size): the player's DecompressionStream("gzip") reads it, and a file cut after any
 * batch (the gateway died) inflates up to that batch. Chromium does not read concatenated
 * members, and zlib's `params` level change did not take effect under Node 20 (measured), hence
 * this framing.
 *
 * Each batch's deflate is primed with the last 32 KiB the segment stored (zlib's preset
 * dictionary): the reader's inflate window already holds those bytes, so back-references into
 * them are valid, and a batch compresses as if the segment were one stream. Without it every
 * batch started from nothing, and a terminal's small batches (asciicast lines that repeat the
 * same prompt, paths and escape codes) stored about 10× what one gzip of the same bytes takes.
 * The state a segment keeps here is that 32 KiB tail, not a zlib stream (256 KiB each). Text
 * kinds (asciicast, access log) deflate at level 6: they are small, and level 6 takes ~15 % off.
 *
 * Plain JavaScript in a string, so it runs the same under tsx, vitest and the bundled apps.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const zlib = require("node:zlib");
const PROBE_WINDOW = 1024 * 1024;
const STORE_RATIO = 0.5;
const STORED_WINDOW = 8 * 1024 * 1024;
const PROBE_MIN_BYTES = 64 * 1024;
const SAMPLE_BYTES = 32 * 1024;
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
const FINAL_BLOCK = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]);
const TAIL_BYTES = 32 * 1024;
const segments = new Map();

function storedBlocks(bytes) {
  const blocks = Math.max(1, Math.ceil(bytes.length / 0xffff));
  const out = new Uint8Array(bytes.length + blocks * 5);
  let at = 0;
  for (let from = 0; from < bytes.length; from += 0xffff) {
    const length = Math.min(0xffff, bytes.length - from);
    out[at] = 0;
    out[at + 1] = length & 0xff;
    out[at + 2] = length >> 8;
    out[at + 3] = ~length & 0xff;
    out[at + 4] = (~length >> 8) & 0xff;
    out.set(bytes.subarray(from, from + length), at + 5);
    at += 5 + length;
  }
  return out;
}

/** How well the middle SAMPLE_BYTES of a batch deflate: the guess for the whole batch. */
function sampleRatio(bytes, level) {
  const from = Math.max(0, Math.floor((bytes.length - SAMPLE_BYTES) / 2));
  const sample = bytes.subarray(from, from + SAMPLE_BYTES);
  return zlib.deflateRawSync(sample, { level }).length / sample.length;
}

function joined(segment, parts) {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  segment.hash.update(out);
  segment.stored += size;
  return out;
}

/** Posts bytes to append: \`parts\` joined into one buffer, or \`owned\` as it is (made here, for this). */
function send(id, segment, parts, taken, owned = null) {
  let out = owned;
  if (out === null) out = joined(segment, parts);
  else {
    segment.hash.update(out);
    segment.stored += out.length;
  }
  parentPort.postMessage({ id, out: out.buffer, taken }, [out.buffer]);
}

parentPort.on("message", (message) => {
  const { id } = message;
  if (message.kind === "open") {
    const segment = { hash: createHash("sha256"), crc: 0, size: 0, stored: 0, storedRaw: 0, deflating: true, probeDue: true, windowIn: 0, windowOut: 0, level: message.level, tail: null };
    segments.set(id, segment);
    send(id, segment, [HEADER], 0);
    return;
  }
  const segment = segments.get(id);
  if (segment === undefined) return;
  if (message.kind === "close") {
    segments.delete(id);
    return;
  }
  if (message.kind === "finish") {
    segments.delete(id);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(segment.crc >>> 0, 0);
    trailer.writeUInt32LE(segment.size % 2 ** 32, 4);
    const out = joined(segment, [FINAL_BLOCK, trailer]);
    const done = { sha256: segment.hash.digest("hex"), bytes: segment.stored, storedRaw: segment.storedRaw };
    parentPort.postMessage({ id, out: out.buffer, taken: 0, ...done }, [out.buffer]);
    return;
  }
  const bytes = new Uint8Array(message.bytes);
  segment.crc = zlib.crc32(bytes, segment.crc);
  segment.size += bytes.length;
  if (segment.probeDue && bytes.length >= PROBE_MIN_BYTES) {
    segment.probeDue = false;
    segment.deflating = sampleRatio(bytes, segment.level) <= STORE_RATIO;
    segment.windowIn = 0;
    segment.windowOut = 0;
  }
  segment.windowIn += bytes.length;
  if (segment.deflating) {
    const options = { level: segment.level, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (segment.tail !== null) options.dictionary = segment.tail;
    const out = zlib.deflateRawSync(bytes, options);
    segment.windowOut += out.length;
    if (segment.windowIn >= PROBE_WINDOW) {
      if (segment.windowOut / segment.windowIn > STORE_RATIO) segment.deflating = false;
      segment.windowIn = 0;
      segment.windowOut = 0;
    }
    segment.tail = tailOf(segment.tail, bytes);
    send(id, segment, [out], bytes.length);
    return;
  }
  segment.storedRaw += bytes.length;
  if (segment.windowIn >= STORED_WINDOW) segment.probeDue = true;
  segment.tail = tailOf(segment.tail, bytes);
  send(id, segment, [], bytes.length, storedBlocks(bytes));
});

/** The last TAIL_BYTES of what was stored so far (the next batch's dictionary). */
function tailOf(tail, bytes) {
  if (bytes.length >= TAIL_BYTES) return bytes.slice(bytes.length - TAIL_BYTES);
  const keep = tail === null ? 0 : Math.min(tail.length, TAIL_BYTES - bytes.length);
  const next = new Uint8Array(keep + bytes.length);
  if (keep > 0) next.set(tail.subarray(tail.length - keep), 0);
  next.set(bytes, keep);
  return next;
}
`;

/** What the worker sends back for a segment: bytes to append, and at the end its hash. */
export interface WriterReply {
  id: number;
  out: ArrayBuffer;
  /** Record bytes this reply accounts for (0 for the header and the trailer). */
  taken: number;
  /** Only in the reply to `finish`. */
  sha256?: string;
  bytes?: number;
  storedRaw?: number;
}

export interface SegmentWriterClient {
  reply(reply: WriterReply): void;
  /** The worker died: every segment it held fails. */
  lost(detail: string): void;
}

/** One worker for all the segments of a recordings folder, started with the first of them. */
export class SegmentWriter {
  private worker: Worker | null = null;
  private readonly clients = new Map<number, SegmentWriterClient>();
  private nextId = 1;

  /** `level`: the deflate level of the segment's compressed batches. */
  open(client: SegmentWriterClient, level: number): number {
    const id = this.nextId++;
    this.clients.set(id, client);
    this.post({ kind: "open", id, level });
    return id;
  }

  /** Hands over `bytes` (its buffer is transferred: the caller must not use it again). */
  batch(id: number, bytes: Uint8Array): void {
    this.post({ kind: "batch", id, bytes: bytes.buffer }, [bytes.buffer as ArrayBuffer]);
  }

  finish(id: number): void {
    this.post({ kind: "finish", id });
  }

  /** Forgets a segment (failed or discarded); its late replies are dropped. */
  close(id: number): void {
    if (!this.clients.delete(id)) return;
    this.post({ kind: "close", id });
  }

  /** The segment is done (its finish reply came); nothing more will arrive for it. */
  done(id: number): void {
    this.clients.delete(id);
  }

  private post(message: Record<string, unknown>, transfer: ArrayBuffer[] = []) {
    this.start().postMessage(message, transfer);
  }

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: "neosc-recording" });
    // The relay's sockets keep the process up while anything is being recorded.
    worker.unref();
    worker.on("message", (reply: WriterReply) => this.clients.get(reply.id)?.reply(reply));
    const lost = (detail: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const clients = [...this.clients.values()];
      this.clients.clear();
      for (const client of clients) client.lost(detail);
    };
    worker.on("error", (error) => lost(`recording worker failed: ${error.message}`));
    worker.on("exit", (code) => lost(`recording worker exited (${code})`));
    this.worker = worker;
    return worker;
  }
}
