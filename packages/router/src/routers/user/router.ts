import { ListUsersInputSchema, UserPageSchema } from "@neosc/core/user";
import { listUsers } from "../../domain/identity-users.ts";
import { procedureFor, router } from "../../trpc.ts";

export const userRouter = router({
  /** Admins: people, filtered and paginated. */
  list: procedureFor("user.list")
    .input(ListUsersInputSchema)
    .output(UserPageSchema)
    .query(({ ctx, input }) => listUsers(ctx, input)),
});
