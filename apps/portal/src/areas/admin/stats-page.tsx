import { ROLES } from "@neosc/core/roles";
import type { StatsOverview } from "@neosc/core/stats";
import { Tabs } from "radix-ui";
import { useState } from "react";
import { Card, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { formatCount, formatDay, formatHour, formatTime } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";
import { BarChart, LineChart, type Point, RankingBars } from "./charts.tsx";

type Range = "24h" | "30d";

/** Buckets as chart points, labelling every few so the axis stays readable. */
export function toPoints(stats: StatsOverview, range: Range, field: "launches" | "failedLogins"): Point[] {
  const buckets = range === "24h" ? stats.hourly : stats.daily;
  const every = range === "24h" ? 4 : 6;
  return buckets.map((bucket, index) => ({
    label: index % every === 0 ? (range === "24h" ? formatHour(bucket.start) : formatDay(bucket.start)) : "",
    title:
      range === "24h" ? `${formatDay(bucket.start)} ${formatTime(bucket.start)}` : formatDay(bucket.start),
    value: bucket[field],
  }));
}

function Tile({ label, value, hint }: { label: string; value: number; hint?: string }) {
  return (
    <Card className="p-4">
      <p className="text-xs font-medium text-fg-muted">{label}</p>
      <p className="mt-1 text-2xl font-semibold text-fg tabular-nums">{formatCount(value)}</p>
      {hint ? <p className="mt-0.5 text-xs text-fg-muted">{hint}</p> : null}
    </Card>
  );
}

const tabClass =
  "rounded-md px-3 py-1 text-sm font-medium text-fg-muted data-[state=active]:bg-surface data-[state=active]:text-fg data-[state=active]:shadow-sm";

export function StatsPage() {
  const stats = trpc.stats.overview.useQuery(undefined, { refetchInterval: 60_000 });
  const [range, setRange] = useState<Range>("24h");

  if (stats.isPending) {
    return (
      <>
        <PageHeader title="Stats" />
        <div className="grid gap-4 md:grid-cols-4">
          {[0, 1, 2, 3].map((i) => (
            <Skeleton key={i} className="h-24" />
          ))}
        </div>
        <Skeleton className="mt-4 h-64" />
      </>
    );
  }
  if (stats.error) {
    return (
      <>
        <PageHeader title="Stats" />
        <ErrorState error={stats.error} onRetry={() => void stats.refetch()} />
      </>
    );
  }

  const data = stats.data;
  const launches = toPoints(data, range, "launches");
  const failed = toPoints(data, range, "failedLogins");
  const sum = (points: Point[]) => points.reduce((total, point) => total + point.value, 0);
  const span = range === "24h" ? "last 24 hours" : "last 30 days";

  return (
    <>
      <PageHeader
        title="Stats"
        description="Refreshed every minute."
        actions={
          <Tabs.Root value={range} onValueChange={(value) => setRange(value === "30d" ? "30d" : "24h")}>
            <Tabs.List aria-label="Time range" className="inline-flex gap-1 rounded-lg bg-surface-muted p-1">
              <Tabs.Trigger value="24h" className={tabClass}>
                24 hours
              </Tabs.Trigger>
              <Tabs.Trigger value="30d" className={tabClass}>
                30 days
              </Tabs.Trigger>
            </Tabs.List>
          </Tabs.Root>
        }
      />
      <div className="grid grid-cols-2 gap-4 lg:grid-cols-4">
        <Tile label="Active sessions" value={data.activeSessions} />
        <Tile
          label="Users"
          value={data.users}
          hint={data.disabledUsers > 0 ? `${formatCount(data.disabledUsers)} disabled` : "none disabled"}
        />
        <Tile
          label="Workspaces"
          value={data.workspaces}
          hint={`${formatCount(data.enabledWorkspaces)} enabled`}
        />
        <Tile label="Organizations" value={data.organizations} />
      </div>

      <div className="mt-4 grid gap-4 xl:grid-cols-2">
        <Card className="p-5">
          <div className="mb-4 flex items-baseline justify-between gap-2">
            <h2 className="font-semibold text-fg">Launches</h2>
            <p className="text-sm text-fg-muted">
              <span className="font-semibold text-fg tabular-nums">{formatCount(sum(launches))}</span> in the{" "}
              {span}
            </p>
          </div>
          <BarChart
            points={launches}
            caption={`Workspace launches per ${range === "24h" ? "hour" : "day"}, ${span}`}
          />
        </Card>
        <Card className="p-5">
          <div className="mb-4 flex items-baseline justify-between gap-2">
            <h2 className="font-semibold text-fg">Failed sign-ins</h2>
            <p className="text-sm text-fg-muted">
              <span className="font-semibold text-fg tabular-nums">{formatCount(sum(failed))}</span> in the{" "}
              {span}
            </p>
          </div>
          <LineChart
            points={failed}
            caption={`Failed sign-ins per ${range === "24h" ? "hour" : "day"}, ${span}`}
          />
        </Card>
        <Card className="p-5">
          <h2 className="mb-4 font-semibold text-fg">Top workspaces</h2>
          <RankingBars
            items={data.topWorkspaces.map((w) => ({ label: w.name, value: w.launches }))}
            empty="No launches yet."
          />
        </Card>
        <Card className="p-5">
          <h2 className="mb-4 font-semibold text-fg">Users by role</h2>
          <RankingBars
            items={[...ROLES].reverse().map((role) => ({ label: role, value: data.usersByRole[role] ?? 0 }))}
            empty="No users."
          />
        </Card>
      </div>
    </>
  );
}
