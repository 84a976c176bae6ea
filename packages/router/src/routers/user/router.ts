import {
  AnonymizeUserOutputSchema,
  CreateUserInputSchema,
  CreateUserOutputSchema,
  ListUsersInputSchema,
  RemoveUserOutputSchema,
  ResetPasswordOutputSchema,
  SetRoleInputSchema,
  UserIdInputSchema,
  UserPageSchema,
  UserSchema,
} from "@neosc/core/user";
import { resetUserMfa } from "../../domain/identity/reset-mfa.ts";
import {
  anonymizeUser,
  createUser,
  disableUser,
  enableUser,
  listUsers,
  removeUser,
  resetUserPassword,
  setUserRole,
} from "../../domain/identity/users.ts";
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

  /** Admins: a new one-time password for a local account (shown once; its logins are revoked). */
  resetPassword: procedureFor("user.resetPassword")
    .input(UserIdInputSchema)
    .output(ResetPasswordOutputSchema)
    .mutation(({ ctx, input }) => resetUserPassword(ctx, input)),

  /** Admins: delete someone else's account, ending their sessions (never the last admin). */
  remove: procedureFor("user.remove")
    .input(UserIdInputSchema)
    .output(RemoveUserOutputSchema)
    .mutation(({ ctx, input }) => removeUser(ctx, input)),

  /** Admins: replace someone's name, email and IdP link with placeholders, ending their sessions (never the last admin). */
  anonymize: procedureFor("user.anonymize")
    .input(UserIdInputSchema)
    .output(AnonymizeUserOutputSchema)
    .mutation(({ ctx, input }) => anonymizeUser(ctx, input)),

  /** Admins: remove someone's authenticator and recovery codes, and end all their sessions. */
  resetMfa: procedureFor("user.resetMfa")
    .input(UserIdInputSchema)
    .output(UserSchema)
    .mutation(({ ctx, input }) => resetUserMfa(ctx, input)),
});
