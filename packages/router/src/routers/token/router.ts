import {
  ApiTokenIdInputSchema,
  ApiTokenSchema,
  CreateApiTokenInputSchema,
  CreateApiTokenOutputSchema,
  CreateServiceAccountInputSchema,
  ListApiTokensInputSchema,
  RevokeApiTokenOutputSchema,
  ServiceAccountSchema,
} from "@neosc/core/api-token";
import { NoInputSchema } from "@neosc/core/common";
import { UserSchema } from "@neosc/core/user";
import { z } from "zod";
import {
  createApiToken,
  createServiceAccount,
  listApiTokens,
  listServiceAccounts,
  revokeApiToken,
} from "../../domain/tokens/tokens.ts";
import { procedureFor, router } from "../../trpc.ts";

export const apiTokenRouter = router({
  /** Signed-in people: their own tokens; admins: also a service account's. Never with a token. */
  list: procedureFor("apiToken.list")
    .input(ListApiTokensInputSchema)
    .output(z.array(ApiTokenSchema))
    .query(({ ctx, input }) => listApiTokens(ctx, input)),

  /** Signed-in people: a token for themselves; admins: for a service account. The secret is answered once. */
  create: procedureFor("apiToken.create")
    .input(CreateApiTokenInputSchema)
    .output(CreateApiTokenOutputSchema)
    .mutation(({ ctx, input }) => createApiToken(ctx, input)),

  /** The token's owner or an admin. */
  revoke: procedureFor("apiToken.revoke")
    .input(ApiTokenIdInputSchema)
    .output(RevokeApiTokenOutputSchema)
    .mutation(({ ctx, input }) => revokeApiToken(ctx, input.id)),
});

export const serviceAccountRouter = router({
  /** Admins: every service account with its number of usable tokens. */
  list: procedureFor("serviceAccount.list")
    .input(NoInputSchema)
    .output(z.array(ServiceAccountSchema))
    .query(({ ctx }) => listServiceAccounts(ctx)),

  /** Admins: a new account for automation, with a role; it signs in only with its tokens. */
  create: procedureFor("serviceAccount.create")
    .input(CreateServiceAccountInputSchema)
    .output(UserSchema)
    .mutation(({ ctx, input }) => createServiceAccount(ctx, input)),
});
