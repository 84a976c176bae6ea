import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { connect } from "node:net";
import { Duplex } from "node:stream";
import type { GatewayNotice } from "@neosc/core/connection";
import {
  encodeShellWatch,
  encodeTerminalInput,
  encodeTerminalResize,
  readTerminalFrames,
  SHELL_OUTPUT_FRAME_MAX_BYTES,
  SHELL_WATCH_NONCE_BYTES,
  TERMINAL_MAX_COLS,
  TERMINAL_MAX_ROWS,
  TerminalFrameError,
} from "@neosc/core/terminal";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import type { Endpoint, SshLogin } from "./endpoint.ts";
import {
  type ClientBytes,
  type ClipboardGuard,
  type ClipboardRefusal,
  ProtocolError,
  type ProtocolSession,
  WorkspaceError,
} from "./protocol.ts";

/*
 * Terminals on the gateway (`@neosc/core/terminal` has the frame grammar). The browser side is
 * one ProtocolSession for every terminal: it checks each frame and forwards the bytes
 * unchanged; typed input and resizes are a person's input, output never is. The workspace side
 * speaks the same frames: a local shell host reads them from its unix socket, and for an ssh
 * target the gateway is the ssh client and applies them to the channel itself.
 */

const REFUSAL_NOTICE: Record<ClipboardRefusal, string> = {
  clipboard_to_workspace_off: "Pasting into this workspace is turned off by policy.",
  clipboard_too_large: "That paste is larger than the policy allows.",
};

/** Shown in the terminal itself, so the person sees why nothing arrived. */
function notice(reason: ClipboardRefusal): Buffer {
  return Buffer.from(`\r\n\x1b[33m[NeoSC] ${REFUSAL_NOTICE[reason]}\x1b[0m\r\n`);
}

/**
 * The browser half: frames in, the same frames out; violations close with 4008 / 4009. A paste
 * goes on as input when the `clipboard` policy allows it, and is refused (with a notice and an
 * audit entry) when it does not. The workspace side never sees a paste frame.
 *
 * `viewOnly` (an admin watching the person's shell): every frame is still read against the
 * grammar, and none goes on — no typing, paste or resize of the watcher's reaches the shell, and
 * none counts as the person's input.
 *
 * `watchShell` (a watcher of a local shell, or the person's own recorded connection): the gateway
 * asks the shell host for its watch frames (`@neosc/core/terminal`) and yields the pty's size as
 * `terminal_size` notices, in order with the output: a watcher's terminal follows the person's
 * size, and a recording follows the pty whoever resized it (the relay's `onShellSize`).
 */
export function terminalSession(
  clipboard: ClipboardGuard,
  options: { viewOnly?: boolean; watchShell?: boolean } = {},
): ProtocolSession {
  let pending: Buffer = Buffer.alloc(0);
  const watched =
    options.watchShell === true ? new ShellWatchReader(randomBytes(SHELL_WATCH_NONCE_BYTES)) : null;
  return {
    // Nothing to exchange: the workspace side (ssh login, shell host) is ready before relaying.
    async handshake(io) {
      if (watched !== null) io.toServer(Buffer.from(encodeShellWatch(watched.nonce)));
    },
    ...(watched === null ? {} : { fromServer: (chunk: Buffer) => watched.read(chunk) }),
    fromClient(chunk): ClientBytes {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let read: ReturnType<typeof readTerminalFrames>;
      try {
        read = readTerminalFrames(pending);
      } catch (error) {
        if (error instanceof TerminalFrameError) throw new ProtocolError(error.kind, error.message);
        throw error;
      }
      pending = pending.subarray(read.consumed);
      if (options.viewOnly === true) return { forward: Buffer.alloc(0), input: false };
      const forward: Uint8Array[] = [];
      const replies: Buffer[] = [];
      const resizes: { cols: number; rows: number }[] = [];
      const typed: Uint8Array[] = [];
      const markers: string[] = [];
      for (const frame of read.frames) {
        if (frame.type === "resize") {
          forward.push(encodeTerminalResize(frame.cols, frame.rows));
          resizes.push({ cols: frame.cols, rows: frame.rows });
        } else if (frame.type === "input") {
          forward.push(encodeTerminalInput(frame.data));
          typed.push(frame.data);
        } else {
          const rule = clipboard.rule;
          const refusal: ClipboardRefusal | null =
            rule === null
              ? null
              : !rule.toWorkspace
                ? "clipboard_to_workspace_off"
                : frame.data.length > rule.maxBytes
                  ? "clipboard_too_large"
                  : null;
          if (refusal === null) {
            forward.push(encodeTerminalInput(frame.data));
            typed.push(frame.data);
          } else {
            clipboard.refused(refusal, frame.data.length);
            replies.push(notice(refusal));
            markers.push(`paste refused: ${refusal}`);
          }
        }
      }
      return {
        forward: Buffer.concat(forward),
        input: read.frames.length > 0,
        ...(replies.length > 0 ? { reply: Buffer.concat(replies) } : {}),
        ...(resizes.length > 0 ? { resizes } : {}),
        ...(typed.length > 0 ? { typed } : {}),
        ...(markers.length > 0 ? { markers } : {}),
      };
    },
  };
}

/**
 * A watched shell host's stream: raw output until the nonce (the scrollback the host sent before
 * it read the watch frame; it sends it again framed, so it is dropped), then size and output
 * frames. The host runs inside the person's sandbox, so its frames are checked like a browser's.
 */
export class ShellWatchReader {
  private synced = false;
  private pending: Buffer = Buffer.alloc(0);

  constructor(readonly nonce: Buffer) {}

