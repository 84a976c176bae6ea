import { gatewaySubprotocols } from "@neosc/core/connection";
import { WebSocket } from "ws";
import { ByteStream } from "../src/byte-stream.ts";

/** A minimal RFB 3.8 client over the gateway's WebSocket, as noVNC speaks it. */
export class RfbTestClient {
  readonly stream = new ByteStream();
  readonly closed: Promise<{ code: number; reason: string }>;
  serverBytes = 0;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      this.serverBytes += data.length;
      this.stream.push(data);
    });
    this.closed = new Promise((resolve) => {
      ws.once("close", (code, reason) => {
        this.stream.fail(new Error(`closed ${code}`));
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  static open(
    url: string,
    options: {
      ticket?: string | null;
      origin?: string;
      cookie?: string;
      protocols?: string[];
      headers?: Record<string, string>;
    } = {},
  ): Promise<RfbTestClient> {
    const protocols =
      options.protocols ?? (options.ticket ? gatewaySubprotocols(options.ticket) : ["neosc.v1"]);
    const headers: Record<string, string> = { ...options.headers };
    if (options.cookie !== undefined) headers.cookie = options.cookie;
    const ws = new WebSocket(url, protocols, {
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      headers,
    });
    const client = new RfbTestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
      ws.once("unexpected-response", (_request, response) =>
        reject(new Error(`HTTP ${response.statusCode}`)),
      );
    });
  }

  /** Version, security None, ClientInit; returns the ServerInit's size and name. */
  async handshake(): Promise<{ width: number; height: number; name: string }> {
    const version = (await this.stream.read(12)).toString("latin1");
    if (version !== "RFB 003.008\n") throw new Error(`server version ${version}`);
    this.send(Buffer.from("RFB 003.008\n", "latin1"));
    const count = (await this.stream.read(1)).readUInt8(0);
    const types = [...(await this.stream.read(count))];
    if (!types.includes(1)) throw new Error(`security types ${types.join(",")}`);
    this.send(Buffer.from([1]));
    const result = (await this.stream.read(4)).readUInt32BE(0);
    if (result !== 0) throw new Error(`security result ${result}`);
    this.send(Buffer.from([1]));
    const init = await this.stream.read(24);
    const name = (await this.stream.read(init.readUInt32BE(20))).toString("utf8");
    return { width: init.readUInt16BE(0), height: init.readUInt16BE(2), name };
  }

  send(bytes: Buffer | number[]): void {
    this.ws.send(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  updateRequest(incremental: boolean, width = 640, height = 480): void {
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
    const header = await this.stream.read(4);
    if (header.readUInt8(0) !== 0) throw new Error(`server message ${header.readUInt8(0)}`);
    return header.readUInt16BE(2);
  }

  close(): void {
    this.ws.close();
  }
}
