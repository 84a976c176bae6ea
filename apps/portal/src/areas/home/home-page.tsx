import { useState } from "react";
import { Link, Navigate } from "react-router";
import { useMe } from "../../app/me-context.tsx";
import { Card, EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { SearchInput } from "../../components/ui/inline-controls.tsx";
import { StepUpDialog } from "../../features/mfa/step-up-dialog.tsx";
import { ActiveSessionItem } from "../../features/sessions/active-session-item.tsx";
import { useMyActiveSessions } from "../../features/sessions/use-my-active-sessions.ts";
import { connectionHref, useLaunch } from "../../features/workspaces/use-launch.ts";
import { WorkspaceCard } from "../../features/workspaces/workspace-card.tsx";
import { canUseAdminArea } from "../../lib/navigation.ts";
import { trpc } from "../../lib/trpc.ts";
import { useNow } from "../../lib/use-now.ts";
import { AdminSummary } from "./admin-summary.tsx";

function greeting(now: Date): string {
  const hour = now.getHours();
  if (hour < 5) return "Good evening";
  if (hour < 12) return "Good morning";
  if (hour < 18) return "Good afternoon";
  return "Good evening";
}

export function HomePage() {
  const me = useMe();
  // The auditor launches nothing: its start is the sessions page.
  if (me.user.role === "auditor") return <Navigate replace to="/sessions" />;
  return <LaunchHome />;
}

function LaunchHome() {
  const me = useMe();
  const now = useNow();
  // The server applies role, organization and enabled: this is what this person can launch.
  const workspaces = trpc.workspace.list.useQuery({ launchable: true });
  const { query: activeQuery, mine } = useMyActiveSessions();
  const launcher = useLaunch();
  const [search, setSearch] = useState("");

  const launchable = workspaces.data ?? [];
  const needle = search.trim().toLowerCase();
  const shown = needle
    ? launchable.filter((w) =>
        [w.name, w.description, w.kind, ...w.tags].some((text) => text.toLowerCase().includes(needle)),
      )
    : launchable;
  const sessionByWorkspace = new Map(mine.map((session) => [session.workspaceId, session]));
  const firstName = me.user.name.split(/\s+/)[0] ?? me.user.name;

  return (
    <>
      <PageHeader
        title={`${greeting(now)}, ${firstName}`}
        description="Launch a workspace or pick up where you left off."
      />

      {canUseAdminArea(me.user.role) ? <AdminSummary /> : null}

      <section aria-labelledby="running-title" className="mb-8">
        <h2 id="running-title" className="mb-3 text-lg font-semibold text-fg">
          Running now
        </h2>
        {activeQuery.isPending ? (
          <Skeleton className="h-20" />
        ) : activeQuery.error ? (
          <ErrorState compact error={activeQuery.error} onRetry={() => void activeQuery.refetch()} />
        ) : mine.length === 0 ? (
          <p className="rounded-xl border border-dashed border-line px-4 py-5 text-sm text-fg-muted">
            Nothing running. Launch a workspace below — it will show up here with the time it has left.
          </p>
        ) : (
          <Card>
            <ul className="divide-y divide-line">
              {mine.map((session) => (
                <ActiveSessionItem
                  key={session.id}
                  session={session}
                  now={now}
                  openHref={
                    session.connectionUrl ? connectionHref(session.connectionUrl, launcher.apiBaseUrl) : null
                  }
                  actionLabel="End session"
                  busy={launcher.pendingId === session.workspaceId}
                  onEnd={() =>
                    void launcher.stopWorkspace({ id: session.workspaceId, name: session.workspaceName })
                  }
                />
              ))}
            </ul>
          </Card>
        )}
      </section>

      <section aria-labelledby="workspaces-title">
        <div className="mb-3 flex flex-wrap items-center justify-between gap-3">
          <h2 id="workspaces-title" className="text-lg font-semibold text-fg">
            Your workspaces
          </h2>
          {launchable.length > 6 ? (
            <SearchInput
              label="Search workspaces"
              className="sm:w-64"
              placeholder="Search workspaces"
              value={search}
              onChange={(event) => setSearch(event.target.value)}
            />
          ) : null}
        </div>
        {workspaces.isPending ? (
          <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3">
            {[0, 1, 2].map((i) => (
              <Skeleton key={i} className="h-44" />
            ))}
          </div>
        ) : workspaces.error ? (
          <ErrorState error={workspaces.error} onRetry={() => void workspaces.refetch()} />
        ) : launchable.length === 0 ? (
          <EmptyState title="No workspaces for you yet">
            {canUseAdminArea(me.user.role) ? (
              <>
                Add one in the{" "}
                <Link className="font-medium text-primary hover:underline" to="/admin/workspaces">
                  workspace catalogue
                </Link>
                .
              </>
            ) : (
              "An administrator has not made any workspace available to your role yet."
            )}
          </EmptyState>
        ) : shown.length === 0 ? (
          <EmptyState title="No match">Nothing matches “{search}”.</EmptyState>
        ) : (
          <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3">
            {shown.map((workspace) => {
              const session = sessionByWorkspace.get(workspace.id) ?? null;
              return (
                <WorkspaceCard
                  key={workspace.id}
                  workspace={workspace}
                  session={session}
                  openHref={
                    session?.connectionUrl ? connectionHref(session.connectionUrl, launcher.apiBaseUrl) : null
                  }
                  busy={launcher.pendingId === workspace.id}
                  problem={launcher.problems[workspace.id]}
                  onLaunch={() => void launcher.launchWorkspace(workspace)}
                  onDismissProblem={() => launcher.clearProblem(workspace.id)}
                />
              );
            })}
          </div>
        )}
      </section>
      <StepUpDialog {...launcher.stepUp} />
    </>
  );
}
