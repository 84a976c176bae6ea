import { z } from "zod";
import { EmailSchema, IdSchema, NameSchema, PageInputSchema, pageOf } from "./common.ts";
import { RoleSchema } from "./roles.ts";

/** How the caller proved who they are for the current request's login (`token`: an API token). */
export const AuthMethodSchema = z.enum(["local", "sso", "pomerium", "token"]);
export type AuthMethod = z.infer<typeof AuthMethodSchema>;

/** Where an account came from; `service` accounts are for automation and only use API tokens. */
export const UserSourceSchema = z.enum(["local", "sso", "pomerium", "service"]);
export type UserSource = z.infer<typeof UserSourceSchema>;

/** A person, as the API shows them. Secrets (hash, TOTP secret) never leave packages/db. */
export const UserSchema = z.object({
  id: IdSchema,
  email: z.string(),
  name: z.string(),
  role: RoleSchema,
  organizationId: IdSchema.nullable(),
  /** Where the account came from: a local password, first sight through SSO/Pomerium, or an admin's service account. */
  source: UserSourceSchema,
  /** IdP subject for SSO/Pomerium users. */
  externalId: z.string().nullable(),
  disabled: z.boolean(),
  totpEnabled: z.boolean(),
  mustChangePassword: z.boolean(),
  createdAt: z.date(),
  updatedAt: z.date(),
  lastLoginAt: z.date().nullable(),
});
export type User = z.infer<typeof UserSchema>;

/** Passwords: long enough to matter, bounded so hashing cannot be used for denial of service. */
export const PasswordSchema = z.string().min(10, "at least 10 characters").max(256);

export const ListUsersInputSchema = PageInputSchema.extend({
  search: z.string().trim().max(120).optional(),
  role: RoleSchema.optional(),
  organizationId: IdSchema.optional(),
  disabled: z.boolean().optional(),
  source: UserSourceSchema.optional(),
});
export type ListUsersInput = z.infer<typeof ListUsersInputSchema>;
export const UserPageSchema = pageOf(UserSchema);

export const CreateUserInputSchema = z.strictObject({
  email: EmailSchema,
  name: NameSchema,
  role: RoleSchema,
  organizationId: IdSchema.nullable().default(null),
});
export type CreateUserInput = z.infer<typeof CreateUserInputSchema>;

/** user.create answers with the one-time password the person must change at first login. */
export const CreateUserOutputSchema = z.object({ user: UserSchema, oneTimePassword: z.string() });

export const SetRoleInputSchema = z.strictObject({ userId: IdSchema, role: RoleSchema });
export const UserIdInputSchema = z.strictObject({ userId: IdSchema });

/** user.resetPassword: the new one-time password (shown once) and how many sign-ins it ended. */
export const ResetPasswordOutputSchema = z.object({
  user: UserSchema,
  oneTimePassword: z.string(),
  revokedLoginSessions: z.number().int(),
});

/** user.remove: who was removed (as they were) and what of theirs ended. */
export const RemoveUserOutputSchema = z.object({
  userId: IdSchema,
  email: z.string(),
  endedSessions: z.number().int(),
  revokedLoginSessions: z.number().int(),
});
export type RemoveUserOutput = z.infer<typeof RemoveUserOutputSchema>;

/** What an anonymized person is called from then on (their id stays, so history still links). */
export const ANONYMIZED_NAME = "Anonymized person";
/** The placeholder email of an anonymized person (`.invalid`: no mailbox or IdP can claim it). */
export function anonymizedEmail(userId: string): string {
  return `anonymized-${userId}@anonymized.invalid`;
}

/** user.anonymize: the person as they are now (placeholders) and what of theirs ended. */
export const AnonymizeUserOutputSchema = z.object({
  user: UserSchema,
  endedSessions: z.number().int(),
  revokedLoginSessions: z.number().int(),
});
export type AnonymizeUserOutput = z.infer<typeof AnonymizeUserOutputSchema>;
