import { constants, inflateRawSync } from "node:zlib";
import jpeg from "jpeg-js";
import type { RfbFrame, RfbTransport } from "./rfb-client.ts";

/*
 * What the portal's viewer (noVNC 1.7, core/rfb.js) asks of a server after the handshake, for
 * load generators that must cost the server, the gateway and the network what a real viewer
 * costs: noVNC's pixel format, its encodings in its order (Tight first, so TigerVNC sends Tight
 * with JPEG at noVNC's default quality 6 and compression 2) and its pseudo-encodings, its answers
 * to fences, and continuous updates once the server offers them. A raw full frame of a
 * 1280×800 screen is 4 MB; the same screen in Tight is a small share of that.
 *
 * It decodes what TigerVNC's Xvnc sends under these encodings (Tight's fill, JPEG, copy and
 * palette filters on its four zlib streams; CopyRect; Raw; the cursor and desktop pseudo
 * rectangles) into one picture, the same RfbFrame as the raw test client's. Anything else fails
 * loudly rather than being guessed at.
 */

const ENCODING = {
  raw: 0,
  copyRect: 1,
  rre: 2,
  hextile: 5,
  zlib: 6,
  tight: 7,
  zrle: 16,
  jpeg: 21,
  h264: 50,
  tightPng: -260,
  qualityLevel0: -32,
  compressLevel0: -256,
  desktopSize: -223,
  lastRect: -224,
  cursor: -239,
  qemuExtendedKeyEvent: -258,
  qemuLedEvent: -261,
  desktopName: -307,
  extendedDesktopSize: -308,
  xvp: -309,
  fence: -312,
  continuousUpdates: -313,
  extendedMouseButtons: -316,
  vmwareCursor: 0x574d5664,
  extendedClipboard: 0xc0a1e5ce | 0,
} as const;

/** noVNC's defaults (RFB constructor): quality 6, compression 2. */
const NOVNC_QUALITY = 6;
const NOVNC_COMPRESSION = 2;

/**
 * noVNC's `_sendEncodings` for a 24-bit screen, in its order. H.264 is in the list as in a
 * browser that decodes it with WebCodecs; Xvnc cannot encode it and skips it.
 */
export const NOVNC_ENCODINGS: readonly number[] = [
  ENCODING.copyRect,
  ENCODING.h264,
  ENCODING.tight,
  ENCODING.tightPng,
  ENCODING.zrle,
  ENCODING.jpeg,
  ENCODING.hextile,
  ENCODING.rre,
  ENCODING.zlib,
  ENCODING.raw,
  ENCODING.qualityLevel0 + NOVNC_QUALITY,
  ENCODING.compressLevel0 + NOVNC_COMPRESSION,
  ENCODING.desktopSize,
  ENCODING.lastRect,
  ENCODING.qemuExtendedKeyEvent,
  ENCODING.qemuLedEvent,
  ENCODING.extendedDesktopSize,
  ENCODING.xvp,
  ENCODING.fence,
  ENCODING.continuousUpdates,
  ENCODING.desktopName,
  ENCODING.extendedClipboard,
  ENCODING.extendedMouseButtons,
  ENCODING.vmwareCursor,
  ENCODING.cursor,
];

/**
 * One of Tight's zlib streams, inflated synchronously as a browser's viewer does (noVNC uses
 * pako): each rectangle's data ends at a sync flush (TigerVNC flushes its stream per
 * rectangle), so the only state between two is the last 32 KB of output, which the next one is
 * inflated with as its dictionary. (Node's streaming inflater answers a flush on the thread
 * pool, a round trip through the event loop per rectangle: with ten viewers in one process that
 * took about as long as the picture itself.)
 */
class TightStream {
  private started = false;
  private history: Buffer = Buffer.alloc(0);

  reset(): void {
    this.started = false;
    this.history = Buffer.alloc(0);
  }

  inflate(compressed: Buffer, length: number): Buffer {
    // The stream's first bytes are the zlib header (no preset dictionary); the rest is raw deflate.
    const raw = this.started ? compressed : compressed.subarray(2);
    this.started = true;
    const output = inflateRawSync(raw, {
      finishFlush: constants.Z_SYNC_FLUSH,
      ...(this.history.length > 0 ? { dictionary: this.history } : {}),
    });
    if (output.length !== length)
      throw new Error(`tight: ${output.length} bytes inflated, ${length} expected`);
    this.history = Buffer.concat([this.history, output]).subarray(-WINDOW_BYTES);
    return output;
  }
}

