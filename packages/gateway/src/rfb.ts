import { createCipheriv } from "node:crypto";
import type { ByteStream } from "./byte-stream.ts";
import {
  type ClientBytes,
  type ClipboardGuard,
  type ClipboardRefusal,
  type HandshakeIo,
  type PointerPosition,
  ProtocolError,
  type ProtocolSession,
  WorkspaceError,
} from "./protocol.ts";

/*
 * RFB 3.8 (RFC 6143), parsed only as far as enforcement needs. The gateway completes the security
 * handshake with the workspace itself (VNC authentication with a password NeoSC holds, for static
 * targets) and offers the browser security type None, so no workspace secret ever reaches it.
 * After that it reads the type and length of every client message and passes the bytes through
 * unchanged; server bytes are never parsed. Unknown types close the connection (4008).
 */

const VERSION = Buffer.from("RFB 003.008\n", "latin1");
const SECURITY_NONE = 1;
const SECURITY_VNC = 2;
/** A server's failure reason is shown to nobody but the log; keep reading it bounded. */
const MAX_REASON_BYTES = 4096;

/** Client → server message types (REFERENCE.md "RFB client → server messages"). */
const MessageType = {
  SetPixelFormat: 0,
  SetEncodings: 2,
  FramebufferUpdateRequest: 3,
  KeyEvent: 4,
  PointerEvent: 5,
  ClientCutText: 6,
  EnableContinuousUpdates: 150,
  ClientFence: 248,
  Xvp: 250,
  SetDesktopSize: 251,
  Qemu: 255,
} as const;

/*
 * noVNC sends 7-byte "extended" PointerEvents once the server acknowledges ExtendedMouseButtons,
 * which the gateway would have to learn from server messages it does not parse. It removes that
 * pseudo-encoding from SetEncodings instead, so every PointerEvent stays 6 bytes.
 */
const PSEUDO_ENCODING_EXTENDED_MOUSE_BUTTONS = -316;
const MAX_ENCODINGS = 1024;
const MAX_SCREENS = 64;
const MAX_FENCE_PAYLOAD = 64;
/** Extended clipboard actions that carry or announce a person's clipboard (not caps/request/peek). */
const CLIPBOARD_NOTIFY = 1 << 27;
const CLIPBOARD_PROVIDE = 1 << 28;

export interface RfbOptions {
  /** The workspace's VNC password (static targets), never sent to the browser. */
  password?: string | undefined;
  /** Largest ClientCutText payload accepted (bytes); larger closes with 4009. */
  maxClipboardBytes: number;
  /** The `clipboard` policy: a refused paste is not forwarded (the connection stays open). */
  clipboard: ClipboardGuard;
  /**
   * An admin watching (`session.watch`): joins as a shared client (the person stays connected)
   * and nothing that acts on the desktop is forwarded — keys, pointer, clipboard, desktop size,
   * power (XVP). What only shapes this viewer's own stream (pixel format, encodings, update
   * requests, fences) still goes.
   */
  viewOnly?: boolean;
}

/** Client messages that act on the desktop rather than on the viewer's own stream. */
const ACTING_MESSAGES: ReadonlySet<number> = new Set([
  MessageType.KeyEvent,
  MessageType.PointerEvent,
  MessageType.ClientCutText,
  MessageType.Xvp,
  MessageType.SetDesktopSize,
  MessageType.Qemu,
]);

function vncAuthResponse(password: string, challenge: Buffer): Buffer {
  // VNC authentication: DES-encrypt the challenge with the password (8 bytes, each bit-reversed).
  // OpenSSL 3 keeps single DES in its legacy provider; 3DES with K1=K2=K3 is the same cipher.
  const key = Buffer.alloc(8);
  Buffer.from(password, "latin1").copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let byte = key[i] ?? 0;
    let reversed = 0;
    for (let bit = 0; bit < 8; bit++) {
      reversed = (reversed << 1) | (byte & 1);
      byte >>= 1;
    }
    key[i] = reversed;
  }
  const cipher = createCipheriv("des-ede3-ecb", Buffer.concat([key, key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(challenge), cipher.final()]);
}

async function readReason(stream: ByteStream): Promise<string> {
  const length = (await stream.read(4)).readUInt32BE(0);
  if (length > MAX_REASON_BYTES) return "(reason too long)";
  return (await stream.read(length)).toString("utf8");
}

