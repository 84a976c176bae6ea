import type { WorkspaceSession } from "@neosc/core/session";
import { Tabs } from "radix-ui";
import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useMe } from "../../app/me-context.tsx";
import { useRuntimeConfig } from "../../app/runtime-config.tsx";
import { buttonClass } from "../../components/ui/button.tsx";
import { DataTable } from "../../components/ui/data-table.tsx";
import { Badge, Card, EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { LoadMore } from "../../components/ui/load-more.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
import { ActiveSessionItem } from "../../features/sessions/active-session-item.tsx";
import { endReasonLabel } from "../../features/sessions/end-reason.ts";
import { KindIcon } from "../../features/workspaces/kind.tsx";
import { connectionHref } from "../../features/workspaces/use-launch.ts";
import { formatDateTime, formatDuration } from "../../lib/format.ts";
import { readsEverything } from "../../lib/navigation.ts";
import { trpc } from "../../lib/trpc.ts";
import { useNow } from "../../lib/use-now.ts";
import { DisconnectDialog } from "./disconnect-dialog.tsx";

const tabClass =
  "rounded-md px-3 py-1.5 text-sm font-medium text-fg-muted data-[state=active]:bg-surface data-[state=active]:text-fg data-[state=active]:shadow-sm";

export function SessionsPage() {
  const me = useMe();
  const isAdmin = readsEverything(me.user.role);
  const [params, setParams] = useSearchParams();
  const tab = params.get("tab") === "history" ? "history" : "active";

  return (
    <>
      <PageHeader
        title="Sessions"
        description={
          isAdmin ? "Everyone's running sessions and the history." : "Your running sessions and the history."
        }
      />
      <Tabs.Root
        value={tab}
        onValueChange={(value) => setParams(value === "history" ? { tab: "history" } : {}, { replace: true })}
      >
        <Tabs.List aria-label="Sessions" className="mb-4 inline-flex gap-1 rounded-lg bg-surface-muted p-1">
          <Tabs.Trigger value="active" className={tabClass}>
            Active
          </Tabs.Trigger>
          <Tabs.Trigger value="history" className={tabClass}>
            History
          </Tabs.Trigger>
        </Tabs.List>
        <Tabs.Content value="active" className="outline-none">
          <ActiveTab />
        </Tabs.Content>
        <Tabs.Content value="history" className="outline-none">
          <HistoryTab />
        </Tabs.Content>
      </Tabs.Root>
    </>
  );
}

function ActiveTab() {
  const me = useMe();
  const now = useNow();
  const utils = trpc.useUtils();
  const { apiBaseUrl } = useRuntimeConfig();
  // Admins see everyone's running sessions here (with who runs them), others their own.
  const query = trpc.session.active.useQuery(undefined, { refetchInterval: 60_000 });
  const all = query.data ?? [];
  const disconnect = trpc.session.disconnect.useMutation();
  const [target, setTarget] = useState<WorkspaceSession | null>(null);
  const showUsers = readsEverything(me.user.role);

  async function confirm(note: string) {
    if (!target) return;
    try {
      await disconnect.mutateAsync({ sessionId: target.id, ...(note ? { note } : {}) });
      toast({ title: "Session ended", description: target.workspaceName });
      setTarget(null);
    } catch (error) {
      toastError(error);
    } finally {
      void utils.session.invalidate();
    }
  }

  if (query.isPending) return <Skeleton className="h-40" />;
  if (query.error) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  if (all.length === 0) {
    return (
      <EmptyState title="No active sessions">Sessions you launch from the home page appear here.</EmptyState>
    );
  }
  return (
    <>
      <Card>
        <ul className="divide-y divide-line">
          {all.map((session) => (
            <ActiveSessionItem
              key={session.id}
              session={session}
              now={now}
              showUser={showUsers}
              openHref={
                session.userId === me.user.id && session.connectionUrl
                  ? connectionHref(session.connectionUrl, apiBaseUrl)
                  : null
              }
              actionLabel="End session"
              onEnd={me.user.role === "auditor" ? undefined : () => setTarget(session)}
              extra={
                me.user.role === "admin" &&
                session.userId !== me.user.id &&
                session.workspaceKind !== "web" ? (
                  <Link
                    to={`/admin/watch/${session.id}`}
                    className={buttonClass("secondary", "sm")}
                    aria-label={`Watch ${session.workspaceName} of ${session.userEmail}`}
                  >
                    Watch
                  </Link>
                ) : null
              }
            />
          ))}
        </ul>
      </Card>
      <DisconnectDialog
        session={target}
        ownSession={target?.userId === me.user.id}
        pending={disconnect.isPending}
        onCancel={() => setTarget(null)}
        onConfirm={(note) => void confirm(note)}
      />
    </>
  );
}

const PAGE_SIZE = 20;

function HistoryTab() {
  const me = useMe();
  const showUsers = readsEverything(me.user.role);
  const history = trpc.session.list.useInfiniteQuery(
    { status: "ended", limit: PAGE_SIZE },
    { getNextPageParam: (page) => page.nextCursor ?? undefined },
  );

  if (history.isPending) return <Skeleton className="h-60" />;
  if (history.error) return <ErrorState error={history.error} onRetry={() => void history.refetch()} />;
  const sessions = history.data.pages.flatMap((page) => page.items);
  if (sessions.length === 0)
    return <EmptyState title="No history yet">Ended sessions are listed here.</EmptyState>;

  return (
    <div className="space-y-4">
      <DataTable
        columns={[
          { label: "Workspace" },
          ...(showUsers ? [{ label: "Person" }] : []),
          { label: "Started" },
          { label: "Duration" },
          { label: "How it ended" },
          ...(showUsers ? [{ label: "Recording" }] : []),
        ]}
      >
        {sessions.map((session) => (
          <tr key={session.id} className="align-top">
            <td className="px-4 py-3">
              <span className="inline-flex items-center gap-2 font-medium text-fg">
                <KindIcon kind={session.workspaceKind} className="size-4 text-fg-muted" />
                {session.workspaceName}
              </span>
            </td>
            {showUsers ? <td className="px-4 py-3 text-fg-muted">{session.userEmail}</td> : null}
            <td className="px-4 py-3 whitespace-nowrap text-fg-muted">{formatDateTime(session.startedAt)}</td>
            <td className="px-4 py-3 whitespace-nowrap text-fg-muted">
              {session.endedAt
                ? formatDuration(session.endedAt.getTime() - session.startedAt.getTime())
                : "—"}
            </td>
            <td className="px-4 py-3">
              <Badge
                tone={
                  session.endReason === "user_stopped" || session.endReason === "user_disconnected"
                    ? "neutral"
                    : "warning"
                }
              >
                {endReasonLabel(session.endReason, {}, session.userId === me.user.id)}
              </Badge>
              {session.endNote ? <p className="mt-1 text-xs text-fg-muted">“{session.endNote}”</p> : null}
            </td>
            {showUsers ? (
              <td className="px-4 py-3">
                {/* Every kind is recorded: a desktop's screen, a terminal, a web app's access log. */}
                <Link
                  className="text-primary underline"
                  to={`/admin/recordings/${session.id}`}
                  aria-label={`Replay ${session.workspaceName} of ${session.userEmail}`}
                >
                  {session.workspaceKind === "web" ? "Access log" : "Replay"}
                </Link>
              </td>
            ) : null}
          </tr>
        ))}
      </DataTable>
      <LoadMore query={history} end="That is everything." />
    </div>
  );
}