/** Deflate's window: how far back a match may reach. */
const WINDOW_BYTES = 32 * 1024;

/** A rectangle's pixels, row by row: red, green and blue of each, `step` bytes apart. */
interface Pixels {
  data: Uint8Array;
  step: number;
}

/** What reading one update took: its bytes on the wire and its rectangles per encoding. */
export interface ViewerUpdate {
  bytes: number;
  rects: Record<string, number>;
}

export class RfbViewer {
  private readonly picture: RfbFrame;
  /**
   * What the updates read so far draw, in order, not yet drawn: a load generator reads many
   * viewers' updates in one process, and decoding each JPEG there (in JavaScript, where a browser
   * decodes natively) as it arrives would hold every other viewer's reads. Drawn when `frame` is
   * looked at. Tight's zlib streams are inflated on arrival: each rectangle's data depends on
   * the ones before on its stream.
   */
  private pending: (() => void)[] = [];
  private started = false;
  private continuous = false;
  private readonly streams = [new TightStream(), new TightStream(), new TightStream(), new TightStream()];
  private bytes = 0;
  /** Pixels painted by data rectangles so far (a full screen's worth: the whole picture came). */
  private painted = 0;

  constructor(
    private readonly transport: RfbTransport,
    size: { width: number; height: number },
  ) {
    this.picture = {
      width: size.width,
      height: size.height,
      pixels: Buffer.alloc(size.width * size.height * 4),
    };
  }

  /** The screen as the updates read so far draw it. */
  get frame(): RfbFrame {
    const pending = this.pending;
    this.pending = [];
    for (const draw of pending) draw();
    return this.picture;
  }

  /**
   * Reads up to the end of the next FramebufferUpdate and draws it into `frame`. The first call
   * sends what noVNC sends after ServerInit (pixel format, encodings, a full update request);
   * later ones read what the server sends on its own (continuous updates) or after the
   * incremental request noVNC sends after each update when it has none.
   */
  async nextUpdate(): Promise<ViewerUpdate> {
    if (!this.started) {
      this.started = true;
      this.send(pixelFormat());
      this.send(setEncodings(NOVNC_ENCODINGS));
      this.send(updateRequest(false, this.picture.width, this.picture.height));
    }
    this.bytes = 0;
    const rects: Record<string, number> = {};
    for (;;) {
      const type = (await this.read(1)).readUInt8(0);
      if (type === 0) break;
      await this.serverMessage(type);
    }
    let count = (await this.read(3)).readUInt16BE(1);
    while (count > 0) {
      const header = await this.read(12);
      const rect = {
        x: header.readUInt16BE(0),
        y: header.readUInt16BE(2),
        w: header.readUInt16BE(4),
        h: header.readUInt16BE(6),
      };
      const encoding = header.readInt32BE(8);
      rects[String(encoding)] = (rects[String(encoding)] ?? 0) + 1;
      if (encoding === ENCODING.lastRect) break;
      await this.rect(encoding, rect);
      if (encoding === ENCODING.raw || encoding === ENCODING.copyRect || encoding === ENCODING.tight)
        this.painted += rect.w * rect.h;
      count -= 1;
    }
    if (!this.continuous) this.send(updateRequest(true, this.picture.width, this.picture.height));
    return { bytes: this.bytes, rects };
  }

  /**
   * Reads updates until the whole screen has been painted once: the first picture a viewer
   * shows (TigerVNC answers the encodings first with an update of pseudo rectangles only, the
   * cursor and the desktop's size, and then sends the screen). Returns the bytes it took.
   */
  async firstFrame(): Promise<number> {
    let bytes = 0;
    while (this.painted < this.picture.width * this.picture.height) bytes += (await this.nextUpdate()).bytes;
    return bytes;
  }

  close(): void {
    this.transport.close();
  }

  private send(bytes: Buffer): void {
    this.transport.write(bytes);
  }

  private async read(count: number): Promise<Buffer> {
    this.bytes += count;
    return count === 0 ? Buffer.alloc(0) : this.transport.read(count);
  }