/** Gateway → workspace: the client half of the handshake, up to a successful SecurityResult. */
async function authenticateToServer(io: HandshakeIo, password: string | undefined): Promise<void> {
  const version = (await io.server.read(12)).toString("latin1");
  if (!/^RFB 003\.(00[78]|889)\n$/.test(version)) {
    throw new WorkspaceError(`workspace speaks ${JSON.stringify(version)}, not RFB 3.7/3.8`);
  }
  io.toServer(VERSION);
  const count = (await io.server.read(1)).readUInt8(0);
  if (count === 0) throw new WorkspaceError(`workspace refused: ${await readReason(io.server)}`);
  const types = [...(await io.server.read(count))];
  let chosen: number;
  if (password !== undefined && types.includes(SECURITY_VNC)) chosen = SECURITY_VNC;
  else if (types.includes(SECURITY_NONE)) chosen = SECURITY_NONE;
  else throw new WorkspaceError(`workspace offers no usable security type (${types.join(", ")})`);
  io.toServer(Buffer.from([chosen]));
  if (chosen === SECURITY_VNC) {
    const challenge = await io.server.read(16);
    io.toServer(vncAuthResponse(password ?? "", challenge));
  }
  const result = (await io.server.read(4)).readUInt32BE(0);
  if (result !== 0)
    throw new WorkspaceError(`workspace authentication failed: ${await readReason(io.server)}`);
}

/** Browser → gateway: the server half, offering only None; the browser then sends ClientInit. */
async function acceptClient(io: HandshakeIo): Promise<void> {
  io.toClient(VERSION);
  const version = (await io.client.read(12)).toString("latin1");
  if (!/^RFB 003\.00[78]\n$/.test(version)) {
    throw new ProtocolError("malformed", `client speaks ${JSON.stringify(version)}, not RFB 3.7/3.8`);
  }
  io.toClient(Buffer.from([1, SECURITY_NONE]));
  const choice = (await io.client.read(1)).readUInt8(0);
  if (choice !== SECURITY_NONE) throw new ProtocolError("malformed", `client chose security type ${choice}`);
  if (version === "RFB 003.008\n") io.toClient(Buffer.alloc(4));
}

