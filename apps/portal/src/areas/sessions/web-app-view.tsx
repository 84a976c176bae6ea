import type { WorkspaceSession } from "@neosc/core/session";
import { ExternalLink, MonitorOff, RotateCw } from "lucide-react";
import { useCallback, useEffect, useState } from "react";
import { Link, useNavigate } from "react-router";
import { Button, buttonClass } from "../../components/ui/button.tsx";
import { Badge } from "../../components/ui/feedback.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
import { endReasonDetail, endReasonLabel } from "../../features/sessions/end-reason.ts";
import { SessionHeading } from "../../features/sessions/session-heading.tsx";
import { readApiError } from "../../lib/api-error.ts";
import { describeError } from "../../lib/problem.ts";
import { trpc } from "../../lib/trpc.ts";
import { useNow } from "../../lib/use-now.ts";
import { DisconnectDialog } from "./disconnect-dialog.tsx";

/**
 * A web app in the session page: framed from its session's own origin. Each opening gets a
 * fresh single-use ticket (session.connect), handed to the session's entry page in the URL's
 * fragment (never sent to a server); that page trades it for the session's cookie and goes on
 * to the app.
 * When the session ends the frame is replaced by the reason in words.
 */
export function WebAppView({ session, stillActive }: { session: WorkspaceSession; stillActive: boolean }) {
  const navigate = useNavigate();
  const utils = trpc.useUtils();
  const now = useNow(1000);
  const [entry, setEntry] = useState<{ url: string; ticket: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [ending, setEnding] = useState(false);
  const end = trpc.session.disconnect.useMutation();
  const history = trpc.session.list.useQuery({ status: "ended", limit: 50 }, { enabled: !stillActive });
  const ended = history.data?.items.find((candidate) => candidate.id === session.id);

  const open = useCallback(async () => {
    setProblem(null);
    try {
      const ticket = await utils.client.session.connect.mutate({ sessionId: session.id });
      setEntry({ url: ticket.url, ticket: ticket.ticket });
    } catch (error) {
      setProblem(describeError(readApiError(error)).message);
    }
  }, [session.id, utils]);

  // Opened once per visit; "Reload" asks for a new ticket.
  useEffect(() => {
    void open();
  }, [open]);

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

  return (
    <div className="flex h-[calc(100dvh-7rem)] min-h-[420px] flex-col gap-3 lg:h-[calc(100dvh-5rem)]">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <SessionHeading
          session={session}
          now={now}
          status={stillActive ? <Badge tone="success">Open</Badge> : <Badge tone="neutral">Ended</Badge>}
        />
        <div className="flex flex-wrap gap-2">
          <Button
            size="sm"
            variant="ghost"
            disabled={!stillActive}
            icon={<RotateCw aria-hidden className="size-4" />}
            title="Open the app again from its start page"
            onClick={() => void open()}
          >
            Reload
          </Button>
          <Button size="sm" variant="danger" disabled={!stillActive} onClick={() => setEnding(true)}>
            End session
          </Button>
        </div>
      </div>
      <div className="relative min-h-0 flex-1 overflow-hidden rounded-xl border border-line bg-white shadow-sm">
        {stillActive ? (
          <>
            <iframe
              key={entry?.ticket ?? "none"}
              src={entry === null ? "about:blank" : `${entry.url}#${encodeURIComponent(entry.ticket)}`}
              title={session.workspaceName}
              data-testid="web-app-frame"
              className="absolute inset-0 size-full border-0"
              referrerPolicy="no-referrer"
            />
            {problem === null ? null : (
              <div role="alert" className="absolute inset-x-0 top-0 bg-danger-soft p-3 text-sm text-danger">
                {problem}
              </div>
            )}
          </>
        ) : (
          <div
            role="status"
            data-testid="web-app-ended"
            className="absolute inset-0 flex flex-col items-center justify-center gap-3 bg-neutral-950/90 p-6 text-center text-neutral-100"
          >
            <MonitorOff aria-hidden className="size-8" />
            <p className="font-medium">
              {session.workspaceName}: {endReasonLabel(ended?.endReason ?? null)}
            </p>
            <p className="max-w-md text-sm text-neutral-300">{endReasonDetail(ended?.endReason ?? null)}</p>
            <Link to="/" className={buttonClass("secondary", "sm")}>
              <ExternalLink aria-hidden className="size-4" /> Back to the portal
            </Link>
          </div>
        )}
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
