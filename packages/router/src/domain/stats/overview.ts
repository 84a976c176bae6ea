import type { StatsOverview } from "@neosc/core/stats";
import type { BucketCount, TimeUnit } from "@neosc/db/repositories/sessions";
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
  };
}
