import { z } from "zod";
import { RoleSchema } from "./roles.ts";

const BucketSchema = z.object({
  start: z.date(),
  launches: z.number().int(),
  failedLogins: z.number().int(),
});

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
  topWorkspaces: z.array(z.object({ workspaceId: z.string(), name: z.string(), launches: z.number().int() })),
});
export type StatsOverview = z.infer<typeof StatsOverviewSchema>;