  private async serverMessage(type: number): Promise<void> {
    switch (type) {
      case 2: // Bell
        return;
      case 3: {
        // ServerCutText (a negative length is an extended clipboard message of that size).
        const length = (await this.read(7)).readInt32BE(3);
        await this.read(Math.abs(length));
        return;
      }
      case 150: // EndOfContinuousUpdates: noVNC turns them on the first time.
        if (!this.continuous) {
          this.continuous = true;
          const enable = Buffer.alloc(10);
          enable.writeUInt8(150, 0);
          enable.writeUInt8(1, 1);
          enable.writeUInt16BE(this.picture.width, 6);
          enable.writeUInt16BE(this.picture.height, 8);
          this.send(enable);
        }
        return;
      case 248: {
        // ServerFence: answered with its payload and the flags noVNC supports.
        const header = await this.read(8);
        const flags = header.readUInt32BE(3);
        const payload = await this.read(header.readUInt8(7));
        const answer = Buffer.alloc(9 + payload.length);
        answer.writeUInt8(248, 0);
        answer.writeUInt32BE((flags & 0b11) >>> 0, 4);
        answer.writeUInt8(payload.length, 8);
        payload.copy(answer, 9);
        this.send(answer);
        return;
      }
      case 250: // XVP
        await this.read(3);
        return;
      default:
        throw new Error(`server message ${type}`);
    }
  }

  private async rect(encoding: number, rect: { x: number; y: number; w: number; h: number }) {
    const { w, h } = rect;
    switch (encoding) {
      case ENCODING.desktopSize:
      case ENCODING.qemuExtendedKeyEvent:
      case ENCODING.extendedMouseButtons:
        return;
      case ENCODING.qemuLedEvent:
        await this.read(1);
        return;
      case ENCODING.desktopName:
        await this.read((await this.read(4)).readUInt32BE(0));
        return;
      case ENCODING.extendedDesktopSize:
        await this.read((await this.read(4)).readUInt8(0) * 16);
        return;
      case ENCODING.cursor:
        await this.read(w * h * 4 + Math.ceil(w / 8) * h);
        return;
      case ENCODING.vmwareCursor: {
        const kind = (await this.read(2)).readUInt8(0);
        await this.read(kind === 0 ? w * h * 8 : w * h * 4);
        return;
      }
      case ENCODING.copyRect: {
        const source = await this.read(4);
        this.copy(source.readUInt16BE(0), source.readUInt16BE(2), rect);
        return;
      }
      case ENCODING.raw: {
        const data = await this.read(w * h * 4);
        this.paint(rect, () => ({ data, step: 4 }));
        return;
      }
      case ENCODING.tight:
        return this.tight(rect);
      default:
        throw new Error(`unexpected encoding ${encoding}`);
    }
  }

