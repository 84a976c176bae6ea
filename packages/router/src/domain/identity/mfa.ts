import type { MfaStepUpInput } from "@neosc/core/auth";
import { DomainError } from "@neosc/core/errors";
import type { UserAuthRecord } from "@neosc/db/repositories/users";
import type { AuthedContext } from "../../context.ts";
import { audit } from "../audit/record.ts";
import { confirmPassword, throttledSecretCheck, throttleKeys } from "./login.ts";
import { issueRecoveryCodes, useRecoveryCode } from "./recovery-codes.ts";

/*
 * TOTP for local accounts. The secret lives in the user document (never leaves packages/db except
 * through the auth record); a used time step cannot be used again. Enrolment and new recovery
 * codes need the password typed again; a step-up raises the current sign-in to two factors.
 */

function assertLocalAccount(ctx: AuthedContext) {
  if (ctx.identity.user.source !== "local") {
    throw new DomainError("BAD_REQUEST", "invalid_input", "Your identity provider handles second factors");
  }
}

async function authRecordOf(ctx: AuthedContext): Promise<UserAuthRecord> {
  const record = await ctx.db.users.findAuthRecordById(ctx.identity.user.id);
  if (record === null)
    throw new DomainError("UNAUTHORIZED", "invalid_token", "The session token is not valid");
  return record;
}

/** The enrolled record (authenticator on), or `totp_not_enrolled`. */
async function enrolledRecord(ctx: AuthedContext): Promise<UserAuthRecord & { totpSecret: string }> {
  const record = await authRecordOf(ctx);
  const { totpSecret } = record;
  if (!record.user.totpEnabled || totpSecret === null) {
    throw new DomainError("BAD_REQUEST", "totp_not_enrolled", "No authenticator is set up");
  }
  return { ...record, totpSecret };
}

function passwordHashOf(record: UserAuthRecord): string {
  if (record.passwordHash === null) {
    throw new DomainError("BAD_REQUEST", "invalid_input", "This account signs in through single sign-on", {
      details: { field: "password" },
    });
  }
  return record.passwordHash;
}

async function checkCode(ctx: AuthedContext, secret: string, code: string, action: string): Promise<void> {
  const { db, services, identity } = ctx;
  const step = services.totp.verify(secret, code, ctx.clock());
  if (step !== null && (await db.users.consumeTotpStep(identity.user.id, step))) return;
  await refuseCode(ctx, action);
}

async function refuseCode(ctx: AuthedContext, action: string): Promise<never> {
  await audit(ctx, {
    action,
    resource: { type: "user", id: ctx.identity.user.id },
    result: "denied",
    reason: "invalid_totp",
  });
  throw new DomainError("BAD_REQUEST", "invalid_totp", "The code is not valid", {
    details: { field: "code" },
  });
}

/** A check of a code under the sign-in budget: a borrowed session cannot guess until it works. */
function throttled(ctx: AuthedContext, action: string, check: () => Promise<void>): Promise<void> {
  const { email } = ctx.identity.user;
  return throttledSecretCheck(ctx, action, throttleKeys(ctx, email), email, check);
}

/** Starts enrolment (after the password): a new secret and its otpauth URI; confirm with a code. */
export async function enrollTotp(
  ctx: AuthedContext,
  input: { password: string },
): Promise<{ secret: string; otpauthUri: string }> {
  const { db, services, identity, config } = ctx;
  assertLocalAccount(ctx);
  const record = await authRecordOf(ctx);
  if (record.user.totpEnabled) {
    throw new DomainError("CONFLICT", "totp_already_enrolled", "An authenticator is already set up");
  }
  await confirmPassword(ctx, "auth.mfa.enroll", passwordHashOf(record), {
    password: input.password,
    field: "password",
  });
  const enrollment = services.totp.create(identity.user.email, config.totpIssuer);
  await db.users.setTotp(identity.user.id, { secret: enrollment.secret, enabled: false });
  await audit(ctx, { action: "auth.mfa.enroll", resource: { type: "user", id: identity.user.id } });
  return enrollment;
}

