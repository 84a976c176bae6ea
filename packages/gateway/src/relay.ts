import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { GatewayNotice, WorkspaceCloseReason } from "@neosc/core/connection";
import { connectEndpointSocket } from "@neosc/core/endpoint-socket";
import type { WebSocket } from "ws";
import { ByteStream } from "./byte-stream.ts";
import type { Endpoint } from "./endpoint.ts";
import {
  type ClientBytes,
  type PointerPosition,
  ProtocolError,
  type ProtocolSession,
  WorkspaceError,
} from "./protocol.ts";

/*
 * The byte pump between one browser WebSocket and one workspace socket, with backpressure both
 * ways: the workspace socket is paused while the browser's send buffer is above the high-water
 * mark, and the WebSocket is paused while the workspace socket's write buffer is full. Client
 * bytes go through the protocol's reader first (message grammar, input detection); server bytes
 * pass unchanged, unless the protocol reads them too (a watched shell's frames).
 */

export interface RelayHooks {
  /** A person's input passed through (for the idle rule). */
  onInput(): void;
  /** The client broke the protocol. */
  onViolation(error: ProtocolError): void;
  /**
   * The workspace side closed or failed. `ended` is true when it ended its stream on purpose
   * (a terminal's shell exited) rather than failing or vanishing.
   */
  onWorkspaceClosed(detail: string, ended: boolean, reason?: WorkspaceCloseReason): void;
  /**
   * Every byte the browser receives (the handshake's, the workspace's, the gateway's replies), in
   * order: the recorder's tap. False asks the relay to hold the workspace until `release("recorder")`.
   */
  onClientBytes?(bytes: Buffer): boolean;
  /** The person's pointer positions as forwarded (the recorder draws the pointer from them). */
  onPointer?(pointer: PointerPosition): void;
  /** A terminal's size, typed bytes and markers as forwarded (the terminal recorder's taps). */
  onTerminal?(events: Pick<ClientBytes, "resizes" | "typed" | "markers">): void;
  /**
   * The pty's size as a watched shell host reports it, in order with the output: whoever changed
   * it (this browser, another connection of the session, `stty` inside the shell). With this
   * hook the size is the caller's (the recorder's) and does not go to the browser.
   */
  onShellSize?(size: { cols: number; rows: number }): void;
  /**
   * The browser is `highWaterBytes` behind. Without this hook the relay holds the workspace
   * until it catches up; with it the caller decides instead (a watcher sharing the person's
   * shell is closed, so it never holds the person's output).
   */
  onBrowserBehind?(): void;
}

/** Why the workspace socket is not being read: the browser or the recorder is behind. */
export type RelayHold = "browser" | "recorder";

export interface RelayOptions {
  /** Pause the workspace socket while the browser has more than this many bytes unsent. */
  highWaterBytes: number;
  /** Largest WebSocket message accepted from the browser. */
  maxFrameBytes: number;
  /** How long to wait for the workspace's socket and handshake. */
  connectTimeoutMs: number;
}