  /** Tight as TigerVNC writes it for a 24-bit true-colour format (3-byte TPIXELs). */
  private async tight(rect: { x: number; y: number; w: number; h: number }) {
    const { w, h } = rect;
    const control = (await this.read(1)).readUInt8(0);
    for (let stream = 0; stream < 4; stream++) if (control & (1 << stream)) this.streams[stream]?.reset();
    const kind = control >> 4;
    if (kind === 8) {
      this.fill(rect, await this.read(3));
      return;
    }
    if (kind === 9) {
      const data = await this.read(await this.compactLength());
      this.paint(rect, () => ({
        data: jpeg.decode(data, { useTArray: true, formatAsRGBA: true }).data,
        step: 4,
      }));
      return;
    }
    if (kind > 9) throw new Error(`tight compression ${kind}`);
    const filter = kind & 0b100 ? (await this.read(1)).readUInt8(0) : 0;
    if (filter === 0) {
      const data = await this.tightData(kind & 0b11, w * h * 3);
      this.paint(rect, () => ({ data, step: 3 }));
      return;
    }
    if (filter !== 1) throw new Error(`tight filter ${filter}`);
    const colours = (await this.read(1)).readUInt8(0) + 1;
    const palette = await this.read(colours * 3);
    const rowBytes = colours === 2 ? Math.ceil(w / 8) : w;
    const indices = await this.tightData(kind & 0b11, rowBytes * h);
    this.paint(rect, () => {
      // The palette's colours looked up into plain red, green, blue per pixel.
      const data = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const entry =
            colours === 2
              ? ((indices[y * rowBytes + (x >> 3)] ?? 0) >> (7 - (x & 7))) & 1
              : (indices[y * rowBytes + x] ?? 0);
          const at = (y * w + x) * 3;
          data[at] = palette[entry * 3] ?? 0;
          data[at + 1] = palette[entry * 3 + 1] ?? 0;
          data[at + 2] = palette[entry * 3 + 2] ?? 0;
        }
      }
      return { data, step: 3 };
    });
  }

  /** Tight's data: under 12 bytes as is, otherwise a compact length and zlib on `stream`. */
  private async tightData(stream: number, length: number): Promise<Buffer> {
    if (length < 12) return this.read(length);
    const compressed = await this.read(await this.compactLength());
    return (this.streams[stream] as TightStream).inflate(compressed, length);
  }

  private async compactLength(): Promise<number> {
    let length = 0;
    for (let shift = 0; shift <= 14; shift += 7) {
      const byte = (await this.read(1)).readUInt8(0);
      length |= (shift === 14 ? byte : byte & 0x7f) << shift;
      if (shift === 14 || !(byte & 0x80)) break;
    }
    return length;
  }

  /**
   * Will write the rectangle's pixels as blue, green, red, 0 from `source()`: each pixel's red,
   * green and blue at `step` bytes apart (3 or 4), row by row; called only then (a JPEG is
   * decoded there).
   */
  private paint(rect: { x: number; y: number; w: number; h: number }, source: () => Pixels) {
    this.pending.push(() => {
      const { data, step } = source();
      const { pixels, width } = this.picture;
      let from = 0;
      for (let row = 0; row < rect.h; row++) {
        let offset = ((rect.y + row) * width + rect.x) * 4;
        for (let column = 0; column < rect.w; column++, from += step, offset += 4) {
          pixels[offset] = data[from + 2] ?? 0;
          pixels[offset + 1] = data[from + 1] ?? 0;
          pixels[offset + 2] = data[from] ?? 0;
        }
      }
    });
  }

  /** Will fill the rectangle with one colour (red, green, blue). */
  private fill(rect: { x: number; y: number; w: number; h: number }, colour: Buffer) {
    this.pending.push(() => {
      const { pixels, width } = this.picture;
      const pixel = Buffer.from([colour[2] ?? 0, colour[1] ?? 0, colour[0] ?? 0, 0]);
      for (let row = 0; row < rect.h; row++) {
        const offset = ((rect.y + row) * width + rect.x) * 4;
        pixels.fill(pixel, offset, offset + rect.w * 4);
      }
    });
  }

  private copy(fromX: number, fromY: number, rect: { x: number; y: number; w: number; h: number }) {
    this.pending.push(() => this.copyNow(fromX, fromY, rect));
  }

  private copyNow(fromX: number, fromY: number, rect: { x: number; y: number; w: number; h: number }) {
    const { pixels, width } = this.picture;
    // The source is read whole first: it may overlap the destination.
    const rowBytes = rect.w * 4;
    const source = Buffer.alloc(rowBytes * rect.h);
    for (let row = 0; row < rect.h; row++) {
      const from = ((fromY + row) * width + fromX) * 4;
      pixels.copy(source, row * rowBytes, from, from + rowBytes);
    }
    for (let row = 0; row < rect.h; row++) {
      source.copy(pixels, ((rect.y + row) * width + rect.x) * 4, row * rowBytes, (row + 1) * rowBytes);
    }
  }
}

/** noVNC's SetPixelFormat for depth 24: 32 bits, little endian, red at bit 0, green 8, blue 16. */
function pixelFormat(): Buffer {
  const message = Buffer.alloc(20);
  message.writeUInt8(0, 0);
  message.writeUInt8(32, 4);
  message.writeUInt8(24, 5);
  message.writeUInt8(0, 6);
  message.writeUInt8(1, 7);
  message.writeUInt16BE(255, 8);
  message.writeUInt16BE(255, 10);
  message.writeUInt16BE(255, 12);
  message.writeUInt8(0, 14);
  message.writeUInt8(8, 15);
  message.writeUInt8(16, 16);
  return message;
}

function setEncodings(encodings: readonly number[]): Buffer {
  const message = Buffer.alloc(4 + 4 * encodings.length);
  message.writeUInt8(2, 0);
  message.writeUInt16BE(encodings.length, 2);
  encodings.forEach((encoding, index) => {
    message.writeInt32BE(encoding, 4 + 4 * index);
  });
  return message;
}

function updateRequest(incremental: boolean, width: number, height: number): Buffer {
  const message = Buffer.alloc(10);
  message.writeUInt8(3, 0);
  message.writeUInt8(incremental ? 1 : 0, 1);
  message.writeUInt16BE(width, 6);
  message.writeUInt16BE(height, 8);
  return message;
}
