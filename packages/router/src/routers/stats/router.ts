import { NoInputSchema } from "@neosc/core/common";
import { StatsOverviewSchema } from "@neosc/core/stats";
import { statsOverview } from "../../domain/stats/overview.ts";
import { procedureFor, router } from "../../trpc.ts";

export const statsRouter = router({
  /** Admins: counts, active sessions, launches and failed logins over time, top workspaces. */
  overview: procedureFor("stats.overview")
    .input(NoInputSchema)
    .output(StatsOverviewSchema)
    .query(({ ctx }) => statsOverview(ctx)),
});
