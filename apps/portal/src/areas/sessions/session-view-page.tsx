import type { WorkspaceSession } from "@neosc/core/session";
import { ArrowLeft, MonitorOff } from "lucide-react";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { Button, buttonClass } from "../../components/ui/button.tsx";
import { Badge, EmptyState, ErrorState, PageLoading } from "../../components/ui/feedback.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
import { timeLeft } from "../../features/sessions/time-left.ts";
import { useMyActiveSessions } from "../../features/sessions/use-my-active-sessions.ts";
import { KindIcon, kindLabel } from "../../features/workspaces/kind.tsx";
import { formatRelative } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";
import { useNow } from "../../lib/use-now.ts";
import { DisconnectDialog } from "./disconnect-dialog.tsx";

/**
 * Where a desktop or app session's connection URL (`/workspace/<sessionId>`) lands. The display
 * itself comes from the workspace gateway; this page keeps the session alive with heartbeats
 * while it is open and lets the person end it.
 */
export function SessionViewPage() {
  const { sessionId } = useParams();
  const navigate = useNavigate();
  const now = useNow();
  const utils = trpc.useUtils();
  const { query, mine } = useMyActiveSessions();
  const disconnect = trpc.session.disconnect.useMutation();
  const [ending, setEnding] = useState<WorkspaceSession | null>(null);

  if (query.isPending) return <PageLoading label="Connecting" />;
  if (query.error) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const session = mine.find((candidate) => candidate.id === sessionId);
  if (!session) {
    return (
      <EmptyState
        title="This session is not running"
        icon={<MonitorOff aria-hidden className="size-8" />}
        action={
          <Link to="/sessions?tab=history" className={buttonClass("secondary", "sm")}>
            See session history
          </Link>
        }
      >
        It has ended, or it belongs to someone else.
      </EmptyState>
    );
  }
  const left = timeLeft(session, now);

  async function end(note: string) {
    if (!ending) return;
    try {
      await disconnect.mutateAsync({ sessionId: ending.id, ...(note ? { note } : {}) });
      toast({ title: `${ending.workspaceName} ended` });
      setEnding(null);
      await navigate("/");
    } catch (error) {
      toastError(error);
    } finally {
      void utils.session.invalidate();
    }
  }

  return (
    <>
      <Link to="/" className="mb-4 inline-flex items-center gap-1 text-sm text-fg-muted hover:text-fg">
        <ArrowLeft aria-hidden className="size-4" />
        Home
      </Link>
      <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
        <div className="flex items-center gap-3">
          <span className="flex size-10 items-center justify-center rounded-lg bg-success-soft text-success">
            <KindIcon kind={session.workspaceKind} />
          </span>
          <div>
            <h1 className="text-xl font-semibold text-fg">{session.workspaceName}</h1>
            <p className="flex flex-wrap items-center gap-2 text-xs text-fg-muted">
              <Badge tone="success">Running</Badge>
              {kindLabel(session.workspaceKind)} · started {formatRelative(session.startedAt, now)}
              {left.maxDuration ? ` · ${left.maxDuration}` : ""}
            </p>
          </div>
        </div>
        <Button variant="secondary" onClick={() => setEnding(session)}>
          End session
        </Button>
      </div>
      <div className="flex aspect-video max-h-[70dvh] w-full flex-col items-center justify-center gap-2 rounded-xl border border-line bg-neutral-950 p-6 text-center shadow-sm">
        <KindIcon kind={session.workspaceKind} className="size-10 text-neutral-400" />
        <p className="font-medium text-neutral-100">
          The workspace display is streamed by the workspace gateway.
        </p>
        <p className="max-w-lg text-sm text-neutral-400">
          This server does not run a gateway, so nothing is drawn here. The session stays open — and counts as
          in use for the idle timeout — while this page is open.
        </p>
      </div>
      <DisconnectDialog
        session={ending}
        ownSession
        pending={disconnect.isPending}
        onCancel={() => setEnding(null)}
        onConfirm={(note) => void end(note)}
      />
    </>
  );
}
