import type { PolicySettings } from "@neosc/core/policy";
import type { WorkspaceSession } from "@neosc/core/session";
import RFB from "@novnc/novnc";
import { type RefObject, useCallback, useEffect, useRef, useState } from "react";
import { trpc } from "../../lib/trpc.ts";
import type { EndContext } from "./close-reason.ts";
import { runConnectionLoop, type ViewerState } from "./connection-loop.ts";

/** Shift down + up: a key event the workspace ignores, sent when the person answers "still there?". */
const SHIFT_KEYSYM = 0xffe1;

export interface VncViewerOptions {
  session: Pick<WorkspaceSession, "id" | "workspaceId">;
  screen: RefObject<HTMLDivElement | null>;
  /** Base for a relative gateway URL (the API's origin). */
  apiBaseUrl: string;
  endContext: EndContext;
  /** The `clipboard` policy (null: no limits); the gateway enforces pastes, the viewer copies. */
  clipboard: PolicySettings<"clipboard"> | null;
  /** An admin watching someone's session: view only (the gateway drops input regardless). */
  watch?: boolean;
}

/** One noVNC connection to a session through the gateway, kept up while the session is active. */
export function useVncViewer({
  session,
  screen,
  apiBaseUrl,
  endContext,
  clipboard,
  watch,
}: VncViewerOptions) {
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
  const clipboardRef = useRef(clipboard);
  clipboardRef.current = clipboard;
  const sessionId = session.id;
  const workspaceId = session.workspaceId;

  useEffect(() => {
    const target = screen.current;
    if (!target) return;
    return runConnectionLoop({
      sessionId,
      workspaceId,
      apiBaseUrl,
      utils,
      watch: watch === true,
      endContext: () => context.current,
      setState,
      attach(socket, connected) {
        const rfb = new RFB(target, socket, { shared: true });
        rfbRef.current = rfb;
        rfb.viewOnly = watch === true;
        rfb.scaleViewport = true;
        rfb.clipViewport = false;
        rfb.resizeSession = false;
        rfb.background = "rgb(10, 10, 10)";
        rfb.addEventListener("connect", () => {
          connected();
          rfb.focus();
        });
        // The workspace's copy reaches the browser's clipboard (Xvnc's -SendCutText, set by the
        // provisioner from the workspace, decides whether it is sent at all).
        rfb.addEventListener("clipboard", (event) => {
          if (clipboardRef.current?.fromWorkspace === false) return;
          const text = (event as CustomEvent<{ text: string }>).detail.text;
          // Needs the page focused and the permission; without it the copy stays in the workspace.
          void navigator.clipboard?.writeText(text).catch(() => undefined);
        });
        socket.addEventListener("close", () => {
          if (rfbRef.current === rfb) rfbRef.current = null;
        });
        return () => {
          rfb.disconnect();
          if (rfbRef.current === rfb) rfbRef.current = null;
        };
      },
    });
  }, [sessionId, workspaceId, apiBaseUrl, screen, utils, generation, watch]);

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
