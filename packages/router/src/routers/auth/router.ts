import { AuthConfigSchema, MeSchema } from "@neosc/core/auth";
import { z } from "zod";
import { authConfig, me } from "../../domain/identity.ts";
import { procedureFor, router } from "../../trpc.ts";

const NoInputSchema = z.void();

export const authRouter = router({
  /** Anyone: what the sign-in page may offer. */
  config: procedureFor("auth.config")
    .input(NoInputSchema)
    .output(AuthConfigSchema)
    .query(({ ctx }) => authConfig(ctx)),

  /** Signed-in callers: who am I. */
  me: procedureFor("auth.me")
    .input(NoInputSchema)
    .output(MeSchema)
    .query(({ ctx }) => me(ctx)),
});
