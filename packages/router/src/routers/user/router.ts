import {
  CreateUserInputSchema,
  CreateUserOutputSchema,
  ListUsersInputSchema,
  SetRoleInputSchema,
  UserIdInputSchema,
  UserPageSchema,
  UserSchema,
} from "@neosc/core/user";
import { createUser, disableUser, enableUser, listUsers, setUserRole } from "../../domain/identity/users.ts";
import { procedureFor, router } from "../../trpc.ts";

export const userRouter = router({
  /** Admins: people, filtered and paginated. */
  list: procedureFor("user.list")
    .input(ListUsersInputSchema)
    .output(UserPageSchema)
    .query(({ ctx, input }) => listUsers(ctx, input)),

  /** Admins: a local account with a one-time password. */
  create: procedureFor("user.create")
    .input(CreateUserInputSchema)
    .output(CreateUserOutputSchema)
    .mutation(({ ctx, input }) => createUser(ctx, input)),

  /** Admins: change someone's role (never the last admin's). */
  setRole: procedureFor("user.setRole")
    .input(SetRoleInputSchema)
    .output(UserSchema)
    .mutation(({ ctx, input }) => setUserRole(ctx, input)),

  /** Admins: block an account and end its sessions (never the last admin). */
  disable: procedureFor("user.disable")
    .input(UserIdInputSchema)
    .output(UserSchema)
    .mutation(({ ctx, input }) => disableUser(ctx, input)),

  /** Admins: unblock an account. */
  enable: procedureFor("user.enable")
    .input(UserIdInputSchema)
    .output(UserSchema)
    .mutation(({ ctx, input }) => enableUser(ctx, input)),
});
