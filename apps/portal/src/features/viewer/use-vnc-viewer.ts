import { gatewaySubprotocols } from "@neosc/core/connection";
import type { WorkspaceSession } from "@neosc/core/session";
import RFB from "@novnc/novnc";
import { type RefObject, useCallback, useEffect, useRef, useState } from "react";
import { trpc } from "../../lib/trpc.ts";
import { type CloseOutcome, closeOutcome, type EndContext, endedOutcome } from "./close-reason.ts";

export type StartStep = "ticket" | "socket" | "handshake";
export type FinalOutcome = Exclude<CloseOutcome, { kind: "retry" }>;

export type ViewerState =
  /** Getting a ticket, opening the socket, then the RFB handshake; `retry` says why when reconnecting. */
  | { phase: "starting"; step: StartStep; attempt: number; retry: string | null }
  | { phase: "connected" }
  | { phase: "closed"; outcome: FinalOutcome };

/** Reconnect backoff after a drop: quick first, then at most every 8 s. */
const RETRY_DELAYS_MS = [250, 1000, 2000, 4000, 8000];
/** After this many failed attempts in a row the viewer stops and offers a manual reconnect. */
const MAX_ATTEMPTS = 12;
/** Shift down + up: a key event the workspace ignores, sent when the person answers "still there?". */
const SHIFT_KEYSYM = 0xffe1;

export interface VncViewerOptions {
  session: Pick<WorkspaceSession, "id" | "workspaceId">;
  screen: RefObject<HTMLDivElement | null>;
  /** Base for a relative gateway URL (the API's origin). */
  apiBaseUrl: string;
  endContext: EndContext;
}

export function gatewaySocketUrl(url: string, apiBaseUrl: string): string {
  const absolute = new URL(url, apiBaseUrl || window.location.href);
  if (absolute.protocol === "http:") absolute.protocol = "ws:";
  if (absolute.protocol === "https:") absolute.protocol = "wss:";
  return absolute.toString();
}

const sleep = (ms: number) => new Promise((resolve) => window.setTimeout(resolve, ms));

/**
 * One noVNC connection to a session through the gateway, kept up while the session is active:
 * a fresh ticket (session.connect) for every attempt, the close code read from the socket, and a
 * reconnect after a drop as long as `session.active` still lists the session.
 */
export function useVncViewer({ session, screen, apiBaseUrl, endContext }: VncViewerOptions) {
  const utils = trpc.useUtils();
  const [state, setState] = useState<ViewerState>({
    phase: "starting",
    step: "ticket",
    attempt: 1,
    retry: null,
  });
  const [generation, setGeneration] = useState(0);
  const rfbRef = useRef<RFB | null>(null);
  const context = useRef(endContext);
  context.current = endContext;
  const sessionId = session.id;
  const workspaceId = session.workspaceId;

  useEffect(() => {
    const target = screen.current;
    if (!target) return;
    let stopped = false;

    /** Why it is over when the session is no longer active (the history has the reason). */
    async function endedNow(): Promise<FinalOutcome | null> {
      const active = await utils.session.active.fetch();
      if (active.some((candidate) => candidate.id === sessionId)) return null;
      const history = await utils.client.session.list.query({ status: "ended", workspaceId, limit: 50 });
      const ended = history.items.find((candidate) => candidate.id === sessionId);
      return endedOutcome(ended?.endReason ?? null, context.current) as FinalOutcome;
    }

    /** One attempt; resolves with the outcome of its close. */
    async function attempt(n: number, retry: string | null): Promise<CloseOutcome> {
      setState({ phase: "starting", step: "ticket", attempt: n, retry });
      const ticket = await utils.client.session.connect.mutate({ sessionId });
      if (stopped || !target) return { kind: "retry", why: "stopped" };
      setState({ phase: "starting", step: "socket", attempt: n, retry });
      const socket = new WebSocket(
        gatewaySocketUrl(ticket.url, apiBaseUrl),
        gatewaySubprotocols(ticket.ticket),
      );
      socket.binaryType = "arraybuffer";
      const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve));
      socket.addEventListener("open", () => {
        if (!stopped) setState({ phase: "starting", step: "handshake", attempt: n, retry });
      });
      const rfb = new RFB(target, socket, { shared: true });
      rfbRef.current = rfb;
      rfb.scaleViewport = true;
      rfb.clipViewport = false;
      rfb.resizeSession = false;
      rfb.background = "rgb(10, 10, 10)";
      rfb.addEventListener("connect", () => {
        if (stopped) return;
        setState({ phase: "connected" });
        rfb.focus();
      });
      // The workspace's copy reaches the browser's clipboard (Xvnc's -SendCutText, set by the
      // provisioner from the workspace, decides whether it is sent at all).
      rfb.addEventListener("clipboard", (event) => {
        const text = (event as CustomEvent<{ text: string }>).detail.text;
        // Needs the page focused and the permission; without it the copy stays in the workspace.
        void navigator.clipboard?.writeText(text).catch(() => undefined);
      });
      const close = await closed;
      if (rfbRef.current === rfb) rfbRef.current = null;
      return closeOutcome(close.code, close.reason, context.current);
    }

    async function run() {
      let failures = 0;
      let retry: string | null = null;
      while (!stopped) {
        let outcome: CloseOutcome;
        try {
          outcome = await attempt(failures + 1, retry);
        } catch {
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
      rfbRef.current?.disconnect();
      rfbRef.current = null;
    };
  }, [sessionId, workspaceId, apiBaseUrl, screen, utils, generation]);

  /** Answers "still there?": real input on the connection, so the gateway counts it. */
  const keepWorking = useCallback(() => {
    const rfb = rfbRef.current;
    if (!rfb) return;
    rfb.sendKey(SHIFT_KEYSYM, "ShiftLeft", true);
    rfb.sendKey(SHIFT_KEYSYM, "ShiftLeft", false);
    rfb.focus();
  }, []);

  /** The browser's clipboard becomes the workspace's (ClientCutText); keyboard focus goes back to it. */
  const pasteToWorkspace = useCallback((text: string) => {
    rfbRef.current?.clipboardPasteFrom(text);
    rfbRef.current?.focus();
  }, []);
  const reconnect = useCallback(() => setGeneration((value) => value + 1), []);

  return { state, keepWorking, pasteToWorkspace, reconnect };
}
