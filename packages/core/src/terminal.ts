/*
 * The terminal protocol on a gateway connection (ARCHITECTURE §9), shared by the portal's
 * xterm.js viewer, the gateway and the local shell host, so all three read one definition.
 *
 * Browser → gateway: binary WebSocket messages holding a stream of frames (a message may carry
 * several frames or part of one, so nothing depends on how messages are split or queued):
 *   input   0x00, length u32 (big-endian), that many bytes typed or pasted (xterm.js `onData`
 *           as UTF-8; `onBinary` mouse reports as their raw bytes, so input is bytes, not text)
 *   resize  0x01, cols u16, rows u16
 *   paste   0x02, length u32, that many bytes pasted (the `clipboard` policy applies to these;
 *           the gateway forwards an allowed paste to the workspace as an input frame)
 * Anything else — another type, an empty input, a size outside the bounds — is a violation
 * (close 4008); an input longer than TERMINAL_MAX_INPUT_BYTES or a paste longer than
 * TERMINAL_MAX_PASTE_BYTES is refused as too large (4009).
 * Text messages are violations too.
 *
 * Gateway → browser: binary messages of terminal output, unchanged bytes (and, as on every
 * gateway connection, the gateway's own notices as text messages: GatewayNotice in connection.ts).
 *
 * The gateway forwards validated frames unchanged to a local shell host, which reads the same
 * grammar from its unix socket; for ssh it applies them to the channel itself.
 *
 * Gateway → shell host only (never from a browser: readTerminalFrames refuses it), for an admin
 * watching the shell: `watch 0x03, SHELL_WATCH_NONCE_BYTES random bytes`. The host then writes
 * that connection the nonce and from there on frames instead of raw output: `size 0x01, cols u16,
 * rows u16` (the pty's size: first, and at each change) and `output 0x00, length u32, bytes` (the
 * scrollback again, then live output; at most SHELL_OUTPUT_FRAME_MAX_BYTES each). The gateway
 * drops what came before the nonce (the raw copy of the same scrollback); the shell's own output
 * cannot contain the nonce, so it cannot forge a frame.
 */

export const TerminalFrameType = { input: 0x00, resize: 0x01, paste: 0x02 } as const;

/** Largest single input frame: a generous paste, far below the gateway's frame limit. */
export const TERMINAL_MAX_INPUT_BYTES = 64 * 1024;
/** Largest paste in one frame (the `clipboard` policy may allow less). */
export const TERMINAL_MAX_PASTE_BYTES = 512 * 1024;
export const TERMINAL_MAX_COLS = 1000;
export const TERMINAL_MAX_ROWS = 500;
/** The watch frame's type (gateway → shell host) and its nonce's length. */
export const SHELL_WATCH_FRAME = 0x03;
export const SHELL_WATCH_NONCE_BYTES = 16;
/** Largest output frame a shell host writes a watching connection (its read size). */
export const SHELL_OUTPUT_FRAME_MAX_BYTES = 64 * 1024;

const INPUT_HEADER = 5;
const RESIZE_LENGTH = 5;

export type TerminalFrame =
  | { type: "input"; data: Uint8Array }
  | { type: "paste"; data: Uint8Array }
  | { type: "resize"; cols: number; rows: number };

/** The stream broke the grammar: `malformed` closes with 4008, `too_large` with 4009. */
export class TerminalFrameError extends Error {
  constructor(
    readonly kind: "malformed" | "too_large",
    message: string,
  ) {
    super(message);
    this.name = "TerminalFrameError";
  }
}

const encoder = new TextEncoder();

/** An input frame; strings are sent as UTF-8. Longer input is split into several frames. */
export function encodeTerminalInput(data: string | Uint8Array): Uint8Array {
  return encodeData(TerminalFrameType.input, data, TERMINAL_MAX_INPUT_BYTES);
}

