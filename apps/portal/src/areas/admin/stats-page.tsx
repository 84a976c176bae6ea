import { ROLE_LABEL, ROLES } from "@neosc/core/roles";
import type { StatsOverview } from "@neosc/core/stats";
import { ToggleGroup } from "radix-ui";
import { type ReactNode, useState } from "react";
import { Card, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { StatTile } from "../../components/ui/stat-tile.tsx";
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

/** A titled card for one chart; a time series also says its total over the span shown. */
function ChartCard({
  title,
  total,
  children,
}: {
  title: string;
  total?: { points: Point[]; span: string };
  children: ReactNode;
}) {
  return (
    <Card className="p-5">
      <div className="mb-4 flex items-baseline justify-between gap-2">
        <h2 className="font-semibold text-fg">{title}</h2>
        {total ? (
          <p className="text-sm text-fg-muted">
            <span className="font-semibold text-fg tabular-nums">
              {formatCount(total.points.reduce((sum, point) => sum + point.value, 0))}
            </span>{" "}
            in the {total.span}
          </p>
        ) : null}
      </div>
      {children}
    </Card>
  );
}

const tabClass =
  "rounded-md px-3 py-1 text-sm font-medium text-fg-muted data-[state=on]:bg-surface data-[state=on]:text-fg data-[state=on]:shadow-sm";

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
  const span = range === "24h" ? "last 24 hours" : "last 30 days";

  return (
    <>
      <PageHeader
        title="Stats"
        description="Refreshed every minute."
        actions={
          // A choice of range for the charts below, not tabs: tabs would need panels to control.
          <ToggleGroup.Root
            type="single"
            value={range}
            onValueChange={(value) => {
              if (value === "24h" || value === "30d") setRange(value);
            }}
            aria-label="Time range"
            className="inline-flex gap-1 rounded-lg bg-surface-muted p-1"
          >
            <ToggleGroup.Item value="24h" className={tabClass}>
              24 hours
            </ToggleGroup.Item>
            <ToggleGroup.Item value="30d" className={tabClass}>
              30 days
            </ToggleGroup.Item>
          </ToggleGroup.Root>
        }
      />
      <div className="grid grid-cols-2 gap-4 lg:grid-cols-4">
        <StatTile label="Active sessions" value={formatCount(data.activeSessions)} />
        <StatTile
          label="Users"
          value={formatCount(data.users)}
          hint={data.disabledUsers > 0 ? `${formatCount(data.disabledUsers)} disabled` : "none disabled"}
        />
        <StatTile
          label="Workspaces"
          value={formatCount(data.workspaces)}
          hint={`${formatCount(data.enabledWorkspaces)} enabled`}
        />
        <StatTile label="Organizations" value={formatCount(data.organizations)} />
      </div>

      <div className="mt-4 grid gap-4 xl:grid-cols-2">
        <ChartCard title="Launches" total={{ points: launches, span }}>
          <BarChart
            points={launches}
            caption={`Workspace launches per ${range === "24h" ? "hour" : "day"}, ${span}`}
          />
        </ChartCard>
        <ChartCard title="Failed sign-ins" total={{ points: failed, span }}>
          <LineChart
            points={failed}
            caption={`Failed sign-ins per ${range === "24h" ? "hour" : "day"}, ${span}`}
          />
        </ChartCard>
        <ChartCard title="Top workspaces">
          <RankingBars
            items={data.topWorkspaces.map((w) => ({ label: w.name, value: w.launches }))}
            empty="No launches yet."
          />
        </ChartCard>
        <ChartCard title="Users by role">
          <RankingBars
            items={[...ROLES]
              .reverse()
              .map((role) => ({ label: ROLE_LABEL[role], value: data.usersByRole[role] ?? 0 }))}
            empty="No users."
          />
        </ChartCard>
      </div>
    </>
  );
}
