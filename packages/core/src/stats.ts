import { z } from "zod";
import { RoleSchema } from "./roles.ts";

const BucketSchema = z.object({
  start: z.date(),
  launches: z.number().int(),
  failedLogins: z.number().int(),
});

const WorkspaceLaunchesSchema = z.object({
  workspaceId: z.string(),
  name: z.string(),
  launches: z.number().int(),
});

/** What happened over one span (the last 24 hours or 30 days). */
const SpanStatsSchema = z.object({
  /** Most sessions running at once in each bucket (hour or day), oldest first. */
  concurrency: z.array(z.object({ start: z.date(), peak: z.number().int() })),
  /** Sessions that ended in the span, by how long they ran (bins in order, shortest first). */
  durations: z.array(z.object({ label: z.string(), sessions: z.number().int() })),
  medianDurationMinutes: z.number().nullable(),
  /** Launches per workspace in the span, most first (at most 10). */
  launchesByWorkspace: z.array(WorkspaceLaunchesSchema),
  /** Refusals in the span (audit entries with result `denied`) per reason, most first. */
  denialsByReason: z.array(z.object({ reason: z.string(), count: z.number().int() })),
});
export type SpanStats = z.infer<typeof SpanStatsSchema>;

export const StatsOverviewSchema = z.object({
  usersByRole: z.record(RoleSchema, z.number().int()),
  users: z.number().int(),
  disabledUsers: z.number().int(),
  organizations: z.number().int(),
  workspaces: z.number().int(),
  enabledWorkspaces: z.number().int(),
  activeSessions: z.number().int(),
  /** Last 24 hours, one bucket per hour, oldest first. */
  hourly: z.array(BucketSchema),
  /** Last 30 days, one bucket per UTC day, oldest first. */
  daily: z.array(BucketSchema),
  topWorkspaces: z.array(WorkspaceLaunchesSchema),
  day: SpanStatsSchema,
  month: SpanStatsSchema,
  /**
   * True when more sessions ran in the last 30 days than the statistics read (the newest are
   * read): concurrency and durations then leave out the oldest.
   */
  sessionsCapped: z.boolean(),
});
export type StatsOverview = z.infer<typeof StatsOverviewSchema>;
