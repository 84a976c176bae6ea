import type { PolicySettings } from "@neosc/core/policy";
import type { WorkspaceSession } from "@neosc/core/session";
import {
  encodeTerminalInput,
  encodeTerminalPaste,
  encodeTerminalResize,
  TERMINAL_MAX_PASTE_BYTES,
} from "@neosc/core/terminal";
import { FitAddon } from "@xterm/addon-fit";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { type RefObject, useCallback, useEffect, useRef, useState } from "react";
import { trpc } from "../../lib/trpc.ts";
import type { EndContext } from "../viewer/close-reason.ts";
import { runConnectionLoop, type ViewerState } from "../viewer/connection-loop.ts";

/** Lines kept above the screen in the browser (the workspace's shell host keeps its own replay). */
const SCROLLBACK_LINES = 5000;
/** A watcher's font shrinks this far to fit the person's terminal in the page; then it scrolls. */
const FONT_SIZE = 14;
const MIN_WATCH_FONT_SIZE = 8;

/** The person's terminal size, as a watcher's gateway reported it. */
export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface TerminalViewerOptions {
  session: Pick<WorkspaceSession, "id" | "workspaceId">;
  screen: RefObject<HTMLDivElement | null>;
  /** Base for a relative gateway URL (the API's origin). */
  apiBaseUrl: string;
  endContext: EndContext;
  /** The `clipboard` policy (null: no limits); the gateway enforces pastes, the viewer copies. */
  clipboard: PolicySettings<"clipboard"> | null;
  /**
   * An admin watching someone's shell (session.watch): output only — no typing, paste or size is
   * sent (the gateway drops them regardless).
   */
  watch?: boolean;
}

function latin1Bytes(data: string): Uint8Array {
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
  return bytes;
}

/**
 * An xterm.js terminal on a session through the gateway (`@neosc/core/terminal` frames), kept up
 * while the session is active. The terminal fills its element and sends its size on every
 * connection and every resize; a reconnect starts from a clean screen, because the workspace
 * replays its recent output (a local shell) or opens a fresh shell (ssh). A watcher's terminal
 * sends nothing: it shows the shell's replayed output, then the live output, at the person's
 * size (the gateway's `terminal_size` notices), its font shrunk to fit the page down to
 * MIN_WATCH_FONT_SIZE, and scrolls inside its element beyond that.
 */
