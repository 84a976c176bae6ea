import { actorFor } from "@neosc/core/audit";
import { RECOVERY_CODE_COUNT } from "@neosc/core/auth";
import type { UserAuthRecord } from "@neosc/db/repositories/users";
import type { InnerContext } from "../../context.ts";
import { audit } from "../audit/record.ts";

/*
 * Recovery codes: ten single-use stand-ins for the authenticator, handed out in clear once (when
 * enrolment is confirmed, or regenerated with the password) and stored as argon2id hashes like
 * passwords. Callers run the checks under the sign-in throttle.
 */

/** A new set for the person (the old set stops working); the codes in clear, to show once. */
export async function issueRecoveryCodes(ctx: InnerContext, userId: string): Promise<string[]> {
  const { db, services } = ctx;
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => services.passwords.generateRecoveryCode());
  const hashes = await Promise.all(codes.map((code) => services.passwords.hash(normalized(code))));
  await db.users.setRecoveryCodes(userId, hashes);
  return codes;
}

function normalized(code: string): string {
  return code.replaceAll("-", "").toLowerCase();
}

/**
 * Uses up the recovery code `code` (already normalised by `RecoveryCodeSchema`) if it is one of
 * the person's unused ones; audits the use with how many are left. False when none matches.
 */
export async function useRecoveryCode(
  ctx: InnerContext,
  record: UserAuthRecord,
  code: string,
  during: string,
): Promise<boolean> {
  const { db, services } = ctx;
  const matches = await Promise.all(
    record.recoveryCodes.map((candidate) => services.passwords.verify(candidate.hash, normalized(code))),
  );
  const match = record.recoveryCodes[matches.indexOf(true)];
  if (match === undefined) return false;
  const left = await db.users.consumeRecoveryCode(record.user.id, match.id, ctx.clock());
  if (left === null) return false;
  await audit(ctx, {
    action: "auth.mfa.recoveryCodeUsed",
    actor: actorFor(record.user),
    resource: { type: "user", id: record.user.id },
    details: { during, left },
  });
  return true;
}
