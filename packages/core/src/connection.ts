import { z } from "zod";
import { IdSchema } from "./common.ts";
import { TERMINAL_MAX_COLS, TERMINAL_MAX_ROWS } from "./terminal.ts";

/*
 * The data-plane contract between the portal's viewers, `session.connect` and the gateway
 * (ARCHITECTURE §9): how a browser gets a connection ticket, how it presents it, and the close
 * codes the gateway ends a connection with.
 */

/** The subprotocol the gateway speaks; the server selects it. */
export const GATEWAY_SUBPROTOCOL = "neosc.v1";
/** The ticket travels as a second offered subprotocol, never in the URL (URLs end up in logs). */
export const TICKET_SUBPROTOCOL_PREFIX = "neosc.ticket.";
/** Where the gateway is mounted on the API's HTTP server in the embedded default. */
export const GATEWAY_PATH = "/gateway/connect";
/** A ticket is good for one connection within this many seconds. */
export const TICKET_TTL_SECONDS = 60;

/** The offered subprotocols for a ticket: `new WebSocket(url, gatewaySubprotocols(ticket))`. */
export function gatewaySubprotocols(ticket: string): [string, string] {
  return [GATEWAY_SUBPROTOCOL, `${TICKET_SUBPROTOCOL_PREFIX}${ticket}`];
}

/**
 * WebSocket close codes (4000–4999 is the private range of RFC 6455). The close reason text of
 * 4000 is the SessionEndReason; for the others it is a short machine-readable word.
 */
export const CLOSE_CODES = {
  /** The session ended; reason = its SessionEndReason (`admin_disconnected`, `idle_timeout`, …). */
  sessionEnded: 4000,
  /** The ticket is missing, unknown, expired or was already used. */
  ticketInvalid: 4001,
  /** The page's Origin or the Pomerium identity does not match. */
  refused: 4003,
  /** The workspace cannot be reached (not started yet, or its process is gone). */
  workspaceUnavailable: 4004,
  /** The client sent a message the protocol does not allow (unknown type, bad length). */
  protocolViolation: 4008,
  /** A frame or message larger than the gateway accepts. */
  tooLarge: 4009,
  /** The session already has as many open connections as the gateway allows. */
  tooManyConnections: 4029,
} as const;
export type CloseCodeName = keyof typeof CLOSE_CODES;
export type CloseCode = (typeof CLOSE_CODES)[CloseCodeName];

/**
 * Close reasons of 4004: the workspace closed or could not be reached, or it refused the
 * gateway — an ssh host that presented another key than the pinned one, or refused NeoSC's
 * credential. The viewer says which.
 */
export const WORKSPACE_CLOSE_REASONS = [
  "workspace_closed",
  "host_key_mismatch",
  "workspace_auth_failed",
] as const;
export type WorkspaceCloseReason = (typeof WORKSPACE_CLOSE_REASONS)[number];

export const ConnectSessionInputSchema = z.strictObject({ sessionId: IdSchema });
export type ConnectSessionInput = z.infer<typeof ConnectSessionInputSchema>;

export const ConnectProtocolSchema = z.enum(["rfb", "ssh", "shell", "http"]);
export type ConnectProtocol = z.infer<typeof ConnectProtocolSchema>;

/** session.connect: a single-use ticket for one WebSocket to the gateway. */
export const ConnectSessionOutputSchema = z.object({
  ticket: z.string(),
  /** The gateway's WebSocket URL; relative (`/gateway/connect`) when it is served by this origin. */
  url: z.string(),
  protocol: ConnectProtocolSchema,
  expiresAt: z.date(),
});
export type ConnectSessionOutput = z.infer<typeof ConnectSessionOutputSchema>;

/**
 * What the gateway tells a person's viewer on its own connection, outside the workspace's bytes:
 * a text WebSocket message holding this JSON (the workspace's bytes are always binary messages,
 * so a viewer sets text messages apart before noVNC or xterm.js reads the socket). `watch`: an
 * admin's watch of this session opened (`watched: true`) or the last one closed; the viewer
 * re-reads the session (`session.active`), whose `watchedUntil` is the lease. `terminal_size`
 * (to an admin watching a local shell only): the shell's pty is now `cols`×`rows`, sent when the
 * watch attaches (before any output) and at each change after, in order with the output, so the
 * watcher's terminal draws at the person's size.
 */
export const GatewayNoticeSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("watch"), watched: z.boolean() }),
  z.object({
    type: z.literal("terminal_size"),
    cols: z.number().int().min(1).max(TERMINAL_MAX_COLS),
    rows: z.number().int().min(1).max(TERMINAL_MAX_ROWS),
  }),
]);
export type GatewayNotice = z.infer<typeof GatewayNoticeSchema>;

/** A text message from the gateway as a notice; null for anything else (ignored, never fatal). */
export function parseGatewayNotice(text: string): GatewayNotice | null {
  try {
    const parsed = GatewayNoticeSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
