import type { Page } from "@neosc/core/common";
import type { ListUsersInput, User } from "@neosc/core/user";
import type { AuthedContext } from "../context.ts";

export function listUsers(ctx: AuthedContext, input: ListUsersInput): Promise<Page<User>> {
  return ctx.db.users.list(input);
}
