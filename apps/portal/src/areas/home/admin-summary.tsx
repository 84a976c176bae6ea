import { ChartColumn } from "lucide-react";
import { Link } from "react-router";
import { ErrorState, Skeleton } from "../../components/ui/feedback.tsx";
import { StatTile } from "../../components/ui/stat-tile.tsx";
import { formatCount } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";

/** The system at a glance, for admins on the home page. */
export function AdminSummary() {
  const stats = trpc.stats.overview.useQuery(undefined, { refetchInterval: 60_000 });
  return (
    <section aria-labelledby="summary-title" className="mb-8">
      <div className="mb-3 flex items-center justify-between">
        <h2 id="summary-title" className="text-lg font-semibold text-fg">
          System
        </h2>
        <Link
          to="/admin/stats"
          className="inline-flex items-center gap-1 text-sm font-medium text-primary hover:underline"
        >
          <ChartColumn aria-hidden className="size-4" />
          All stats
        </Link>
      </div>
      {stats.isPending ? (
        <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
          {[0, 1, 2, 3].map((i) => (
            <Skeleton key={i} className="h-24" />
          ))}
        </div>
      ) : stats.error ? (
        <ErrorState compact error={stats.error} onRetry={() => void stats.refetch()} />
      ) : (
        <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
          <StatTile label="Active sessions" value={formatCount(stats.data.activeSessions)} />
          <StatTile
            label="Launches, 24 h"
            value={formatCount(stats.data.hourly.reduce((sum, bucket) => sum + bucket.launches, 0))}
          />
          <StatTile
            label="Failed sign-ins, 24 h"
            value={formatCount(stats.data.hourly.reduce((sum, bucket) => sum + bucket.failedLogins, 0))}
          />
          <StatTile
            label="Users"
            value={formatCount(stats.data.users)}
            hint={`${formatCount(stats.data.enabledWorkspaces)} of ${formatCount(stats.data.workspaces)} workspaces on`}
          />
        </div>
      )}
    </section>
  );
}