export function useTerminalViewer({
  session,
  screen,
  apiBaseUrl,
  endContext,
  clipboard,
  watch,
}: TerminalViewerOptions) {
  const utils = trpc.useUtils();
  const [state, setState] = useState<ViewerState>({
    phase: "starting",
    step: "ticket",
    attempt: 1,
    retry: null,
  });
  const [generation, setGeneration] = useState(0);
  const [watchedSize, setWatchedSize] = useState<TerminalSize | null>(null);
  const terminalRef = useRef<Terminal | null>(null);
  const socketRef = useRef<WebSocket | null>(null);
  const context = useRef(endContext);
  context.current = endContext;
  const clipboardRef = useRef(clipboard);
  clipboardRef.current = clipboard;
  const pasteRef = useRef<(text: string) => void>(() => {});
  const sessionId = session.id;
  const workspaceId = session.workspaceId;

  useEffect(() => {
    const target = screen.current;
    if (!target) return;
    const viewOnly = watch === true;
    const terminal = new Terminal({
      scrollback: SCROLLBACK_LINES,
      cursorBlink: !viewOnly,
      disableStdin: viewOnly,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, monospace',
      fontSize: FONT_SIZE,
      theme: { background: "#0a0a0a" },
    });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.loadAddon(new WebLinksAddon());
    terminal.open(target);
    terminalRef.current = terminal;
    /** The person's size while watching (until the first notice, the watcher fits its element). */
    let followed: TerminalSize | null = null;
    /** Sizes the watcher's terminal to the person's, with the largest font that fits the element. */
    const follow = (size: TerminalSize) => {
      if (terminal.cols !== size.cols || terminal.rows !== size.rows) terminal.resize(size.cols, size.rows);
      const drawn = target.querySelector<HTMLElement>(".xterm-screen");
      if (drawn === null || drawn.offsetWidth === 0 || drawn.offsetHeight === 0) return;
      const font = terminal.options.fontSize ?? FONT_SIZE;
      const scale = Math.min(
        target.clientWidth / drawn.offsetWidth,
        target.clientHeight / drawn.offsetHeight,
      );
      const next = Math.max(MIN_WATCH_FONT_SIZE, Math.min(FONT_SIZE, Math.floor(font * scale * 2) / 2));
      if (next !== font) terminal.options.fontSize = next;
    };
    const refit = () => {
      if (followed !== null) return follow(followed);
      try {
        fit.fit();
      } catch {
        // Not laid out yet (hidden): the next resize fits it.
      }
    };
    refit();
    // The cell size is measured with the font in use: measure again once web fonts are in.
    void document.fonts?.ready.then(refit);
    const observer = new ResizeObserver(refit);
    observer.observe(target);

    const send = (bytes: Uint8Array) => {
      const socket = socketRef.current;
      if (!viewOnly && socket?.readyState === WebSocket.OPEN) socket.send(bytes);
    };
    /*
     * Pastes travel as paste frames, so the gateway can apply the clipboard policy to them (and
     * say so in the terminal when it refuses one); typing stays input frames.
     */
    const paste = (text: string) => {
      const prepared = text.replace(/\r?\n/g, "\r");
      const bracketed = terminal.modes.bracketedPasteMode ? `\x1b[200~${prepared}\x1b[201~` : prepared;
      const bytes = new TextEncoder().encode(bracketed);
      if (bytes.length > TERMINAL_MAX_PASTE_BYTES) {
        terminal.write("\r\n\x1b[33m[NeoSC] That paste is too large to send.\x1b[0m\r\n");
        return;
      }
      send(encodeTerminalPaste(bytes));
    };
    pasteRef.current = paste;
    const onPaste = (event: ClipboardEvent) => {
      event.preventDefault();
      event.stopPropagation();
      const text = event.clipboardData?.getData("text/plain") ?? "";
      if (text !== "" && !viewOnly) paste(text);
    };
    // Copying a selection out of the workspace, unless the policy keeps it in.
    const onCopy = (event: ClipboardEvent) => {
      if (clipboardRef.current?.fromWorkspace !== false) return;
      event.preventDefault();
      event.stopPropagation();
      event.clipboardData?.setData("text/plain", "");
    };
    target.addEventListener("paste", onPaste, true);
    target.addEventListener("copy", onCopy, true);
    const subscriptions = [
      terminal.onData((data) => send(encodeTerminalInput(data))),
      // Mouse reports in X10 mode arrive as a binary string: each character is one byte.
      terminal.onBinary((data) => send(latin1Bytes(data))),
      terminal.onResize(({ cols, rows }) => send(encodeTerminalResize(cols, rows))),
    ];

    const stop = runConnectionLoop({
      sessionId,
      workspaceId,
      apiBaseUrl,
      utils,
      watch: viewOnly,
      endContext: () => context.current,
      setState,
      onNotice(notice) {
        if (!viewOnly || notice.type !== "terminal_size") return;
        followed = { cols: notice.cols, rows: notice.rows };
        setWatchedSize(followed);
        follow(followed);
      },
      attach(socket, connected) {
        socketRef.current = socket;
        socket.addEventListener("open", () => {
          terminal.reset();
          refit();
          send(encodeTerminalResize(terminal.cols, terminal.rows));
          connected();
          terminal.focus();
        });
        socket.addEventListener("message", (event) => {
          if (event.data instanceof ArrayBuffer) terminal.write(new Uint8Array(event.data));
        });
        socket.addEventListener("close", () => {
          if (socketRef.current === socket) socketRef.current = null;
        });
        return () => socket.close();
      },
    });

    return () => {
      stop();
      observer.disconnect();
      target.removeEventListener("paste", onPaste, true);
      target.removeEventListener("copy", onCopy, true);
      for (const subscription of subscriptions) subscription.dispose();
      terminal.dispose();
      terminalRef.current = null;
      socketRef.current = null;
    };
  }, [sessionId, workspaceId, apiBaseUrl, screen, utils, generation, watch]);

  /** Answers "still there?": a resize to the same size is input the gateway counts and the shell ignores. */
  const keepWorking = useCallback(() => {
    const terminal = terminalRef.current;
    const socket = socketRef.current;
    if (!terminal || socket?.readyState !== WebSocket.OPEN) return;
    socket.send(encodeTerminalResize(terminal.cols, terminal.rows));
    terminal.focus();
  }, []);

  /** Text from the browser's clipboard, as a paste (bracketed when the shell asks for it). */
  const pasteToWorkspace = useCallback((text: string) => {
    pasteRef.current(text);
    terminalRef.current?.focus();
  }, []);
  const reconnect = useCallback(() => setGeneration((value) => value + 1), []);

  return { state, keepWorking, pasteToWorkspace, reconnect, watchedSize };
}
