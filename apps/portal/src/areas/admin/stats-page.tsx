import type { Reason } from "@neosc/core/errors";
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

/** Peak concurrent sessions per bucket, as chart points. */
export function concurrencyPoints(stats: StatsOverview, range: Range): Point[] {
  const series = range === "24h" ? stats.day.concurrency : stats.month.concurrency;
  const every = range === "24h" ? 4 : 6;
  return series.map((bucket, index) => ({
    label: index % every === 0 ? (range === "24h" ? formatHour(bucket.start) : formatDay(bucket.start)) : "",
    title:
      range === "24h" ? `${formatDay(bucket.start)} ${formatTime(bucket.start)}` : formatDay(bucket.start),
    value: bucket.peak,
  }));
}

/** What the refusals were about, in words (the code itself for one not named here). */
const DENIAL_LABEL: Partial<Record<Reason, string>> = {
  role_required: "Role too low",
  role_not_allowed: "Workspace not open to the role",
  not_owner: "Someone else's session",
  organization_mismatch: "Other organization",
  mfa_required: "Second factor required",
  max_concurrent_sessions: "Too many sessions at once",
  ip_not_allowed: "Network not allowed",
  outside_access_hours: "Outside access hours",
  self_registration_closed: "Registration closed",
  local_login_disabled: "Password sign-in off",
  workspace_disabled: "Workspace switched off",
  token_scope: "Outside an API token's scope",
  password_change_required: "Password change pending",
  last_admin: "Last admin kept",
  organization_not_empty: "Organization not empty",
  own_account: "Own account",
  not_local_account: "No local password",
};

export function denialLabel(reason: string): string {
  return DENIAL_LABEL[reason as Reason] ?? reason.replaceAll("_", " ");
}

/** "a minute", "12 min", "1.5 h": a median session length. */
export function formatMinutes(minutes: number): string {
  if (minutes < 1) return "a minute";
  return minutes < 90 ? `${Math.round(minutes)} min` : `${(minutes / 60).toFixed(1)} h`;
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
  const detail = range === "24h" ? data.day : data.month;
  const concurrency = concurrencyPoints(data, range);
  const peak = Math.max(0, ...concurrency.map((point) => point.value));

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
        <ChartCard title="Sessions at once">
          <p className="-mt-2 mb-3 text-sm text-fg-muted">
            At most <span className="font-semibold text-fg tabular-nums">{formatCount(peak)}</span> running at
            the same time in the {span}.
          </p>
          <BarChart
            points={concurrency}
            caption={`Most sessions running at once per ${range === "24h" ? "hour" : "day"}, ${span}`}
          />
          {data.sessionsCapped ? (
            <p className="mt-2 text-xs text-fg-muted">Counted from the newest 20,000 sessions only.</p>
          ) : null}
        </ChartCard>
        <ChartCard title="Session length">
          <p className="-mt-2 mb-3 text-sm text-fg-muted">
            {detail.medianDurationMinutes === null
              ? `No session ended in the ${span}.`
              : `Sessions that ended in the ${span}; half ran under ${formatMinutes(detail.medianDurationMinutes)}.`}
          </p>
          <RankingBars
            label="Sessions by how long they ran"
            items={detail.durations.map((bin) => ({ label: bin.label, value: bin.sessions }))}
            empty="No sessions."
          />
        </ChartCard>
        <ChartCard title="Launches per workspace">
          <RankingBars
            label={`Launches per workspace, ${span}`}
            items={detail.launchesByWorkspace.map((w) => ({ label: w.name, value: w.launches }))}
            empty={`No launches in the ${span}.`}
          />
        </ChartCard>
        <ChartCard title="Refusals by reason">
          <RankingBars
            label={`Refusals by reason, ${span}`}
            tone="danger"
            items={detail.denialsByReason.map((row) => ({
              label: denialLabel(row.reason),
              value: row.count,
            }))}
            empty={`Nothing was refused in the ${span}.`}
          />
        </ChartCard>
        <ChartCard title="Users by role">
          <RankingBars
            label="Users by role"
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
