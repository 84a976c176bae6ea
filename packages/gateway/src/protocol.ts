import type { GatewayNotice, WorkspaceCloseReason } from "@neosc/core/connection";
import type { ByteStream } from "./byte-stream.ts";

/*
 * What the relay needs from a protocol (RFB today; terminals and web apps later): a handshake
 * that may speak to both sides before bytes flow, and a reader of the client's bytes that
 * enforces the protocol's message grammar and says which messages are a person's input. Server
 * bytes pass through unchanged. A recorder (issue 13) taps the same two points.
 */

export interface HandshakeIo {
  client: ByteStream;
  server: ByteStream;
  toClient(bytes: Buffer): void;
  toServer(bytes: Buffer): void;
}

export interface ClientBytes {
  /** Whole messages to forward to the server, unchanged, in order. */
  forward: Buffer;
  /** Whether any of them was a person's input (keys, pointer moves or clicks, clipboard). */
  input: boolean;
  /** Something the gateway itself tells the browser (a terminal's notice of a refused paste). */
  reply?: Buffer;
  /** The pointer positions among the forwarded messages (for the recorder; desktops only). */
  pointers?: PointerPosition[];
  /** Terminal sizes among the forwarded frames (for the recorder; terminals only). */
  resizes?: { cols: number; rows: number }[];
  /** The typed and pasted bytes forwarded (the recorder keeps them only if the policy says so). */
  typed?: Uint8Array[];
  /** Something worth a marker in the recording (a refused paste). */
  markers?: string[];
}

export interface PointerPosition {
  mask: number;
  x: number;
  y: number;
}

/** Why the `clipboard` policy refused a paste into the workspace (the audit entry's reason). */
export type ClipboardRefusal = "clipboard_to_workspace_off" | "clipboard_too_large";

/** The `clipboard` policy as the protocol readers apply it (null: no limits). */
export interface ClipboardGuard {
  rule: { toWorkspace: boolean; maxBytes: number } | null;
  refused(reason: ClipboardRefusal, bytes: number): void;
}

export interface ProtocolSession {
  /** Runs once both sides are connected; throws a ProtocolError or a WorkspaceError to refuse. */
  handshake(io: HandshakeIo): Promise<void>;
  /** Client bytes after the handshake (any split); throws a ProtocolError on a violation. */
  fromClient(chunk: Buffer): ClientBytes;
  /**
   * Server bytes after the handshake (any split), when the protocol reads them (a watched shell's
   * frames): what the browser gets, in order — output bytes (binary messages) and the gateway's
   * notices (text). Throws a WorkspaceError when the workspace breaks its grammar. Without it,
   * server bytes pass unchanged.
   */
  fromServer?(chunk: Buffer): (Buffer | GatewayNotice)[];
}

/** The client broke the protocol: close with 4008 (malformed) or 4009 (too large). */
export class ProtocolError extends Error {
  constructor(
    readonly kind: "malformed" | "too_large",
    message: string,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * The workspace side failed the handshake (refused, wrong password, went away). `reason` is the
 * close reason the browser gets with 4004 (`WorkspaceCloseReason`).
 */
export class WorkspaceError extends Error {
  override name = "WorkspaceError";
  constructor(
    message: string,
    readonly reason: WorkspaceCloseReason = "workspace_closed",
  ) {
    super(message);
  }
}
