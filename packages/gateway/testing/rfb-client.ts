import { type GatewayNotice, gatewaySubprotocols, parseGatewayNotice } from "@neosc/core/connection";
import { RfbClient } from "@neosc/provisioner/testing/rfb-client";
import { WebSocket } from "ws";
import { ByteStream } from "../src/byte-stream.ts";

/**
 * The RFB test client (@neosc/provisioner/testing/rfb-client) over the gateway's WebSocket, as
 * noVNC connects: with a ticket in the subprotocol, an Origin and the portal's cookie.
 */
export class RfbTestClient {
  readonly stream = new ByteStream();
  readonly rfb: RfbClient;
  readonly closed: Promise<{ code: number; reason: string }>;
  serverBytes = 0;
  /** The gateway's notices so far (an admin's watch opened or closed), with when each came. */
  readonly notices: (GatewayNotice & { receivedAt: number })[] = [];
  private constructor(readonly ws: WebSocket) {
    this.rfb = new RfbClient({
      read: (count) => this.stream.read(count),
      write: (bytes) => ws.send(bytes),
      close: () => ws.close(),
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      // The gateway's own notices are text messages, apart from the workspace's bytes.
      if (!isBinary) {
        const notice = parseGatewayNotice(data.toString("utf8"));
        if (notice !== null) this.notices.push({ ...notice, receivedAt: Date.now() });
        return;
      }
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
  handshake(): Promise<{ width: number; height: number; name: string }> {
    return this.rfb.handshake();
  }

  send(bytes: Buffer | number[]): void {
    this.rfb.send(bytes);
  }

  updateRequest(incremental: boolean, width = 640, height = 480): void {
    this.rfb.updateRequest(incremental, width, height);
  }

  key(keysym: number, down: boolean): void {
    this.rfb.key(keysym, down);
  }

  pointer(mask: number, x: number, y: number): void {
    this.rfb.pointer(mask, x, y);
  }

  /** Reads the header of the next FramebufferUpdate (type 0) and returns its rectangle count. */
  nextUpdate(): Promise<number> {
    return this.rfb.nextUpdate();
  }

  close(): void {
    this.rfb.close();
  }
}
