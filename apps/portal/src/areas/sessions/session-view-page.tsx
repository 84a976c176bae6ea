import { clipboardRule, type PolicySettings } from "@neosc/core/policy";
import type { WorkspaceSession } from "@neosc/core/session";
import { ClipboardPaste, Eye, Maximize, MonitorOff, Unplug } from "lucide-react";
import { type RefObject, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useMe } from "../../app/me-context.tsx";
import { useRuntimeConfig } from "../../app/runtime-config.tsx";
import { Button, buttonClass } from "../../components/ui/button.tsx";
import { Badge, EmptyState, ErrorState, PageLoading } from "../../components/ui/feedback.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
import { endReasonDetail, endReasonLabel } from "../../features/sessions/end-reason.ts";
import { SessionHeading } from "../../features/sessions/session-heading.tsx";
import { timeLeft } from "../../features/sessions/time-left.ts";
import { useTerminalViewer } from "../../features/terminal/use-terminal-viewer.ts";
import type { EndContext } from "../../features/viewer/close-reason.ts";
import { useVncViewer } from "../../features/viewer/use-vnc-viewer.ts";
import { ViewerOverlay, WarningBanner } from "../../features/viewer/viewer-overlay.tsx";
import { sessionWarning } from "../../features/viewer/warnings.ts";
import { trpc } from "../../lib/trpc.ts";
import { useNow } from "../../lib/use-now.ts";
import { DisconnectDialog } from "./disconnect-dialog.tsx";
import { WebAppView } from "./web-app-view.tsx";

/**
 * While the viewer is open the deadlines are re-read this often (the gateway moves idleEndsAt on
 * input). Whether an admin is watching comes sooner: the gateway tells the viewer's connection
 * when a watch opens or closes (within about 1 s) and the viewer re-reads the session then; this
 * poll only renews the lease it shows (a watch whose gateway died runs out within 45 s).
 */
const ACTIVE_REFRESH_MS = 15_000;
/**
 * A framed web app has no socket of the portal's that the gateway could close with a reason, so
 * its page asks this often whether the session still runs (the end shows within about 3 s).
 */
const WEB_APP_REFRESH_MS = 2_000;

/**
 * Where a session opens (`/workspace/<sessionId>`): the noVNC viewer for desktops and apps, the
 * xterm.js terminal for terminals, a frame of the session's own origin for web apps, connected through the gateway with a single-use ticket, with
 * the session's deadlines and its end in words.
 * Leaving the page ("Disconnect") closes only the viewer; "End session" ends the session.
 */
export function SessionViewPage() {
  const { sessionId } = useParams();
  const me = useMe();
  const active = trpc.session.active.useQuery(undefined, {
    refetchInterval: (query) =>
      query.state.data?.some((candidate) => candidate.id === sessionId && candidate.workspaceKind === "web")
        ? WEB_APP_REFRESH_MS
        : ACTIVE_REFRESH_MS,
  });
  const seen = useRef<WorkspaceSession | null>(null);
  const current = active.data?.find(
    (candidate) => candidate.id === sessionId && candidate.userId === me.user.id,
  );
  if (current) seen.current = current;
  const session = current ?? seen.current;

  if (session) {
    const props = { session, stillActive: current !== undefined };
    if (session.workspaceKind === "web") return <WebAppView {...props} />;
    return session.workspaceKind === "terminal" ? (
      <TerminalViewer {...props} />
    ) : (
      <DesktopViewer {...props} />
    );
  }
  if (active.isPending) return <PageLoading label="Connecting" />;
  if (active.error) return <ErrorState error={active.error} onRetry={() => void active.refetch()} />;
  return <NotRunning sessionId={sessionId ?? ""} />;
}

/** The `clipboard` policy as the viewers apply it (null: no limits). */
function useClipboardRule(): PolicySettings<"clipboard"> | null {
  const policies = trpc.policy.list.useQuery(undefined, { staleTime: 60_000 });
  const policy = policies.data?.find((candidate) => candidate.key === "clipboard");
  return policy?.key === "clipboard" ? clipboardRule(policy) : null;
}

