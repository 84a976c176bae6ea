import { z } from "zod";
import { IdSchema, NameSchema, OkSchema } from "./common.ts";
import { PROCEDURE_PATHS, type ProcedurePath } from "./permissions.ts";
import { RoleSchema } from "./roles.ts";
import { UserSchema } from "./user.ts";

/**
 * Procedures a token may never call, whatever its scope: signing in and out, the caller's own
 * secrets, and token and service-account management (a token cannot mint a longer-lived one).
 */
const NOT_FOR_TOKENS: ReadonlySet<ProcedurePath> = new Set([
  "auth.register",
  "auth.login",
  "auth.logout",
  "auth.sso",
  "auth.tokenExchange",
  "auth.changePassword",
  "auth.mfa.enroll",
  "auth.mfa.confirm",
  "auth.mfa.disable",
  "auth.mfa.regenerateRecoveryCodes",
  "auth.mfa.stepUp",
  "apiToken.list",
  "apiToken.create",
  "apiToken.revoke",
  "serviceAccount.list",
  "serviceAccount.create",
]);

export function tokenMayCall(path: ProcedurePath): boolean {
  return !NOT_FOR_TOKENS.has(path);
}

/** The procedures a token's scope may name. */
export const TOKEN_PROCEDURES = PROCEDURE_PATHS.filter(tokenMayCall);

const TokenProcedureSchema = z.enum(TOKEN_PROCEDURES as [ProcedurePath, ...ProcedurePath[]]);

/**
 * What a token may do on top of its owner's role: `read` = every query (no mutation);
 * `procedures` = exactly the listed procedures. The owner's role gate still applies.
 */
export const ApiTokenScopeSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("read") }),
  z.strictObject({ kind: z.literal("procedures"), procedures: z.array(TokenProcedureSchema).min(1).max(64) }),
]);
export type ApiTokenScope = z.infer<typeof ApiTokenScopeSchema>;

/** A token as the API shows it: never the secret (only its first characters, to recognise it). */
export const ApiTokenSchema = z.object({
  id: IdSchema,
  name: z.string(),
  ownerId: IdSchema,
  ownerEmail: z.string(),
  scope: ApiTokenScopeSchema,
  /** `neosc_` plus the first characters of the id: what a person sees in a secret scanner. */
  prefix: z.string(),
  createdAt: z.date(),
  createdBy: IdSchema,
  expiresAt: z.date(),
  revokedAt: z.date().nullable(),
  lastUsedAt: z.date().nullable(),
});
export type ApiToken = z.infer<typeof ApiTokenSchema>;

export const MAX_TOKEN_DAYS = 366;

export const CreateApiTokenInputSchema = z.strictObject({
  name: NameSchema,
  scope: ApiTokenScopeSchema,
  /** Lifetime in days (1–366); tokens always expire. */
  expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS),
  /** Admins: create the token for this service account instead of for themselves. */
  serviceAccountId: IdSchema.optional(),
});
export type CreateApiTokenInput = z.infer<typeof CreateApiTokenInputSchema>;

/** The only answer that carries the secret: shown once, stored hashed. */
export const CreateApiTokenOutputSchema = z.object({ token: ApiTokenSchema, secret: z.string() });

export const ListApiTokensInputSchema = z
  .strictObject({
    /** Admins: the tokens of this service account (default: the caller's own). */
    serviceAccountId: IdSchema.optional(),
  })
  .default({});
export const ApiTokenIdInputSchema = z.strictObject({ id: IdSchema });
export const RevokeApiTokenOutputSchema = OkSchema;

export const ServiceAccountSchema = z.object({ user: UserSchema, activeTokens: z.number().int() });
export const CreateServiceAccountInputSchema = z.strictObject({
  name: NameSchema,
  role: RoleSchema,
  organizationId: IdSchema.nullable().default(null),
});
export type CreateServiceAccountInput = z.infer<typeof CreateServiceAccountInputSchema>;
