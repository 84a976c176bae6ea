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
export const MfaCodeInputSchema = z.strictObject({ code: TotpCodeSchema });
export const LogoutInputSchema = z.strictObject({ everywhere: z.boolean().default(false) }).default({
  everywhere: false,
});
export const ChangePasswordInputSchema = z.strictObject({
  currentPassword: z.string().min(1).max(256),
  newPassword: PasswordSchema,
});
