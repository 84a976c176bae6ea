import { auditRouter } from "./routers/audit/router.ts";
import { authRouter } from "./routers/auth/router.ts";
import { organizationRouter } from "./routers/organization/router.ts";
import { policyRouter } from "./routers/policy/router.ts";
import { recordingRouter } from "./routers/recording/router.ts";
import { sessionRouter } from "./routers/session/router.ts";
import { statsRouter } from "./routers/stats/router.ts";
import { apiTokenRouter, serviceAccountRouter } from "./routers/token/router.ts";
import { userRouter } from "./routers/user/router.ts";
import { workspaceRouter } from "./routers/workspace/router.ts";
import { router } from "./trpc.ts";

/** Every domain router, one line each. */
export const appRouter = router({
  auth: authRouter,
  user: userRouter,
  workspace: workspaceRouter,
  session: sessionRouter,
  policy: policyRouter,
  audit: auditRouter,
  recording: recordingRouter,
  organization: organizationRouter,
  stats: statsRouter,
  apiToken: apiTokenRouter,
  serviceAccount: serviceAccountRouter,
});

export type AppRouter = typeof appRouter;
