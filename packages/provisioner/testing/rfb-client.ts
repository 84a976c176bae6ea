import { connect, type Socket } from "node:net";
import type { Endpoint } from "../src/provisioner.ts";

/*
 * A minimal RFB 3.8 client for tests, over any byte transport: a unix or TCP socket here, the
 * gateway's WebSocket in @neosc/gateway's testing client. It speaks what noVNC speaks for
 * security type None, and can decode raw frames to look at the picture.
 */

/** How the client reads and writes its bytes. `read` resolves with exactly `count` bytes. */
export interface RfbTransport {
  read(count: number): Promise<Buffer>;
  write(bytes: Buffer): void;
  close(): void;
}

export interface RfbFrame {
  width: number;
  height: number;
  /** 4 bytes per pixel: blue, green, red, unused (the pixel format `readFrame` sets). */
  pixels: Buffer;
}

export class RfbClient {
  width = 0;
  height = 0;
  private rawFormat = false;

  constructor(readonly transport: RfbTransport) {}

  /** Version, security None, ClientInit (shared); returns the ServerInit's size and name. */
  async handshake(): Promise<{ width: number; height: number; name: string }> {
    const version = (await this.transport.read(12)).toString("latin1");
    if (version !== "RFB 003.008\n") throw new Error(`server version ${version}`);
    this.send(Buffer.from("RFB 003.008\n", "latin1"));
    const count = (await this.transport.read(1)).readUInt8(0);
    const types = [...(await this.transport.read(count))];
    if (!types.includes(1)) throw new Error(`security types ${types.join(",")}`);
    this.send(Buffer.from([1]));
    const result = (await this.transport.read(4)).readUInt32BE(0);
    if (result !== 0) throw new Error(`security result ${result}`);
    this.send(Buffer.from([1]));
    const init = await this.transport.read(24);
    const name = (await this.transport.read(init.readUInt32BE(20))).toString("utf8");
    this.width = init.readUInt16BE(0);
    this.height = init.readUInt16BE(2);
    return { width: this.width, height: this.height, name };
  }