export function connectEndpoint(endpoint: Endpoint, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectEndpointSocket(endpoint);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new WorkspaceError(`workspace did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      resolve(socket);
    });
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(new WorkspaceError(`workspace unreachable: ${error.message}`));
    };
    socket.once("error", fail);
  });
}

/** A WebSocket message that arrived before the relay started. */
export interface EarlyMessage {
  data: Buffer;
  isBinary: boolean;
}

export class Relay {
  private closed = false;
  private readonly holds = new Set<RelayHold>();
  bytesToClient = 0;
  bytesToServer = 0;

  constructor(
    private readonly ws: WebSocket,
    /** The workspace: a socket, or a stream that looks like one (an ssh shell). */
    private readonly upstream: Duplex,
    private readonly protocol: ProtocolSession,
    private readonly options: RelayOptions,
    private readonly hooks: RelayHooks,
  ) {}

  /**
   * Runs the protocol handshake, then relays until either side closes. `ready`: what must be
   * done before anything past the handshake is relayed (the handshake runs meanwhile, and what
   * either side sends waits in its buffer).
   */
  async start(early: EarlyMessage[] = [], ready: Promise<void> = Promise.resolve()): Promise<void> {
    const { ws, upstream } = this;
    const client = new ByteStream();
    const server = new ByteStream();
    const onClientMessage = (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return this.violation(new ProtocolError("malformed", "text frame"));
      if (data.length > this.options.maxFrameBytes) {
        return this.violation(new ProtocolError("too_large", `frame of ${data.length} bytes`));
      }
      client.push(data);
    };
    const onServerData = (chunk: Buffer) => server.push(chunk);
    let ended = false;
    const onServerGone = (error?: Error) => {
      const why = error?.message ?? (ended ? "the workspace ended" : "workspace closed the connection");
      server.fail(new WorkspaceError(why));
      this.workspaceClosed(why, ended && error === undefined);
    };
    upstream.once("end", () => {
      ended = true;
    });
    ws.on("message", onClientMessage);
    for (const message of early) onClientMessage(message.data, message.isBinary);
    if (this.closed) return;
    upstream.on("data", onServerData);
    upstream.on("error", onServerGone);
    upstream.on("close", () => onServerGone());
    ws.once("close", () => client.fail(new Error("client closed")));

    const timeout = setTimeout(
      () => server.fail(new WorkspaceError("workspace handshake timed out")),
      this.options.connectTimeoutMs,
    );
    try {
      await this.protocol.handshake({
        client,
        server,
        toClient: (bytes) => this.sendToClient(bytes),
        toServer: (bytes) => upstream.write(bytes),
      });
    } catch (error) {
      if (error instanceof ProtocolError) this.violation(error);
      else if (error instanceof WorkspaceError) this.workspaceClosed(error.message, false, error.reason);
      else if (!this.closed)
        this.workspaceClosed(error instanceof Error ? error.message : String(error), false);
      return;
    } finally {
      clearTimeout(timeout);
    }
    await ready;
    if (this.closed) return;

    ws.off("message", onClientMessage);
    upstream.off("data", onServerData);
    ws.on("message", (data: Buffer, isBinary: boolean) => this.fromClient(data, isBinary));
    upstream.on("data", (chunk: Buffer) => this.fromServer(chunk));
    const afterHandshake = client.drain();
    if (afterHandshake.length > 0) this.fromClient(afterHandshake, true);
    const pendingServer = server.drain();
    if (pendingServer.length > 0) this.fromServer(pendingServer);
  }

  /** Stops reading the workspace until every hold is released (backpressure). */
  hold(reason: RelayHold): void {
    if (this.holds.size === 0 && !this.closed) this.upstream.pause();
    this.holds.add(reason);
  }

  release(reason: RelayHold): void {
    if (!this.holds.delete(reason)) return;
    if (this.holds.size === 0 && !this.closed) this.upstream.resume();
  }

  /** Sends to the browser through the recorder's tap; a full recorder holds the workspace. */
  private sendToClient(bytes: Buffer, done?: () => void): void {
    if (this.hooks.onClientBytes?.(bytes) === false) this.hold("recorder");
    this.ws.send(bytes, { binary: true }, done);
  }

  /** Stops relaying (the monitor decided the end); the caller closes the WebSocket. */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream.destroy();
  }

  private fromClient(data: Buffer, isBinary: boolean) {
    if (this.closed) return;
    if (!isBinary) return this.violation(new ProtocolError("malformed", "text frame"));
    if (data.length > this.options.maxFrameBytes) {
      return this.violation(new ProtocolError("too_large", `frame of ${data.length} bytes`));
    }
    let parsed: ReturnType<ProtocolSession["fromClient"]>;
    try {
      parsed = this.protocol.fromClient(data);
    } catch (error) {
      if (error instanceof ProtocolError) return this.violation(error);
      throw error;
    }
    if (parsed.input) this.hooks.onInput();
    // Before the reply: a refused paste's marker comes ahead of the notice it explains.
    if (
      this.hooks.onTerminal !== undefined &&
      (parsed.resizes !== undefined || parsed.typed !== undefined || parsed.markers !== undefined)
    ) {
      this.hooks.onTerminal(parsed);
    }
    if (parsed.reply !== undefined) this.sendToClient(parsed.reply);
    if (this.hooks.onPointer !== undefined)
      for (const pointer of parsed.pointers ?? []) this.hooks.onPointer(pointer);
    if (parsed.forward.length === 0) return;
    this.bytesToServer += parsed.forward.length;
    if (!this.upstream.write(parsed.forward)) {
      // The workspace is not reading fast enough: stop reading the browser until it drains.
      this.ws.pause();
      this.upstream.once("drain", () => {
        if (!this.closed) this.ws.resume();
      });
    }
  }

  private fromServer(chunk: Buffer) {
    if (this.closed) return;
    let parts: (Buffer | GatewayNotice)[] = [chunk];
    if (this.protocol.fromServer !== undefined) {
      try {
        parts = this.protocol.fromServer(chunk);
      } catch (error) {
        if (error instanceof WorkspaceError) return this.workspaceClosed(error.message, false, error.reason);
        throw error;
      }
    }
    const sent = () => {
      if (this.holds.has("browser") && this.ws.bufferedAmount < this.options.highWaterBytes / 2) {
        this.release("browser");
      }
    };
    for (const part of parts) {
      if (!Buffer.isBuffer(part)) {
        if (part.type === "terminal_size" && this.hooks.onShellSize !== undefined) {
          this.hooks.onShellSize({ cols: part.cols, rows: part.rows });
        } else this.ws.send(JSON.stringify(part), sent);
        continue;
      }
      this.bytesToClient += part.length;
      this.sendToClient(part, sent);
    }
    if (!this.holds.has("browser") && this.ws.bufferedAmount >= this.options.highWaterBytes) {
      if (this.hooks.onBrowserBehind !== undefined) return this.hooks.onBrowserBehind();
      // The browser is not reading fast enough: stop reading the workspace until it catches up.
      this.hold("browser");
    }
  }

  private violation(error: ProtocolError) {
    if (this.closed) return;
    this.stop();
    this.hooks.onViolation(error);
  }

  private workspaceClosed(detail: string, ended: boolean, reason?: WorkspaceCloseReason) {
    if (this.closed) return;
    this.stop();
    this.hooks.onWorkspaceClosed(detail, ended, reason);
  }
}
