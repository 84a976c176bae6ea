import { DomainError } from "@neosc/core/errors";
import type { User } from "@neosc/core/user";
import type { AuthedContext } from "../../context.ts";
import { audit } from "../audit/record.ts";
import { endSessionOnce } from "../sessions/end.ts";

/**
 * An admin removes a person's authenticator and recovery codes (a lost phone): whoever holds a
 * sign-in of theirs is out, so every login session is revoked and every workspace session ends
 * with `mfa_reset`. They sign in with their password and can enrol again.
 */
export async function resetUserMfa(ctx: AuthedContext, input: { userId: string }): Promise<User> {
  const { db } = ctx;
  const record = await db.users.findAuthRecordById(input.userId);
  if (record === null) {
    throw new DomainError("NOT_FOUND", "not_found", "No such user", { details: { userId: input.userId } });
  }
  if (!record.user.totpEnabled && record.totpSecret === null) {
    throw new DomainError("BAD_REQUEST", "totp_not_enrolled", "This person has no second factor to reset");
  }
  const updated = (await db.users.setTotp(record.user.id, { secret: null, enabled: false })) ?? record.user;
  const now = ctx.clock();
  const revokedLoginSessions = await db.loginSessions.revokeAllForUser(record.user.id, now);
  let endedSessions = 0;
  for (const session of await db.sessions.listActiveByUser(record.user.id)) {
    const ended = await endSessionOnce(ctx, session, {
      reason: "mfa_reset",
      at: now,
      action: "user.resetMfa",
    });
    if (ended !== null) endedSessions++;
  }
  await audit(ctx, {
    action: "user.resetMfa",
    resource: { type: "user", id: record.user.id },
    details: { revokedLoginSessions, endedSessions, recoveryCodesRemoved: record.recoveryCodes.length },
  });
  return updated;
}
