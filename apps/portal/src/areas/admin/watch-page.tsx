import type { WorkspaceSession } from "@neosc/core/session";
import { Eye } from "lucide-react";
import { type RefObject, useRef } from "react";
import { Link, useParams } from "react-router";
import { useRuntimeConfig } from "../../app/runtime-config.tsx";
import { buttonClass } from "../../components/ui/button.tsx";
import { Badge, EmptyState, ErrorState, PageLoading } from "../../components/ui/feedback.tsx";
import { type TerminalSize, useTerminalViewer } from "../../features/terminal/use-terminal-viewer.ts";
import { useVncViewer } from "../../features/viewer/use-vnc-viewer.ts";
import { ViewerOverlay } from "../../features/viewer/viewer-overlay.tsx";
import { trpc } from "../../lib/trpc.ts";

/**
 * An admin watches someone's running desktop or local shell (`/admin/watch/<sessionId>`): noVNC
 * in view-only mode, or xterm.js with input off, on a `session.watch` ticket. The gateway drops
 * every key, pointer move, paste and resize of the watcher regardless of this page, and audits
 * the watch; the viewer closes when the session ends. A shell is drawn at the person's terminal
 * size (cols×rows), smaller type or scrolling when the window is narrower than theirs.
 */
export function WatchPage() {
  const { sessionId } = useParams();
  const active = trpc.session.active.useQuery(undefined, { refetchInterval: 15_000 });
  const seen = useRef<WorkspaceSession | null>(null);
  const current = active.data?.find((candidate) => candidate.id === sessionId);
  if (current) seen.current = current;
  const session = current ?? seen.current;
  if (session)
    return session.workspaceKind === "terminal" ? (
      <TerminalWatch session={session} />
    ) : (
      <DesktopWatch session={session} />
    );
  if (active.isPending) return <PageLoading label="Opening the session" />;
  if (active.error) return <ErrorState error={active.error} onRetry={() => void active.refetch()} />;
  return (
    <EmptyState
      title="This session is not running"
      action={
        <Link to="/sessions" className={buttonClass("secondary", "sm")}>
          Sessions
        </Link>
      }
    >
      Only running desktops and terminals can be watched.
    </EmptyState>
  );
}

const END_CONTEXT = { idleMinutes: null, maxDurationMinutes: null };

function DesktopWatch({ session }: { session: WorkspaceSession }) {
  const { apiBaseUrl } = useRuntimeConfig();
  const screen = useRef<HTMLDivElement>(null);
  const viewer = useVncViewer({
    session,
    screen,
    apiBaseUrl,
    endContext: END_CONTEXT,
    clipboard: null,
    watch: true,
  });
  return <WatchViewer session={session} viewer={viewer} screen={screen} terminal={false} />;
}

function TerminalWatch({ session }: { session: WorkspaceSession }) {
  const { apiBaseUrl } = useRuntimeConfig();
  const screen = useRef<HTMLDivElement>(null);
  const viewer = useTerminalViewer({
    session,
    screen,
    apiBaseUrl,
    endContext: END_CONTEXT,
    clipboard: null,
    watch: true,
  });
  return <WatchViewer session={session} viewer={viewer} screen={screen} terminal size={viewer.watchedSize} />;
}

function WatchViewer({
  session,
  viewer,
  screen,
  terminal,
  size = null,
}: {
  session: WorkspaceSession;
  viewer: ReturnType<typeof useVncViewer>;
  screen: RefObject<HTMLDivElement | null>;
  terminal: boolean;
  /** The person's terminal size, once the gateway said it. */
  size?: TerminalSize | null;
}) {
  return (
    <div className="flex h-[calc(100dvh-7rem)] min-h-[420px] flex-col gap-3 lg:h-[calc(100dvh-5rem)]">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div className="min-w-0">
          <h1 className="flex items-center gap-2 text-lg font-semibold text-fg">
            <Eye aria-hidden className="size-5" />
            Watching {session.userEmail} · {session.workspaceName}
          </h1>
          <p className="text-sm text-fg-muted">
            {terminal
              ? "View only: your typing, pastes and window size do not reach this shell."
              : "View only: your keyboard and mouse do not reach this desktop."}{" "}
            The watch is in the audit log.{" "}
            {size !== null && (
              <span data-testid="watched-size">
                Their terminal: {size.cols}×{size.rows}.{" "}
              </span>
            )}
            <Badge tone={viewer.state.phase === "connected" ? "success" : "neutral"}>
              {viewer.state.phase === "connected"
                ? "Live"
                : viewer.state.phase === "closed"
                  ? "Ended"
                  : "Starting"}
            </Badge>
          </p>
        </div>
        <Link to="/sessions" className={buttonClass("secondary", "sm")}>
          Stop watching
        </Link>
      </div>
      <div className="relative min-h-0 flex-1 overflow-hidden rounded-xl border border-line bg-neutral-950 shadow-sm">
        {terminal ? (
          <section
            ref={screen}
            data-testid="watch-terminal"
            aria-label={`${session.workspaceName} of ${session.userEmail}, view only`}
            className="absolute inset-2 overflow-auto"
          />
        ) : (
          <div
            ref={screen}
            data-testid="watch-screen"
            role="img"
            aria-label={`${session.workspaceName} of ${session.userEmail}, view only`}
            className="absolute inset-0"
          />
        )}
        <ViewerOverlay
          state={viewer.state}
          {...(terminal ? { waitingFor: "the shell" } : {})}
          workspaceName={session.workspaceName}
          onReconnect={viewer.reconnect}
        />
      </div>
    </div>
  );
}
