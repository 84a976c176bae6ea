import { authRouter } from "./routers/auth/router.ts";
import { userRouter } from "./routers/user/router.ts";
import { router } from "./trpc.ts";

/** Every domain router, one line each. */
export const appRouter = router({
  auth: authRouter,
  user: userRouter,
});

export type AppRouter = typeof appRouter;