  read(chunk: Buffer): (Buffer | GatewayNotice)[] {
    let bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = Buffer.alloc(0);
    if (!this.synced) {
      const at = bytes.indexOf(this.nonce);
      if (at === -1) {
        // The end may be the start of the nonce; the rest is the raw copy, dropped.
        this.pending = Buffer.from(bytes.subarray(Math.max(0, bytes.length - (this.nonce.length - 1))));
        return [];
      }
      this.synced = true;
      bytes = bytes.subarray(at + this.nonce.length);
    }
    const parts: (Buffer | GatewayNotice)[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      const type = bytes[offset];
      if (type === 0x01) {
        if (bytes.length - offset < 5) break;
        const cols = bytes.readUInt16BE(offset + 1);
        const rows = bytes.readUInt16BE(offset + 3);
        if (cols < 1 || cols > TERMINAL_MAX_COLS || rows < 1 || rows > TERMINAL_MAX_ROWS) {
          throw new WorkspaceError(`the shell host sent a size of ${cols}×${rows}`);
        }
        parts.push({ type: "terminal_size", cols, rows });
        offset += 5;
      } else if (type === 0x00) {
        if (bytes.length - offset < 5) break;
        const length = bytes.readUInt32BE(offset + 1);
        if (length === 0 || length > SHELL_OUTPUT_FRAME_MAX_BYTES) {
          throw new WorkspaceError(`the shell host sent an output frame of ${length} bytes`);
        }
        if (bytes.length - offset < 5 + length) break;
        parts.push(bytes.subarray(offset + 5, offset + 5 + length));
        offset += 5 + length;
      } else {
        throw new WorkspaceError(`the shell host sent frame type ${type}`);
      }
    }
    if (offset < bytes.length) this.pending = Buffer.from(bytes.subarray(offset));
    return parts;
  }
}

/** The SHA256 fingerprint of a raw ssh public key blob, as `ssh-keygen -lf` prints it. */
export function sshFingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

function sameFingerprint(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** An ssh shell seen as a stream of terminal frames in and output bytes out, like a shell host. */
class SshTerminal extends Duplex {
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly client: Client,
    private readonly channel: ClientChannel,
  ) {
    super();
    const push = (chunk: Buffer) => {
      if (!this.push(chunk)) channel.pause();
    };
    channel.on("data", push);
    channel.stderr.on("data", push);
    // The shell ended (exit, logout): the stream ends after the last output is read.
    channel.once("close", () => this.push(null));
    this.once("end", () => this.destroy());
    client.once("error", (error) => this.destroy(new Error(`ssh connection failed: ${error.message}`)));
    client.once("close", () => {
      if (!this.readableEnded) this.destroy(new Error("the ssh connection closed"));
    });
  }

  override _read(): void {
    this.channel.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    // The gateway already checked these frames; a failure here is a bug, not the browser's doing.
    const { frames, consumed } = readTerminalFrames(this.pending);
    this.pending = this.pending.subarray(consumed);
    let flowing = true;
    for (const frame of frames) {
      // Pastes arrive as input: the browser half turned the allowed ones into input frames.
      if (frame.type === "resize") this.channel.setWindow(frame.rows, frame.cols, 0, 0);
      else flowing = this.channel.write(frame.data);
    }
    if (flowing) done();
    else this.channel.once("drain", () => done());
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.client.end();
    done(error);
  }
}

export interface SshConnectOptions {
  endpoint: Endpoint;
  login: SshLogin;
  /** The password or private key NeoSC holds; never leaves the gateway. */
  secret: string;
  timeoutMs: number;
}

/**
 * Logs in to an ssh target and opens a shell with a pty. Refuses a host whose key is not the
 * pinned one before any credential is sent (WorkspaceError reason `host_key_mismatch`).
 */
export function connectSsh(options: SshConnectOptions): Promise<Duplex> {
  const { endpoint, login, secret } = options;
  if (endpoint.transport !== "tcp") {
    return Promise.reject(new WorkspaceError("an ssh target is reached over TCP"));
  }
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: string | null = null;
    let settled = false;
    const fail = (error: WorkspaceError) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(error);
    };
    // Keystrokes are tiny writes: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to each echo.
    const sock = connect({ host: endpoint.host, port: endpoint.port });
    sock.setNoDelay(true);
    const config: ConnectConfig = {
      sock,
      username: login.username,
      readyTimeout: options.timeoutMs,
      // A host that vanishes without closing TCP is noticed within a minute, not never.
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      // ssh2 retries with every method it has; NeoSC holds exactly one credential.
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        presented = sshFingerprint(key);
        return sameFingerprint(presented, login.hostKey);
      },
      ...(login.auth === "password" ? { password: secret } : { privateKey: secret }),
    };
    client.once("ready", () => {
      client.shell({ term: "xterm-256color", cols: 80, rows: 24 }, (error, channel) => {
        if (error) return fail(new WorkspaceError(`the ssh host opened no shell: ${error.message}`));
        settled = true;
        resolve(new SshTerminal(client, channel));
      });
    });
    client.once("error", (error: Error & { level?: string }) => {
      if (presented !== null && !sameFingerprint(presented, login.hostKey)) {
        return fail(
          new WorkspaceError(
            `the ssh host presented key ${presented}, not the pinned ${login.hostKey}`,
            "host_key_mismatch",
          ),
        );
      }
      if (error.level === "client-authentication") {
        return fail(new WorkspaceError("the ssh host refused NeoSC's credential", "workspace_auth_failed"));
      }
      fail(new WorkspaceError(`the ssh host is unreachable: ${error.message}`));
    });
    try {
      client.connect(config);
    } catch (error) {
      // A private key ssh2 cannot parse is thrown synchronously.
      fail(new WorkspaceError(`ssh login not possible: ${error instanceof Error ? error.message : error}`));
    }
  });
}