  send(bytes: Buffer | number[]): void {
    this.transport.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  updateRequest(incremental: boolean, width = this.width || 640, height = this.height || 480): void {
    const message = Buffer.alloc(10);
    message.writeUInt8(3, 0);
    message.writeUInt8(incremental ? 1 : 0, 1);
    message.writeUInt16BE(width, 6);
    message.writeUInt16BE(height, 8);
    this.send(message);
  }

  key(keysym: number, down: boolean): void {
    const message = Buffer.alloc(8);
    message.writeUInt8(4, 0);
    message.writeUInt8(down ? 1 : 0, 1);
    message.writeUInt32BE(keysym, 4);
    this.send(message);
  }

  pointer(mask: number, x: number, y: number): void {
    const message = Buffer.alloc(6);
    message.writeUInt8(5, 0);
    message.writeUInt8(mask, 1);
    message.writeUInt16BE(x, 2);
    message.writeUInt16BE(y, 4);
    this.send(message);
  }

  /** Reads the header of the next FramebufferUpdate (type 0) and returns its rectangle count. */
  async nextUpdate(): Promise<number> {
    const header = await this.transport.read(4);
    if (header.readUInt8(0) !== 0) throw new Error(`server message ${header.readUInt8(0)}`);
    return header.readUInt16BE(2);
  }

  /**
   * Asks for the whole screen in raw 32-bit pixels and reads the update. The first call switches
   * the connection to that pixel format and encoding, so call it before other update reads.
   */
  async readFrame(): Promise<RfbFrame> {
    if (!this.rawFormat) {
      const format = Buffer.alloc(20);
      format.writeUInt8(0, 0); // SetPixelFormat
      format.writeUInt8(32, 4); // bits per pixel
      format.writeUInt8(24, 5); // depth
      format.writeUInt8(0, 6); // little endian
      format.writeUInt8(1, 7); // true colour
      format.writeUInt16BE(255, 8);
      format.writeUInt16BE(255, 10);
      format.writeUInt16BE(255, 12);
      format.writeUInt8(16, 14); // red shift
      format.writeUInt8(8, 15); // green shift
      format.writeUInt8(0, 16); // blue shift
      this.send(format);
      const encodings = Buffer.alloc(8);
      encodings.writeUInt8(2, 0); // SetEncodings: Raw only
      encodings.writeUInt16BE(1, 2);
      encodings.writeInt32BE(0, 4);
      this.send(encodings);
      this.rawFormat = true;
    }
    this.updateRequest(false);
    const frame: RfbFrame = {
      width: this.width,
      height: this.height,
      pixels: Buffer.alloc(this.width * this.height * 4),
    };
    const rects = await this.nextServerUpdate();
    for (let index = 0; index < rects; index++) {
      const header = await this.transport.read(12);
      const x = header.readUInt16BE(0);
      const y = header.readUInt16BE(2);
      const w = header.readUInt16BE(4);
      const h = header.readUInt16BE(6);
      const encoding = header.readInt32BE(8);
      if (encoding !== 0) throw new Error(`unexpected encoding ${encoding}`);
      const data = await this.transport.read(w * h * 4);
      for (let row = 0; row < h; row++) {
        data.copy(frame.pixels, ((y + row) * this.width + x) * 4, row * w * 4, (row + 1) * w * 4);
      }
    }
    return frame;
  }

  /** Skips bells and clipboard messages up to the next FramebufferUpdate; returns its rectangle count. */
  private async nextServerUpdate(): Promise<number> {
    for (;;) {
      const type = (await this.transport.read(1)).readUInt8(0);
      if (type === 0) return (await this.transport.read(3)).readUInt16BE(1);
      if (type === 2) continue;
      if (type === 3) {
        const length = (await this.transport.read(7)).readInt32BE(3);
        await this.transport.read(Math.abs(length));
        continue;
      }
      throw new Error(`server message ${type}`);
    }
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * What a frame shows: how many colours, the most common one and the share of pixels that are
 * not it. A bare root window with the cursor drawn in has dozens of colours but a share near 0;
 * windows on a desktop cover a good part of the screen.
 */
export function pictureOf(frame: RfbFrame): { colours: number; dominant: number; drawnShare: number } {
  const counts = new Map<number, number>();
  for (let offset = 0; offset < frame.pixels.length; offset += 4) {
    const colour = frame.pixels.readUInt32LE(offset) & 0xffffff;
    counts.set(colour, (counts.get(colour) ?? 0) + 1);
  }
  let dominant = 0;
  let most = 0;
  for (const [colour, count] of counts) {
    if (count > most) {
      dominant = colour;
      most = count;
    }
  }
  const pixels = frame.width * frame.height;
  return { colours: counts.size, dominant, drawnShare: pixels === 0 ? 0 : 1 - most / pixels };
}

/**
 * `pictureOf(frame).drawnShare` in a few milliseconds instead of some 50 (no map of every
 * colour): the most common colour, when it covers more than half of the screen, is the one a
 * majority vote leaves; otherwise the share is counted exactly by `pictureOf`. For a load
 * generator that reads many viewers' frames in one process, where 50 ms per frame would hold
 * every other viewer's reads.
 */
export function drawnShareOf(frame: RfbFrame): number {
  // A view needs 4-byte alignment (and the little-endian order of `pictureOf`'s reads, as on x86 and arm).
  const bytes = frame.pixels.byteOffset % 4 === 0 ? frame.pixels : Buffer.from(frame.pixels);
  const pixels = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  let candidate = 0;
  let votes = 0;
  for (let index = 0; index < pixels.length; index++) {
    const colour = (pixels[index] ?? 0) & 0xffffff;
    if (votes === 0) {
      candidate = colour;
      votes = 1;
    } else if (colour === candidate) votes += 1;
    else votes -= 1;
  }
  let count = 0;
  for (let index = 0; index < pixels.length; index++)
    if (((pixels[index] ?? 0) & 0xffffff) === candidate) count += 1;
  if (pixels.length === 0) return 0;
  return count * 2 > pixels.length ? 1 - count / pixels.length : pictureOf(frame).drawnShare;
}

/** Writes a frame as a binary PPM (for looking at what a test saw). */
export function framePpm(frame: RfbFrame): Buffer {
  const header = Buffer.from(`P6\n${frame.width} ${frame.height}\n255\n`, "latin1");
  const body = Buffer.alloc(frame.width * frame.height * 3);
  for (let pixel = 0; pixel < frame.width * frame.height; pixel++) {
    body[pixel * 3] = frame.pixels[pixel * 4 + 2] ?? 0;
    body[pixel * 3 + 1] = frame.pixels[pixel * 4 + 1] ?? 0;
    body[pixel * 3 + 2] = frame.pixels[pixel * 4] ?? 0;
  }
  return Buffer.concat([header, body]);
}

/** Opens an RFB connection to a unix or TCP endpoint (what the gateway would connect to). */
export function connectRfb(endpoint: Endpoint): Promise<RfbClient> {
  const socket: Socket =
    endpoint.transport === "unix"
      ? connect({ path: endpoint.path })
      : connect({ host: endpoint.host, port: endpoint.port });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(new RfbClient(socketTransport(socket)));
    });
  });
}

/** Exact-length reads over a socket: arriving chunks are kept until a read can take its bytes. */
export function socketTransport(socket: Socket): RfbTransport {
  let buffered: Buffer = Buffer.alloc(0);
  let failure: Error | null = null;
  let waiter: { count: number; resolve: (bytes: Buffer) => void; reject: (error: Error) => void } | null =
    null;
  const settle = () => {
    if (waiter === null) return;
    if (buffered.length >= waiter.count) {
      const { count, resolve } = waiter;
      waiter = null;
      const bytes = buffered.subarray(0, count);
      buffered = buffered.subarray(count);
      resolve(bytes);
    } else if (failure !== null) {
      const { reject } = waiter;
      waiter = null;
      reject(failure);
    }
  };
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    settle();
  });
  socket.on("error", (error) => {
    failure = error;
    settle();
  });
  socket.on("close", () => {
    failure ??= new Error("connection closed");
    settle();
  });
  return {
    read(count) {
      if (waiter !== null) return Promise.reject(new Error("one read at a time"));
      return new Promise((resolve, reject) => {
        waiter = { count, resolve, reject };
        settle();
      });
    },
    write(bytes) {
      socket.write(bytes);
    },
    close() {
      socket.destroy();
    },
  };
}