function useEndContext(): EndContext {
  const policies = trpc.policy.list.useQuery(undefined, { staleTime: 60_000 });
  let idleMinutes: number | null = null;
  let maxDurationMinutes: number | null = null;
  for (const policy of policies.data ?? []) {
    if (policy.key === "idle-timeout") idleMinutes = policy.settings.minutes;
    if (policy.key === "session-max-duration") maxDurationMinutes = policy.settings.minutes;
  }
  return { idleMinutes, maxDurationMinutes };
}

interface ViewerProps {
  session: WorkspaceSession;
  stillActive: boolean;
}

/** noVNC for desktops and apps. */
function DesktopViewer(props: ViewerProps) {
  const { apiBaseUrl } = useRuntimeConfig();
  const endContext = useEndContext();
  const screen = useRef<HTMLDivElement>(null);
  const clipboard = useClipboardRule();
  const viewer = useVncViewer({ session: props.session, screen, apiBaseUrl, endContext, clipboard });
  return <Viewer {...props} viewer={viewer} screen={screen} terminal={false} clipboard={clipboard} />;
}

/** xterm.js for terminals. */
function TerminalViewer(props: ViewerProps) {
  const { apiBaseUrl } = useRuntimeConfig();
  const endContext = useEndContext();
  const screen = useRef<HTMLDivElement>(null);
  const clipboard = useClipboardRule();
  const viewer = useTerminalViewer({ session: props.session, screen, apiBaseUrl, endContext, clipboard });
  return <Viewer {...props} viewer={viewer} screen={screen} terminal clipboard={clipboard} />;
}