/** One RFB connection: handshake, then a streaming reader of client messages. */
export function rfbSession(options: RfbOptions): ProtocolSession {
  let pending: Buffer = Buffer.alloc(0);
  let clientInitSeen = false;
  let lastPointer: { mask: number; x: number; y: number } | null = null;

  /** Length of the message at the start of `bytes`, or null when more bytes are needed. */
  function messageLength(bytes: Buffer): number | null {
    const type = bytes.readUInt8(0);
    const need = (n: number) => (bytes.length >= n ? n : null);
    switch (type) {
      case MessageType.SetPixelFormat:
        return need(20);
      case MessageType.SetEncodings: {
        if (bytes.length < 4) return null;
        const count = bytes.readUInt16BE(2);
        if (count > MAX_ENCODINGS)
          throw new ProtocolError("malformed", `SetEncodings with ${count} encodings`);
        return need(4 + 4 * count);
      }
      case MessageType.FramebufferUpdateRequest:
        return need(10);
      case MessageType.KeyEvent:
        return need(8);
      case MessageType.PointerEvent:
        return need(6);
      case MessageType.ClientCutText: {
        if (bytes.length < 8) return null;
        const length = Math.abs(bytes.readInt32BE(4));
        if (length > options.maxClipboardBytes) {
          throw new ProtocolError("too_large", `clipboard of ${length} bytes`);
        }
        if (bytes.readInt32BE(4) < 0 && length < 4) {
          throw new ProtocolError("malformed", "extended clipboard message without flags");
        }
        return need(8 + length);
      }
      case MessageType.EnableContinuousUpdates:
        return need(10);
      case MessageType.ClientFence: {
        if (bytes.length < 9) return null;
        const length = bytes.readUInt8(8);
        if (length > MAX_FENCE_PAYLOAD)
          throw new ProtocolError("malformed", `fence payload of ${length} bytes`);
        return need(9 + length);
      }
      case MessageType.Xvp:
        return need(4);
      case MessageType.SetDesktopSize: {
        if (bytes.length < 8) return null;
        const screens = bytes.readUInt8(6);
        if (screens === 0 || screens > MAX_SCREENS) {
          throw new ProtocolError("malformed", `SetDesktopSize with ${screens} screens`);
        }
        return need(8 + 16 * screens);
      }
      case MessageType.Qemu: {
        if (bytes.length < 2) return null;
        // Only the extended key event (sub-type 0) is defined for clients that noVNC speaks.
        if (bytes.readUInt8(1) !== 0)
          throw new ProtocolError("malformed", `QEMU sub-type ${bytes.readUInt8(1)}`);
        return need(12);
      }
      default:
        throw new ProtocolError("malformed", `unknown client message type ${type}`);
    }
  }

  function isInput(message: Buffer): boolean {
    switch (message.readUInt8(0)) {
      case MessageType.KeyEvent:
      case MessageType.Qemu:
        return true;
      case MessageType.PointerEvent: {
        const pointer = {
          mask: message.readUInt8(1),
          x: message.readUInt16BE(2),
          y: message.readUInt16BE(4),
        };
        const changed =
          lastPointer === null ||
          pointer.mask !== lastPointer.mask ||
          pointer.x !== lastPointer.x ||
          pointer.y !== lastPointer.y;
        lastPointer = pointer;
        return changed;
      }
      case MessageType.ClientCutText: {
        if (message.readInt32BE(4) >= 0) return true;
        const flags = message.readUInt32BE(8);
        return (flags & (CLIPBOARD_NOTIFY | CLIPBOARD_PROVIDE)) !== 0;
      }
      default:
        return false;
    }
  }

  /** Why the policy keeps this ClientCutText from the workspace, or null to forward it. */
  function clipboardRefusal(message: Buffer): ClipboardRefusal | null {
    const rule = options.clipboard.rule;
    if (rule === null) return null;
    const declared = message.readInt32BE(4);
    // Extended clipboard: only notify and provide carry or announce the person's clipboard.
    if (declared < 0 && (message.readUInt32BE(8) & (CLIPBOARD_NOTIFY | CLIPBOARD_PROVIDE)) === 0) return null;
    if (!rule.toWorkspace) return "clipboard_to_workspace_off";
    const bytes = declared < 0 ? -declared - 4 : declared;
    return bytes > rule.maxBytes ? "clipboard_too_large" : null;
  }

  function withoutExtendedMouseButtons(message: Buffer): Buffer {
    const count = message.readUInt16BE(2);
    const kept: number[] = [];
    for (let i = 0; i < count; i++) {
      const encoding = message.readInt32BE(4 + 4 * i);
      if (encoding !== PSEUDO_ENCODING_EXTENDED_MOUSE_BUTTONS) kept.push(encoding);
    }
    if (kept.length === count) return message;
    const rewritten = Buffer.alloc(4 + 4 * kept.length);
    rewritten.writeUInt8(MessageType.SetEncodings, 0);
    rewritten.writeUInt16BE(kept.length, 2);
    kept.forEach((encoding, i) => {
      rewritten.writeInt32BE(encoding, 4 + 4 * i);
    });
    return rewritten;
  }

  return {
    async handshake(io) {
      // The two halves share nothing until the browser's ClientInit, which the relay forwards
      // once both are done: each waits only on its own peer, so neither waits for the other's
      // round trips (under load those are the slow part of opening a desktop). A workspace that
      // refuses the gateway still closes the connection with its reason before any picture.
      await Promise.all([authenticateToServer(io, options.password), acceptClient(io)]);
    },

    fromClient(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const forward: Buffer[] = [];
      const pointers: PointerPosition[] = [];
      let input = false;
      let offset = 0;
      if (!clientInitSeen && pending.length > 0) {
        // ClientInit: one byte, the shared flag (a watcher always shares: the person stays on).
        forward.push(options.viewOnly === true ? Buffer.from([1]) : pending.subarray(0, 1));
        offset = 1;
        clientInitSeen = true;
      }
      while (offset < pending.length) {
        const rest = pending.subarray(offset);
        const length = messageLength(rest);
        if (length === null) break;
        let message = rest.subarray(0, length);
        if (options.viewOnly === true && ACTING_MESSAGES.has(message.readUInt8(0))) {
          offset += length;
          continue;
        }
        if (message.readUInt8(0) === MessageType.SetEncodings) message = withoutExtendedMouseButtons(message);
        if (isInput(message)) input = true;
        offset += length;
        if (message.readUInt8(0) === MessageType.ClientCutText) {
          const refusal = clipboardRefusal(message);
          if (refusal !== null) {
            options.clipboard.refused(refusal, Math.abs(message.readInt32BE(4)));
            continue;
          }
        }
        if (message.readUInt8(0) === MessageType.PointerEvent) {
          pointers.push({
            mask: message.readUInt8(1),
            x: message.readUInt16BE(2),
            y: message.readUInt16BE(4),
          });
        }
        forward.push(message);
      }
      pending = pending.subarray(offset);
      const result: ClientBytes = {
        forward: Buffer.concat(forward),
        input,
        ...(pointers.length > 0 ? { pointers } : {}),
      };
      return result;
    },
  };
}
