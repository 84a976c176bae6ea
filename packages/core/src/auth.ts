import { z } from "zod";
import { EmailSchema, IdSchema, NameSchema } from "./common.ts";
import { OrganizationSchema } from "./organization.ts";
import { AuthMethodSchema, PasswordSchema, UserSchema } from "./user.ts";

/** A login session (`auth_sessions`): the app token's `jti` points at one of these. */
export const LoginSessionSchema = z.object({
  id: IdSchema,
  userId: IdSchema,
  method: AuthMethodSchema,
  /** True when the login used two factors (local TOTP or IdP `amr` containing `mfa`). */
  mfa: z.boolean(),
  clientIp: z.string().nullable(),
  userAgent: z.string().nullable(),
  createdAt: z.date(),
  expiresAt: z.date(),
  revokedAt: z.date().nullable(),
});
export type LoginSession = z.infer<typeof LoginSessionSchema>;

export const TotpCodeSchema = z.string().regex(/^\d{6}$/, "six digits");

/** How many single-use recovery codes an enrolment (or a regeneration) hands out. */
export const RECOVERY_CODE_COUNT = 10;

/**
 * A recovery code as typed: two groups of five letters and digits (the one-time password
 * alphabet), case and surrounding space ignored, the dash optional.
 */
export const RecoveryCodeSchema = z
  .string()
  .trim()
  .max(32)
  .transform((code) => code.replaceAll(/[\s-]/g, "").toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9]{10}$/, "ten letters and digits"));

export const RegisterInputSchema = z.strictObject({
  email: EmailSchema,
  name: NameSchema,
  password: PasswordSchema,
});
export type RegisterInput = z.infer<typeof RegisterInputSchema>;

export const LoginInputSchema = z.strictObject({
  email: EmailSchema,
  password: z.string().min(1).max(256),
  totp: TotpCodeSchema.optional(),
  /** In place of `totp`: one of the account's unused recovery codes (used up by this sign-in). */
  recoveryCode: RecoveryCodeSchema.optional(),
});
export type LoginInput = z.infer<typeof LoginInputSchema>;

/** The login cookie the HTTP host sets, and the gateway checks a ticket's login by. */
export const SESSION_COOKIE = "neosc_session";

/** A successful login: the token is also set as the `neosc_session` cookie by the HTTP host. */
export const LoginOutputSchema = z.object({
  token: z.string(),
  expiresAt: z.date(),
  user: UserSchema,
});
export type LoginOutput = z.infer<typeof LoginOutputSchema>;

export const SsoInputSchema = z.strictObject({
  idToken: z.string().min(1).max(16_384),
  nonce: z.string().min(1).max(512).optional(),
});
export const TokenExchangeInputSchema = z.strictObject({
  code: z.string().min(1).max(4096),
  codeVerifier: z.string().min(43).max(128),
  redirectUri: z.url().max(2048),
  nonce: z.string().min(1).max(512).optional(),
});

export const MeSchema = z.object({
  user: UserSchema,
  organization: OrganizationSchema.nullable(),
  method: AuthMethodSchema,
  mfa: z.boolean(),
  sessionExpiresAt: z.date().nullable(),
  /** Unused recovery codes of a local account with an authenticator (0 otherwise). */
  recoveryCodesLeft: z.number().int().min(0),
});
export type Me = z.infer<typeof MeSchema>;

/** Public facts the sign-in page needs before anyone is signed in. */
export const AuthConfigSchema = z.object({
  localLogin: z.boolean(),
  selfRegistration: z.boolean(),
  pomerium: z.boolean(),
  sso: z.object({ issuer: z.string(), clientId: z.string(), scopes: z.array(z.string()) }).nullable(),
});
export type AuthConfig = z.infer<typeof AuthConfigSchema>;

export const MfaEnrollOutputSchema = z.object({ secret: z.string(), otpauthUri: z.string() });
/** Enrolment starts only with the password typed again: a borrowed session cannot add a factor. */
export const MfaEnrollInputSchema = z.strictObject({ password: z.string().min(1).max(256) });
export const MfaCodeInputSchema = z.strictObject({ code: TotpCodeSchema });
/** The recovery codes in clear: only in this answer (enrolment confirmed, or regenerated). */
export const RecoveryCodesOutputSchema = z.object({
  recoveryCodes: z.array(z.string()).length(RECOVERY_CODE_COUNT),
});
export const RegenerateRecoveryCodesInputSchema = z.strictObject({ password: z.string().min(1).max(256) });
/** A second factor for the current sign-in: a code from the app, or a recovery code. */
export const MfaStepUpInputSchema = z.union([
  z.strictObject({ code: TotpCodeSchema }),
  z.strictObject({ recoveryCode: RecoveryCodeSchema }),
]);
export type MfaStepUpInput = z.infer<typeof MfaStepUpInputSchema>;
export const LogoutInputSchema = z.strictObject({ everywhere: z.boolean().default(false) }).default({
  everywhere: false,
});
export const ChangePasswordInputSchema = z.strictObject({
  currentPassword: z.string().min(1).max(256),
  newPassword: PasswordSchema,
});