function Viewer({
  session,
  stillActive,
  viewer,
  screen,
  terminal,
  clipboard,
}: ViewerProps & {
  viewer: ReturnType<typeof useVncViewer>;
  screen: RefObject<HTMLDivElement | null>;
  terminal: boolean;
  clipboard: PolicySettings<"clipboard"> | null;
}) {
  const navigate = useNavigate();
  const now = useNow(1000);
  const utils = trpc.useUtils();
  const frame = useRef<HTMLDivElement>(null);
  const end = trpc.session.disconnect.useMutation();
  const [ending, setEnding] = useState(false);
  const left = timeLeft(session, now);
  const closed = viewer.state.phase === "closed";
  const lastRefresh = useRef(0);

  /** Input during a warning moves the idle deadline (the gateway records it): re-read it soon. */
  function refreshDeadlinesSoon() {
    if (!sessionWarning(session, now) || Date.now() - lastRefresh.current < 2000) return;
    lastRefresh.current = Date.now();
    window.setTimeout(() => void utils.session.active.invalidate(), 1500);
  }

  async function endSession(note: string) {
    try {
      await end.mutateAsync({ sessionId: session.id, ...(note ? { note } : {}) });
      toast({ title: `${session.workspaceName} ended` });
      setEnding(false);
      await navigate("/");
    } catch (error) {
      toastError(error);
    } finally {
      void utils.session.invalidate();
    }
  }

  async function sendClipboard() {
    try {
      const text = await navigator.clipboard.readText();
      viewer.pasteToWorkspace(text);
      toast(
        terminal
          ? { title: "Clipboard pasted", description: "It was typed into the terminal." }
          : { title: "Clipboard sent", description: "Paste it in the workspace (Ctrl+V)." },
      );
    } catch {
      toast({
        tone: "error",
        title: "No access to the clipboard",
        description: "Allow clipboard access for this site.",
      });
    }
  }

  function disconnectViewer() {
    toast({
      title: "Viewer closed",
      description: `${session.workspaceName} keeps running. Open it again from Home.`,
    });
    void navigate("/");
  }

  const status =
    viewer.state.phase === "connected" ? (
      <Badge tone="success">Connected</Badge>
    ) : viewer.state.phase === "closed" ? (
      <Badge tone="neutral">{viewer.state.outcome.kind === "ended" ? "Ended" : "Not connected"}</Badge>
    ) : (
      <Badge tone="warning">{viewer.state.retry ? "Reconnecting" : "Starting"}</Badge>
    );

  return (
    <div className="flex h-[calc(100dvh-7rem)] min-h-[420px] flex-col gap-3 lg:h-[calc(100dvh-5rem)]">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <SessionHeading
          session={session}
          now={now}
          status={status}
          {...(!closed && left.maxDuration ? { detail: ` · ${left.maxDuration}` } : {})}
        />
        <div className="flex flex-wrap gap-2">
          <Button
            size="sm"
            variant="ghost"
            disabled={viewer.state.phase !== "connected" || clipboard?.toWorkspace === false}
            icon={<ClipboardPaste aria-hidden className="size-4" />}
            title={
              clipboard?.toWorkspace === false
                ? "Pasting into workspaces is turned off by policy"
                : "Send this computer's clipboard to the workspace, then paste there"
            }
            onClick={() => void sendClipboard()}
          >
            Send clipboard
          </Button>
          <Button
            size="sm"
            variant="ghost"
            disabled={closed}
            icon={<Maximize aria-hidden className="size-4" />}
            onClick={() => void frame.current?.requestFullscreen().catch(() => undefined)}
          >
            Full screen
          </Button>
          <Button
            size="sm"
            variant="secondary"
            icon={<Unplug aria-hidden className="size-4" />}
            onClick={disconnectViewer}
            disabled={closed}
            title="Close the viewer; the session keeps running"
          >
            Disconnect
          </Button>
          <Button
            size="sm"
            variant="danger"
            disabled={!stillActive || closed}
            onClick={() => setEnding(true)}
          >
            End session
          </Button>
        </div>
      </div>
      {stillActive && session.watchedUntil !== undefined && session.watchedUntil > now ? (
        <div
          role="status"
          className="flex items-center gap-2 rounded-lg bg-primary-soft px-3 py-2 text-sm text-primary"
        >
          <Eye aria-hidden className="size-4 shrink-0" />
          <p>
            <span className="font-semibold">An administrator is watching this session.</span> They see your{" "}
            {terminal ? "terminal" : "screen"} but cannot type or click in it; the watch is in the audit log.
          </p>
        </div>
      ) : null}
      <div
        ref={frame}
        className="relative min-h-0 flex-1 overflow-hidden rounded-xl border border-line bg-neutral-950 shadow-sm"
        onKeyDownCapture={refreshDeadlinesSoon}
        onPointerDownCapture={refreshDeadlinesSoon}
      >
        <div
          ref={screen}
          data-testid={terminal ? "workspace-terminal" : "workspace-screen"}
          role="application"
          aria-label={`${session.workspaceName} ${terminal ? "terminal" : "display"}`}
          className={terminal ? "absolute inset-2" : "absolute inset-0"}
        />
        {viewer.state.phase === "connected" && stillActive ? (
          <WarningBanner
            session={session}
            now={now}
            onKeepWorking={() => {
              viewer.keepWorking();
              refreshDeadlinesSoon();
            }}
          />
        ) : null}
        <ViewerOverlay
          state={viewer.state}
          waitingFor={terminal ? "the shell" : "the first picture"}
          workspaceName={session.workspaceName}
          onReconnect={viewer.reconnect}
        />
      </div>
      <DisconnectDialog
        session={ending ? session : null}
        ownSession
        pending={end.isPending}
        onCancel={() => setEnding(false)}
        onConfirm={(note) => void endSession(note)}
      />
    </div>
  );
}

/** Opened after the session ended (or someone else's id): say why, from the history. */
function NotRunning({ sessionId }: { sessionId: string }) {
  const me = useMe();
  const endContext = useEndContext();
  // The caller's own ended sessions (an admin's list would be everyone's), newest first.
  const history = trpc.session.list.useQuery({ status: "ended", userId: me.user.id, limit: 200 });
  const ended = history.data?.items.find((candidate) => candidate.id === sessionId);
  if (history.isPending) return <PageLoading label="Connecting" />;
  return (
    <EmptyState
      title={
        ended
          ? `${ended.workspaceName}: ${endReasonLabel(ended.endReason, endContext)}`
          : "This session is not running"
      }
      icon={<MonitorOff aria-hidden className="size-8" />}
      action={
        <Link to="/sessions?tab=history" className={buttonClass("secondary", "sm")}>
          See session history
        </Link>
      }
    >
      {ended
        ? endReasonDetail(ended.endReason, endContext)
        : "It has ended, or it is not one of your sessions."}
    </EmptyState>
  );
}
