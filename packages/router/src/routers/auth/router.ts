import {
  AuthConfigSchema,
  ChangePasswordInputSchema,
  LoginInputSchema,
  LoginOutputSchema,
  LogoutInputSchema,
  MeSchema,
  MfaCodeInputSchema,
  MfaEnrollInputSchema,
  MfaEnrollOutputSchema,
  MfaStepUpInputSchema,
  RecoveryCodesOutputSchema,
  RegenerateRecoveryCodesInputSchema,
  RegisterInputSchema,
  SsoInputSchema,
  TokenExchangeInputSchema,
} from "@neosc/core/auth";
import { NoInputSchema, OkSchema } from "@neosc/core/common";
import { authConfig, me } from "../../domain/identity/identity.ts";
import { changePassword, login, logout, register } from "../../domain/identity/login.ts";
import {
  confirmTotp,
  disableTotp,
  enrollTotp,
  regenerateRecoveryCodes,
  stepUp,
} from "../../domain/identity/mfa.ts";
import { ssoLogin, tokenExchange } from "../../domain/identity/sso.ts";
import { procedureFor, router } from "../../trpc.ts";

export const authRouter = router({
  /** Anyone, while the self-registration policy is on: a local account with role `user`. */
  register: procedureFor("auth.register")
    .input(RegisterInputSchema)
    .output(LoginOutputSchema)
    .mutation(({ ctx, input }) => register(ctx, input)),

  /** Anyone: email + password (+ TOTP) sign-in, throttled per account and per address. */
  login: procedureFor("auth.login")
    .input(LoginInputSchema)
    .output(LoginOutputSchema)
    .mutation(({ ctx, input }) => login(ctx, input)),

  /** Signed-in callers: ends this login session (or all of theirs). */
  logout: procedureFor("auth.logout")
    .input(LogoutInputSchema)
    .output(OkSchema)
    .mutation(({ ctx, input }) => logout(ctx, input)),

  /** Anyone: sign in with a Zitadel ID token from the SPA's PKCE flow. */
  sso: procedureFor("auth.sso")
    .input(SsoInputSchema)
    .output(LoginOutputSchema)
    .mutation(({ ctx, input }) => ssoLogin(ctx, input)),

  /** Anyone: the backend exchanges an authorization code (+ PKCE verifier) with Zitadel. */
  tokenExchange: procedureFor("auth.tokenExchange")
    .input(TokenExchangeInputSchema)
    .output(LoginOutputSchema)
    .mutation(({ ctx, input }) => tokenExchange(ctx, input)),

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

  /** Signed-in callers: replace the password (also the one-time password). */
  changePassword: procedureFor("auth.changePassword")
    .input(ChangePasswordInputSchema)
    .output(OkSchema)
    .mutation(({ ctx, input }) => changePassword(ctx, input)),

  mfa: router({
    /** Signed-in local accounts, with their password again: start TOTP enrolment. */
    enroll: procedureFor("auth.mfa.enroll")
      .input(MfaEnrollInputSchema)
      .output(MfaEnrollOutputSchema)
      .mutation(({ ctx, input }) => enrollTotp(ctx, input)),

    /** Signed-in local accounts: confirm enrolment with a current code; answers the recovery codes once. */
    confirm: procedureFor("auth.mfa.confirm")
      .input(MfaCodeInputSchema)
      .output(RecoveryCodesOutputSchema)
      .mutation(({ ctx, input }) => confirmTotp(ctx, input)),

    /** Signed-in local accounts with an authenticator, with their password again: a new set of recovery codes. */
    regenerateRecoveryCodes: procedureFor("auth.mfa.regenerateRecoveryCodes")
      .input(RegenerateRecoveryCodesInputSchema)
      .output(RecoveryCodesOutputSchema)
      .mutation(({ ctx, input }) => regenerateRecoveryCodes(ctx, input)),

    /** Signed-in local accounts with an authenticator: raise this sign-in to two factors with a code. */
    stepUp: procedureFor("auth.mfa.stepUp")
      .input(MfaStepUpInputSchema)
      .output(OkSchema)
      .mutation(({ ctx, input }) => stepUp(ctx, input)),

    /** Signed-in local accounts: switch TOTP off with a current code. */
    disable: procedureFor("auth.mfa.disable")
      .input(MfaCodeInputSchema)
      .output(OkSchema)
      .mutation(({ ctx, input }) => disableTotp(ctx, input)),
  }),
});