/** A paste (one frame; the reader refuses more than TERMINAL_MAX_PASTE_BYTES). */
export function encodeTerminalPaste(data: string | Uint8Array): Uint8Array {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const frame = new Uint8Array(INPUT_HEADER + bytes.length);
  frame[0] = TerminalFrameType.paste;
  new DataView(frame.buffer).setUint32(1, bytes.length);
  frame.set(bytes, INPUT_HEADER);
  return frame;
}

function encodeData(type: number, data: string | Uint8Array, max: number): Uint8Array {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += max) {
    const part = bytes.subarray(offset, offset + max);
    const frame = new Uint8Array(INPUT_HEADER + part.length);
    frame[0] = type;
    new DataView(frame.buffer).setUint32(1, part.length);
    frame.set(part, INPUT_HEADER);
    frames.push(frame);
  }
  if (frames.length === 1) return frames[0] as Uint8Array;
  const all = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
  let at = 0;
  for (const frame of frames) {
    all.set(frame, at);
    at += frame.length;
  }
  return all;
}

export function encodeTerminalResize(cols: number, rows: number): Uint8Array {
  const frame = new Uint8Array(RESIZE_LENGTH);
  const view = new DataView(frame.buffer);
  frame[0] = TerminalFrameType.resize;
  view.setUint16(1, Math.min(Math.max(1, Math.floor(cols)), TERMINAL_MAX_COLS));
  view.setUint16(3, Math.min(Math.max(1, Math.floor(rows)), TERMINAL_MAX_ROWS));
  return frame;
}

/** What the gateway sends a shell host to watch its shell (see the grammar above). */
export function encodeShellWatch(nonce: Uint8Array): Uint8Array {
  if (nonce.length !== SHELL_WATCH_NONCE_BYTES)
    throw new Error(`a watch nonce is ${SHELL_WATCH_NONCE_BYTES} bytes`);
  const frame = new Uint8Array(1 + SHELL_WATCH_NONCE_BYTES);
  frame[0] = SHELL_WATCH_FRAME;
  frame.set(nonce, 1);
  return frame;
}

/**
 * Reads the whole frames at the start of `bytes`. `consumed` says how many bytes they took; the
 * rest is the start of a frame still arriving. Throws TerminalFrameError on a violation.
 */
export function readTerminalFrames(bytes: Uint8Array): { frames: TerminalFrame[]; consumed: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: TerminalFrame[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const type = bytes[offset];
    if (type === TerminalFrameType.input || type === TerminalFrameType.paste) {
      const kind = type === TerminalFrameType.input ? "input" : "paste";
      if (bytes.length - offset < INPUT_HEADER) break;
      const length = view.getUint32(offset + 1);
      const max = kind === "input" ? TERMINAL_MAX_INPUT_BYTES : TERMINAL_MAX_PASTE_BYTES;
      if (length > max) throw new TerminalFrameError("too_large", `terminal ${kind} of ${length} bytes`);
      if (length === 0) throw new TerminalFrameError("malformed", `empty terminal ${kind}`);
      if (bytes.length - offset < INPUT_HEADER + length) break;
      frames.push({
        type: kind,
        data: bytes.subarray(offset + INPUT_HEADER, offset + INPUT_HEADER + length),
      });
      offset += INPUT_HEADER + length;
    } else if (type === TerminalFrameType.resize) {
      if (bytes.length - offset < RESIZE_LENGTH) break;
      const cols = view.getUint16(offset + 1);
      const rows = view.getUint16(offset + 3);
      if (cols < 1 || cols > TERMINAL_MAX_COLS || rows < 1 || rows > TERMINAL_MAX_ROWS) {
        throw new TerminalFrameError("malformed", `terminal size ${cols}×${rows}`);
      }
      frames.push({ type: "resize", cols, rows });
      offset += RESIZE_LENGTH;
    } else {
      throw new TerminalFrameError("malformed", `unknown terminal frame type ${type}`);
    }
  }
  return { frames, consumed: offset };
}
