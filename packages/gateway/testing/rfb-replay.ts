import { gunzipSync } from "node:zlib";
import { decodeRecording, type RecordingRecord } from "@neosc/core/recording";

/*
 * Replays a stored desktop segment into a small RFB decoder, as a viewer would have decoded the
 * stream: the security handshake, ServerInit, then FramebufferUpdates (Raw rectangles, which is
 * what a client that sends no SetEncodings receives) into a framebuffer. For the tests: "what did
 * the screen show, and when".
 */

export interface ReplayedFrame {
  /** Milliseconds since the segment started, of the byte that completed the update. */
  at: number;
  /** RGB at a point after this update. */
  pixel(x: number, y: number): [number, number, number];
}

export interface Replay {
  width: number;
  height: number;
  name: string;
  frames: ReplayedFrame[];
  pointers: Extract<RecordingRecord, { kind: "pointer" }>[];
  /** The stream ends inside a message (the viewer left mid-update). */
  cut: boolean;
}

class Cursor {
  offset = 0;
  constructor(
    private readonly bytes: Buffer,
    private readonly timeOf: (offset: number) => number,
  ) {}
  take(count: number): Buffer {
    if (this.offset + count > this.bytes.length) throw new RangeError("recording ends mid-message");
    const out = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }
  get done() {
    return this.offset >= this.bytes.length;
  }
  get at() {
    return this.timeOf(Math.max(0, this.offset - 1));
  }
}

export function replayRfbSegment(stored: Buffer): Replay {
  const { records } = decodeRecording(gunzipSync(stored));
  const server = records.filter(
    (r): r is Extract<RecordingRecord, { kind: "server" }> => r.kind === "server",
  );
  const starts: number[] = [];
  let length = 0;
  for (const record of server) {
    starts.push(length);
    length += record.bytes.length;
  }
  const bytes = Buffer.concat(server.map((r) => r.bytes));
  const timeOf = (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return server[lo]?.at ?? 0;
  };
  const c = new Cursor(bytes, timeOf);
  if (c.take(12).toString("latin1") !== "RFB 003.008\n") throw new Error("not an RFB 3.8 stream");
  const types = [...c.take(c.take(1).readUInt8(0))];
  if (!types.includes(1)) throw new Error("no security None");
  if (c.take(4).readUInt32BE(0) !== 0) throw new Error("security failed");
  const init = c.take(24);
  const width = init.readUInt16BE(0);
  const height = init.readUInt16BE(2);
  const bpp = init.readUInt8(4);
  const bigEndian = init.readUInt8(6) !== 0;
  const [redMax, greenMax, blueMax] = [init.readUInt16BE(8), init.readUInt16BE(10), init.readUInt16BE(12)];
  const [redShift, greenShift, blueShift] = [init.readUInt8(14), init.readUInt8(15), init.readUInt8(16)];
  if (bpp !== 32) throw new Error(`${bpp} bits per pixel`);
  const name = c.take(init.readUInt32BE(20)).toString("utf8");
  const fb = new Uint8Array(width * height * 3);
  const frames: ReplayedFrame[] = [];
  const scale = (value: number, max: number) => Math.round((value * 255) / max);

  // A viewer that left mid-update leaves the last message cut short: replay up to it.
  let cut = false;
  while (!c.done && !cut) {
    const start = c.offset;
    try {
      readMessage();
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      c.offset = start;
      cut = true;
    }
  }

  function readMessage() {
    const type = c.take(1).readUInt8(0);
    if (type === 0) {
      c.take(1);
      const count = c.take(2).readUInt16BE(0);
      for (let i = 0; i < count; i++) {
        const head = c.take(12);
        const [x, y, w, h] = [
          head.readUInt16BE(0),
          head.readUInt16BE(2),
          head.readUInt16BE(4),
          head.readUInt16BE(6),
        ];
        const encoding = head.readInt32BE(8);
        if (encoding !== 0) throw new Error(`encoding ${encoding} (only Raw is decoded here)`);
        const data = c.take(w * h * 4);
        for (let row = 0; row < h; row++) {
          for (let col = 0; col < w; col++) {
            const p = (row * w + col) * 4;
            const value = bigEndian ? data.readUInt32BE(p) : data.readUInt32LE(p);
            const target = ((y + row) * width + (x + col)) * 3;
            fb[target] = scale((value >>> redShift) & redMax, redMax);
            fb[target + 1] = scale((value >>> greenShift) & greenMax, greenMax);
            fb[target + 2] = scale((value >>> blueShift) & blueMax, blueMax);
          }
        }
      }
      const snapshot = fb.slice();
      frames.push({
        at: c.at,
        pixel: (px, py) => {
          const i = (py * width + px) * 3;
          return [snapshot[i] ?? 0, snapshot[i + 1] ?? 0, snapshot[i + 2] ?? 0];
        },
      });
    } else if (type === 2) {
      // Bell: nothing to draw.
    } else if (type === 3) {
      c.take(3);
      c.take(c.take(4).readUInt32BE(0));
    } else throw new Error(`server message ${type}`);
  }
  const pointers = records.filter(
    (r): r is Extract<RecordingRecord, { kind: "pointer" }> => r.kind === "pointer",
  );
  return { width, height, name, frames, pointers, cut };
}