/** Finishes enrolment with a current code; login asks for a code from now on. Answers the recovery codes. */
export async function confirmTotp(
  ctx: AuthedContext,
  input: { code: string },
): Promise<{ recoveryCodes: string[] }> {
  const { db, identity } = ctx;
  assertLocalAccount(ctx);
  const record = await authRecordOf(ctx);
  if (record.user.totpEnabled) {
    throw new DomainError("CONFLICT", "totp_already_enrolled", "An authenticator is already set up");
  }
  if (record.totpSecret === null) {
    throw new DomainError("BAD_REQUEST", "totp_not_enrolled", "Start the authenticator setup first");
  }
  await checkCode(ctx, record.totpSecret, input.code, "auth.mfa.confirm");
  await db.users.setTotp(identity.user.id, { secret: record.totpSecret, enabled: true });
  const recoveryCodes = await issueRecoveryCodes(ctx, identity.user.id);
  await audit(ctx, {
    action: "auth.mfa.confirm",
    resource: { type: "user", id: identity.user.id },
    details: { recoveryCodes: recoveryCodes.length },
  });
  return { recoveryCodes };
}

/** A new set of recovery codes after the password; the old set stops working. */
export async function regenerateRecoveryCodes(
  ctx: AuthedContext,
  input: { password: string },
): Promise<{ recoveryCodes: string[] }> {
  const { identity } = ctx;
  assertLocalAccount(ctx);
  const record = await enrolledRecord(ctx);
  await confirmPassword(ctx, "auth.mfa.regenerateRecoveryCodes", passwordHashOf(record), {
    password: input.password,
    field: "password",
  });
  const recoveryCodes = await issueRecoveryCodes(ctx, identity.user.id);
  await audit(ctx, {
    action: "auth.mfa.regenerateRecoveryCodes",
    resource: { type: "user", id: identity.user.id },
    details: { recoveryCodes: recoveryCodes.length, replaced: record.recoveryCodes.length },
  });
  return { recoveryCodes };
}

/**
 * Raises the current login session to two factors with a code from the app or a recovery code,
 * in the database, so the next request on any replica (a launch under `mfa-required`) sees it.
 */
export async function stepUp(ctx: AuthedContext, input: MfaStepUpInput): Promise<{ ok: true }> {
  const { db, identity } = ctx;
  assertLocalAccount(ctx);
  const session = identity.loginSession;
  if (session === null) {
    throw new DomainError("BAD_REQUEST", "invalid_input", "Your identity provider handles second factors");
  }
  const record = await enrolledRecord(ctx);
  await throttled(ctx, "auth.mfa.stepUp", async () => {
    if ("code" in input) return checkCode(ctx, record.totpSecret, input.code, "auth.mfa.stepUp");
    if (!(await useRecoveryCode(ctx, record, input.recoveryCode, "auth.mfa.stepUp")))
      await refuseCode(ctx, "auth.mfa.stepUp");
  });
  if (!(await db.loginSessions.raiseToMfa(session.id))) {
    throw new DomainError("UNAUTHORIZED", "session_revoked", "This session has been signed out");
  }
  await audit(ctx, {
    action: "auth.mfa.stepUp",
    resource: { type: "login_session", id: session.id },
    details: { factor: "code" in input ? "totp" : "recovery_code" },
  });
  return { ok: true };
}

/** Switches TOTP off (and its recovery codes); needs a current code so a borrowed session cannot remove the factor. */
export async function disableTotp(ctx: AuthedContext, input: { code: string }): Promise<{ ok: true }> {
  const { db, identity } = ctx;
  assertLocalAccount(ctx);
  const record = await enrolledRecord(ctx);
  await throttled(ctx, "auth.mfa.disable", () =>
    checkCode(ctx, record.totpSecret, input.code, "auth.mfa.disable"),
  );
  await db.users.setTotp(identity.user.id, { secret: null, enabled: false });
  await audit(ctx, { action: "auth.mfa.disable", resource: { type: "user", id: identity.user.id } });
  return { ok: true };
}
