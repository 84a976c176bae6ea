import { DomainError } from "@neosc/core/errors";
import type { AuthedContext } from "../../context.ts";
import { audit } from "../audit/record.ts";
import { throttledSecretCheck, throttleKeys } from "./login.ts";

/*
 * TOTP for local accounts. The secret lives in the user document (never leaves packages/db except
 * through the auth record); a used time step cannot be used again.
 */

function assertLocalAccount(ctx: AuthedContext) {
  if (ctx.identity.user.source !== "local") {
    throw new DomainError("BAD_REQUEST", "invalid_input", "Your identity provider handles second factors");
  }
}

async function checkCode(ctx: AuthedContext, secret: string, code: string, action: string): Promise<void> {
  const { db, services, identity } = ctx;
  const step = services.totp.verify(secret, code, ctx.clock());
  if (step !== null && (await db.users.consumeTotpStep(identity.user.id, step))) return;
  await audit(ctx, {
    action,
    resource: { type: "user", id: identity.user.id },
    result: "denied",
    reason: "invalid_totp",
  });
  throw new DomainError("BAD_REQUEST", "invalid_totp", "The authenticator code is not valid", {
    details: { field: "code" },
  });
}

/** Starts enrolment: a new secret and its otpauth URI; confirm with a code to switch it on. */
export async function enrollTotp(ctx: AuthedContext): Promise<{ secret: string; otpauthUri: string }> {
  const { db, services, identity, config } = ctx;
  assertLocalAccount(ctx);
  if (identity.user.totpEnabled) {
    throw new DomainError("CONFLICT", "totp_already_enrolled", "An authenticator is already set up");
  }
  const enrollment = services.totp.create(identity.user.email, config.totpIssuer);
  await db.users.setTotp(identity.user.id, { secret: enrollment.secret, enabled: false });
  await audit(ctx, { action: "auth.mfa.enroll", resource: { type: "user", id: identity.user.id } });
  return enrollment;
}

/** Finishes enrolment with a current code; from now on login asks for a code. */
export async function confirmTotp(ctx: AuthedContext, input: { code: string }): Promise<{ ok: true }> {
  const { db, identity } = ctx;
  assertLocalAccount(ctx);
  const record = await db.users.findAuthRecordById(identity.user.id);
  if (record?.user.totpEnabled) {
    throw new DomainError("CONFLICT", "totp_already_enrolled", "An authenticator is already set up");
  }
  if (record === null || record.totpSecret === null) {
    throw new DomainError("BAD_REQUEST", "totp_not_enrolled", "Start the authenticator setup first");
  }
  await checkCode(ctx, record.totpSecret, input.code, "auth.mfa.confirm");
  await db.users.setTotp(identity.user.id, { secret: record.totpSecret, enabled: true });
  await audit(ctx, { action: "auth.mfa.confirm", resource: { type: "user", id: identity.user.id } });
  return { ok: true };
}

/** Switches TOTP off; needs a current code so a borrowed session cannot remove the factor. */
export async function disableTotp(ctx: AuthedContext, input: { code: string }): Promise<{ ok: true }> {
  const { db, identity } = ctx;
  assertLocalAccount(ctx);
  const record = await db.users.findAuthRecordById(identity.user.id);
  if (record === null || !record.user.totpEnabled || record.totpSecret === null) {
    throw new DomainError("BAD_REQUEST", "totp_not_enrolled", "No authenticator is set up");
  }
  const { totpSecret } = record;
  // The same budget as sign-in: a borrowed session must not be able to guess codes until it works.
  await throttledSecretCheck(
    ctx,
    "auth.mfa.disable",
    throttleKeys(ctx, identity.user.email),
    identity.user.email,
    () => checkCode(ctx, totpSecret, input.code, "auth.mfa.disable"),
  );
  await db.users.setTotp(identity.user.id, { secret: null, enabled: false });
  await audit(ctx, { action: "auth.mfa.disable", resource: { type: "user", id: identity.user.id } });
  return { ok: true };
}
