import { type GatewayNotice, gatewaySubprotocols, parseGatewayNotice } from "@neosc/core/connection";
import { readApiError } from "../../lib/api-error.ts";
import type { trpc } from "../../lib/trpc.ts";
import { type CloseOutcome, closeOutcome, type EndContext, endedOutcome } from "./close-reason.ts";

/*
 * How every viewer (noVNC for desktops, xterm.js for terminals) stays connected to a session
 * through the gateway: a fresh single-use ticket (session.connect) for every attempt, the close
 * code read from the socket, and a reconnect after a drop as long as `session.active` still lists
 * the session. The viewer only attaches itself to each new socket.
 */

export type StartStep = "ticket" | "socket" | "handshake";
export type FinalOutcome = Exclude<CloseOutcome, { kind: "retry" }>;

export type ViewerState =
  /** Getting a ticket, opening the socket, then the protocol's start; `retry` says why when reconnecting. */
  | { phase: "starting"; step: StartStep; attempt: number; retry: string | null }
  | { phase: "connected" }
  | { phase: "closed"; outcome: FinalOutcome };

/** Reconnect backoff after a drop: quick first, then at most every 8 s. */
const RETRY_DELAYS_MS = [250, 1000, 2000, 4000, 8000];
/** After this many failed attempts in a row the viewer stops and offers a manual reconnect. */
const MAX_ATTEMPTS = 12;

export function gatewaySocketUrl(url: string, apiBaseUrl: string): string {
  const absolute = new URL(url, apiBaseUrl || window.location.href);
  if (absolute.protocol === "http:") absolute.protocol = "ws:";
  if (absolute.protocol === "https:") absolute.protocol = "wss:";
  return absolute.toString();
}

const sleep = (ms: number) => new Promise((resolve) => window.setTimeout(resolve, ms));

export interface ConnectionLoopOptions {
  sessionId: string;
  workspaceId: string;
  apiBaseUrl: string;
  utils: ReturnType<typeof trpc.useUtils>;
  /** An admin watching (session.watch): view-only tickets instead of the owner's. */
  watch?: boolean;
  /** Read at each close, so the words use the latest policies. */
  endContext: () => EndContext;
  setState: (state: ViewerState) => void;
  /**
   * Attaches the viewer to a new socket (already opening); it calls `connected` once the
   * workspace is usable. Returns what closes it when the viewer goes away.
   */
  attach: (socket: WebSocket, connected: () => void) => () => void;
  /** Every gateway notice, in order with the workspace's bytes (a watched shell's size). */
  onNotice?: (notice: GatewayNotice) => void;
}

/** Runs until the session ends, the connection is refused for good, or the returned stop is called. */
export function runConnectionLoop(options: ConnectionLoopOptions): () => void {
  const { sessionId, workspaceId, utils, setState } = options;
  let stopped = false;
  let detach: (() => void) | null = null;

  /** Why it is over when the session is no longer active (the history has the reason). */
  async function endedNow(): Promise<FinalOutcome | null> {
    // Straight from the server: the query cache may still hold the session as active.
    const active = await utils.client.session.active.query();
    if (active.some((candidate) => candidate.id === sessionId)) return null;
    const history = await utils.client.session.list.query({ status: "ended", workspaceId, limit: 50 });
    const ended = history.items.find((candidate) => candidate.id === sessionId);
    return endedOutcome(ended?.endReason ?? null, options.endContext()) as FinalOutcome;
  }

  /** One attempt; resolves with the outcome of its close. */
  async function attempt(n: number, retry: string | null): Promise<CloseOutcome> {
    setState({ phase: "starting", step: "ticket", attempt: n, retry });
    const ticket =
      options.watch === true
        ? await utils.client.session.watch.mutate({ sessionId })
        : await utils.client.session.connect.mutate({ sessionId });
    if (stopped) return { kind: "retry", why: "stopped" };
    setState({ phase: "starting", step: "socket", attempt: n, retry });
    const socket = new WebSocket(
      gatewaySocketUrl(ticket.url, options.apiBaseUrl),
      gatewaySubprotocols(ticket.ticket),
    );
    socket.binaryType = "arraybuffer";
    // Registered before the viewer's own listener (noVNC's onmessage, xterm.js's), so the
    // gateway's notices (text messages) never reach it as workspace bytes.
    socket.addEventListener("message", (event: MessageEvent) => {
      if (typeof event.data !== "string") return;
      event.stopImmediatePropagation();
      const notice = parseGatewayNotice(event.data);
      // An admin's watch opened or closed: the notice above the viewer reads the session's lease.
      if (notice?.type === "watch") void utils.session.active.invalidate();
      if (notice !== null) options.onNotice?.(notice);
    });
    const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve));
    socket.addEventListener("open", () => {
      if (!stopped) setState({ phase: "starting", step: "handshake", attempt: n, retry });
    });
    detach = options.attach(socket, () => {
      if (!stopped) setState({ phase: "connected" });
    });
    const close = await closed;
    detach = null;
    return closeOutcome(close.code, close.reason, options.endContext());
  }

  async function run() {
    let failures = 0;
    let retry: string | null = null;
    while (!stopped) {
      let outcome: CloseOutcome;
      try {
        outcome = await attempt(failures + 1, retry);
      } catch (error) {
        // A session that cannot be watched (an ssh terminal) stays so: say why instead of retrying.
        const refusal = readApiError(error);
        if (options.watch === true && refusal.domain?.reason === "not_connectable") {
          setState({
            phase: "closed",
            outcome: { kind: "refused", title: "This session cannot be watched", detail: refusal.message },
          });
          return;
        }
        // session.connect refused (the session ended, or the API is unreachable).
        outcome = { kind: "retry", why: "The portal could not get a connection ticket" };
      }
      if (stopped) return;
      if (outcome.kind !== "retry") {
        setState({ phase: "closed", outcome });
        return;
      }
      const ended = await endedNow().catch(() => null);
      if (stopped) return;
      if (ended) {
        setState({ phase: "closed", outcome: ended });
        return;
      }
      failures += 1;
      if (failures >= MAX_ATTEMPTS) {
        setState({
          phase: "closed",
          outcome: {
            kind: "refused",
            title: "Cannot reach the workspace",
            detail: `${outcome.why}. Try again.`,
          },
        });
        return;
      }
      retry = outcome.why;
      await sleep(RETRY_DELAYS_MS[Math.min(failures - 1, RETRY_DELAYS_MS.length - 1)] ?? 8000);
    }
  }

  void run();
  return () => {
    stopped = true;
    detach?.();
    detach = null;
  };
}
