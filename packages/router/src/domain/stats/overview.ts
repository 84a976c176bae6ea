import type { SpanStats, StatsOverview } from "@neosc/core/stats";
import type { BucketCount, SessionSpan, TimeUnit } from "@neosc/db/repositories/sessions";
import type { AuthedContext } from "../../context.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Start of the UTC hour or day that contains `at`. */
export function bucketStart(at: Date, unit: TimeUnit): Date {
  const size = unit === "hour" ? HOUR_MS : DAY_MS;
  return new Date(Math.floor(at.getTime() / size) * size);
}

/** `count` consecutive bucket starts ending with the bucket that contains `now`, oldest first. */
export function bucketStarts(now: Date, unit: TimeUnit, count: number): Date[] {
  const size = unit === "hour" ? HOUR_MS : DAY_MS;
  const last = bucketStart(now, unit).getTime();
  return Array.from({ length: count }, (_, index) => new Date(last - (count - 1 - index) * size));
}

/** Lays sparse counts onto a dense series of buckets (missing buckets count 0). */
export function fillBuckets(
  starts: Date[],
  launches: BucketCount[],
  failures: BucketCount[],
): { start: Date; launches: number; failedLogins: number }[] {
  const byStart = (counts: BucketCount[]) =>
    new Map(counts.map((bucket) => [bucket.start.getTime(), bucket.count]));
  const launchMap = byStart(launches);
  const failureMap = byStart(failures);
  return starts.map((start) => ({
    start,
    launches: launchMap.get(start.getTime()) ?? 0,
    failedLogins: failureMap.get(start.getTime()) ?? 0,
  }));
}

/*
 * The statistics page is an admin page: it may scan, but each scan is bounded — at most
 * SPAN_LIMIT sessions (the newest) for concurrency and durations, at most DENIAL_LIMIT refusals.
 */
const SPAN_LIMIT = 20_000;
const DENIAL_LIMIT = 50_000;
const WORKSPACE_LIMIT = 10;

/**
 * The most sessions running at once within each bucket (`starts` consecutive, `size` ms each):
 * one sweep over the starts and ends. A session that ends when another starts does not overlap
 * it; one still running has no end.
 */
export function peakConcurrency(
  spans: readonly SessionSpan[],
  starts: readonly Date[],
  size: number,
): number[] {
  const events: [time: number, delta: 1 | -1][] = [];
  for (const span of spans) {
    events.push([span.startedAt.getTime(), 1]);
    if (span.endedAt !== null) events.push([span.endedAt.getTime(), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let next = 0;
  return starts.map((start) => {
    const from = start.getTime();
    for (; next < events.length && (events[next]?.[0] ?? 0) <= from; next++)
      running += events[next]?.[1] ?? 0;
    let peak = running;
    for (; next < events.length && (events[next]?.[0] ?? 0) < from + size; next++) {
      running += events[next]?.[1] ?? 0;
      peak = Math.max(peak, running);
    }
    return peak;
  });
}

/** How long ended sessions ran, in bins (upper bound in minutes, exclusive; the last is open). */
export const DURATION_BINS: readonly { label: string; below: number }[] = [
  { label: "under 5 min", below: 5 },
  { label: "5–15 min", below: 15 },
  { label: "15–60 min", below: 60 },
  { label: "1–4 h", below: 240 },
  { label: "4–8 h", below: 480 },
  { label: "8 h or more", below: Number.POSITIVE_INFINITY },
];

/** The sessions that ended at or after `from`, binned by how long they ran, and the median. */
export function durationsOf(
  spans: readonly SessionSpan[],
  from: Date,
): Pick<SpanStats, "durations" | "medianDurationMinutes"> {
  const minutes = spans
    .filter(
      (span): span is { startedAt: Date; endedAt: Date } => span.endedAt !== null && span.endedAt >= from,
    )
    .map((span) => Math.max(0, span.endedAt.getTime() - span.startedAt.getTime()) / 60_000)
    .sort((a, b) => a - b);
  const durations = DURATION_BINS.map((bin, index) => {
    const above = DURATION_BINS[index - 1]?.below ?? 0;
    return { label: bin.label, sessions: minutes.filter((m) => m >= above && m < bin.below).length };
  });
  const middle = Math.floor(minutes.length / 2);
  const median =
    minutes.length === 0
      ? null
      : minutes.length % 2 === 1
        ? (minutes[middle] ?? 0)
        : ((minutes[middle - 1] ?? 0) + (minutes[middle] ?? 0)) / 2;
  return { durations, medianDurationMinutes: median === null ? null : Math.round(median * 10) / 10 };
}

/** Admins: counts and activity over the last 24 hours and 30 days (UTC buckets). */
export async function statsOverview(ctx: AuthedContext): Promise<StatsOverview> {
  const now = ctx.clock();
  const hours = bucketStarts(now, "hour", 24);
  const days = bucketStarts(now, "day", 30);
  const hourFrom = hours[0] ?? now;
  const dayFrom = days[0] ?? now;
  const [
    usersByRole,
    users,
    disabledUsers,
    organizations,
    workspaces,
    activeSessions,
    hourlyLaunches,
    hourlyFailures,
    dailyLaunches,
    dailyFailures,
    topWorkspaces,
  ] = await Promise.all([
    ctx.db.users.countByRole(),
    ctx.db.users.count(),
    ctx.db.users.count({ disabled: true }),
    ctx.db.organizations.count(),
    ctx.db.workspaces.countAll(),
    ctx.db.sessions.countActive(),
    ctx.db.sessions.launchesPerBucket("hour", hourFrom),
    ctx.db.loginAttempts.failuresPerBucket("hour", hourFrom),
    ctx.db.sessions.launchesPerBucket("day", dayFrom),
    ctx.db.loginAttempts.failuresPerBucket("day", dayFrom),
    ctx.db.sessions.topWorkspaces(dayFrom, 5),
  ]);
  const [spans, dayWorkspaces, monthWorkspaces, dayDenials, monthDenials] = await Promise.all([
    ctx.db.sessions.spansSince(dayFrom, SPAN_LIMIT),
    ctx.db.sessions.topWorkspaces(hourFrom, WORKSPACE_LIMIT),
    ctx.db.sessions.topWorkspaces(dayFrom, WORKSPACE_LIMIT),
    ctx.db.audit.denialsByReason(hourFrom, DENIAL_LIMIT),
    ctx.db.audit.denialsByReason(dayFrom, DENIAL_LIMIT),
  ]);
  const hourPeaks = peakConcurrency(spans.spans, hours, HOUR_MS);
  const dayPeaks = peakConcurrency(spans.spans, days, DAY_MS);
  return {
    usersByRole,
    users,
    disabledUsers,
    organizations,
    workspaces: workspaces.total,
    enabledWorkspaces: workspaces.enabled,
    activeSessions,
    hourly: fillBuckets(hours, hourlyLaunches, hourlyFailures),
    daily: fillBuckets(days, dailyLaunches, dailyFailures),
    topWorkspaces,
    day: {
      concurrency: hours.map((start, index) => ({ start, peak: hourPeaks[index] ?? 0 })),
      ...durationsOf(spans.spans, hourFrom),
      launchesByWorkspace: dayWorkspaces,
      denialsByReason: dayDenials,
    },
    month: {
      concurrency: days.map((start, index) => ({ start, peak: dayPeaks[index] ?? 0 })),
      ...durationsOf(spans.spans, dayFrom),
      launchesByWorkspace: monthWorkspaces,
      denialsByReason: monthDenials,
    },
    sessionsCapped: spans.capped,
  };
}
