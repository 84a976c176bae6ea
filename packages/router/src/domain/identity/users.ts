import type { Page } from "@neosc/core/common";
import { DomainError } from "@neosc/core/errors";
import { isAdmin, type Role } from "@neosc/core/roles";
import {
  ANONYMIZED_NAME,
  type AnonymizeUserOutput,
  anonymizedEmail,
  type CreateUserInput,
  type ListUsersInput,
  type RemoveUserOutput,
  type User,
} from "@neosc/core/user";
import type { AuthedContext } from "../../context.ts";
import { audit } from "../audit/record.ts";
import { joiningOrganization } from "../organizations/organizations.ts";
import { endSessionOnce } from "../sessions/end.ts";

/*
 * User management for admins. The system never runs out of admins: demoting or disabling the last
 * enabled admin is refused, and re-checked after the write to catch two admins racing.
 */

export function listUsers(ctx: AuthedContext, input: ListUsersInput): Promise<Page<User>> {
  return ctx.db.users.list(input);
}

function noSuchUser(userId: string): DomainError {
  return new DomainError("NOT_FOUND", "not_found", "No such user", { details: { userId } });
}

async function findUser(ctx: AuthedContext, userId: string): Promise<User> {
  const user = await ctx.db.users.findById(userId);
  if (user === null) throw noSuchUser(userId);
  return user;
}

function enabledAdmins(ctx: AuthedContext): Promise<number> {
  return ctx.db.users.count({ role: "admin", disabled: false });
}

async function refuseLastAdmin(ctx: AuthedContext, action: string, target: User): Promise<never> {
  await audit(ctx, {
    action,
    resource: { type: "user", id: target.id },
    result: "denied",
    reason: "last_admin",
  });
  throw new DomainError("CONFLICT", "last_admin", "At least one enabled admin must remain");
}

/** True when `target` is an enabled admin the change would remove from the set of admins. */
function removesAnAdmin(target: User): boolean {
  return isAdmin(target) && !target.disabled;
}

/** Creates a local account with a one-time password the person must change at first sign-in. */
export async function createUser(
  ctx: AuthedContext,
  input: CreateUserInput,
): Promise<{ user: User; oneTimePassword: string }> {
  const { db, services } = ctx;
  const oneTimePassword = services.passwords.generateOneTimePassword();
  const passwordHash = await services.passwords.hash(oneTimePassword);
  const user = await joiningOrganization(ctx, input.organizationId, () =>
    db.users.create({
      source: "local",
      email: input.email,
      name: input.name,
      role: input.role,
      organizationId: input.organizationId,
      passwordHash,
      mustChangePassword: true,
    }),
  );
  await audit(ctx, {
    action: "user.create",
    resource: { type: "user", id: user.id },
    details: { email: user.email, role: user.role, organizationId: user.organizationId },
  });
  return { user, oneTimePassword };
}

/** Changes a person's role (an IdP that sends roles will set it again at their next sign-in). */
export async function setUserRole(ctx: AuthedContext, input: { userId: string; role: Role }): Promise<User> {
  const { db } = ctx;
  const target = await findUser(ctx, input.userId);
  if (target.role === input.role) return target;
  const demotesAdmin = removesAnAdmin(target) && !isAdmin(input);
  if (demotesAdmin && (await enabledAdmins(ctx)) <= 1) return refuseLastAdmin(ctx, "user.setRole", target);
  const updated = await db.users.update(target.id, { role: input.role });
  if (updated === null) return findUser(ctx, input.userId);
  if (demotesAdmin && (await enabledAdmins(ctx)) === 0) {
    await db.users.update(target.id, { role: target.role });
    return refuseLastAdmin(ctx, "user.setRole", target);
  }
  await audit(ctx, {
    action: "user.setRole",
    resource: { type: "user", id: target.id },
    details: { from: target.role, to: updated.role },
  });
  return updated;
}

/** Ends every running workspace session of the person (reason `user_disabled`); returns how many. */
async function endSessionsOf(ctx: AuthedContext, userId: string, action: string, at: Date): Promise<number> {
  let ended = 0;
  for (const session of await ctx.db.sessions.listActiveByUser(userId)) {
    if ((await endSessionOnce(ctx, session, { reason: "user_disabled", at, action })) !== null) ended++;
  }
  return ended;
}

/**
 * Disables an account: it can no longer sign in, its login sessions are revoked and its running
 * workspace sessions end (reason `user_disabled`).
 */
export async function disableUser(ctx: AuthedContext, input: { userId: string }): Promise<User> {
  const { db } = ctx;
  const target = await findUser(ctx, input.userId);
  if (removesAnAdmin(target) && (await enabledAdmins(ctx)) <= 1) {
    return refuseLastAdmin(ctx, "user.disable", target);
  }
  const updated = target.disabled ? target : await db.users.update(target.id, { disabled: true });
  if (updated === null) return findUser(ctx, input.userId);
  if (removesAnAdmin(target) && (await enabledAdmins(ctx)) === 0) {
    await db.users.update(target.id, { disabled: false });
    return refuseLastAdmin(ctx, "user.disable", target);
  }
  const now = ctx.clock();
  const revokedLoginSessions = await db.loginSessions.revokeAllForUser(target.id, now);
  const endedSessions = await endSessionsOf(ctx, target.id, "user.disable", now);
  await audit(ctx, {
    action: "user.disable",
    resource: { type: "user", id: target.id },
    details: { revokedLoginSessions, endedSessions },
  });
  return updated;
}

/** Lets a disabled person sign in again. */
export async function enableUser(ctx: AuthedContext, input: { userId: string }): Promise<User> {
  const target = await findUser(ctx, input.userId);
  const updated = target.disabled ? await ctx.db.users.update(target.id, { disabled: false }) : target;
  if (updated === null) return findUser(ctx, input.userId);
  await audit(ctx, { action: "user.enable", resource: { type: "user", id: target.id } });
  return updated;
}

/**
 * Gives a local account a new one-time password, shown once to the admin: the person must change
 * it at their next sign-in, and every login of theirs is revoked now (the old password may be
 * known to someone else). Their running workspace sessions keep running until those logins'
 * connections close.
 */
export async function resetUserPassword(
  ctx: AuthedContext,
  input: { userId: string },
): Promise<{ user: User; oneTimePassword: string; revokedLoginSessions: number }> {
  const { db, services } = ctx;
  const target = await findUser(ctx, input.userId);
  if (target.source !== "local") {
    await audit(ctx, {
      action: "user.resetPassword",
      resource: { type: "user", id: target.id },
      result: "denied",
      reason: "not_local_account",
    });
    throw new DomainError("CONFLICT", "not_local_account", "Only local accounts have a password to reset", {
      details: { source: target.source },
    });
  }
  const oneTimePassword = services.passwords.generateOneTimePassword();
  const updated = await db.users.setPassword(target.id, await services.passwords.hash(oneTimePassword), {
    mustChangePassword: true,
  });
  if (updated === null) throw noSuchUser(target.id);
  const revokedLoginSessions = await db.loginSessions.revokeAllForUser(target.id, ctx.clock());
  await audit(ctx, {
    action: "user.resetPassword",
    resource: { type: "user", id: target.id },
    details: { email: target.email, revokedLoginSessions },
  });
  return { user: updated, oneTimePassword, revokedLoginSessions };
}

/**
 * Removes a person: the account is deleted (the email is free again), their logins are revoked and
 * their running sessions end. The audit log is not touched — every entry names its actor as they
 * were when it was written, so the chain still verifies and the history still says who did what;
 * ended sessions keep the email they ran under. Never the caller's own account or the last admin.
 */
export async function removeUser(ctx: AuthedContext, input: { userId: string }): Promise<RemoveUserOutput> {
  const { db } = ctx;
  const target = await findUser(ctx, input.userId);
  if (target.id === ctx.identity.user.id) {
    await audit(ctx, {
      action: "user.remove",
      resource: { type: "user", id: target.id },
      result: "denied",
      reason: "own_account",
    });
    throw new DomainError("CONFLICT", "own_account", "You cannot remove your own account");
  }
  if (removesAnAdmin(target) && (await enabledAdmins(ctx)) <= 1) {
    return refuseLastAdmin(ctx, "user.remove", target);
  }
  // Disabled first, so no new sign-in or launch starts while the sessions are ended.
  if (!target.disabled) await db.users.update(target.id, { disabled: true });
  if (removesAnAdmin(target) && (await enabledAdmins(ctx)) === 0) {
    await db.users.update(target.id, { disabled: false });
    return refuseLastAdmin(ctx, "user.remove", target);
  }
  const now = ctx.clock();
  const revokedLoginSessions = await db.loginSessions.revokeAllForUser(target.id, now);
  const endedSessions = await endSessionsOf(ctx, target.id, "user.remove", now);
  await db.users.delete(target.id);
  await audit(ctx, {
    action: "user.remove",
    resource: { type: "user", id: target.id },
    details: {
      removed: { email: target.email, name: target.name, role: target.role, source: target.source },
      revokedLoginSessions,
      endedSessions,
    },
  });
  return { userId: target.id, email: target.email, endedSessions, revokedLoginSessions };
}

/**
 * Anonymizes a person in place: the account keeps its id, so sessions and audit entries still link
 * to it, but its name, email and IdP link become placeholders (the email is free again), its
 * password and second factor go, it is disabled, its logins are revoked, its running sessions
 * end and every session of theirs carries the placeholder email. Audit entries written before are not touched (the chain must verify): each keeps the actor
 * as they were; this entry names nobody. Never the caller's own account or the last admin.
 */
export async function anonymizeUser(
  ctx: AuthedContext,
  input: { userId: string },
): Promise<AnonymizeUserOutput> {
  const { db } = ctx;
  const target = await findUser(ctx, input.userId);
  if (target.id === ctx.identity.user.id) {
    await audit(ctx, {
      action: "user.anonymize",
      resource: { type: "user", id: target.id },
      result: "denied",
      reason: "own_account",
    });
    throw new DomainError("CONFLICT", "own_account", "You cannot anonymize your own account");
  }
  if (removesAnAdmin(target) && (await enabledAdmins(ctx)) <= 1) {
    return refuseLastAdmin(ctx, "user.anonymize", target);
  }
  if (!target.disabled) await db.users.update(target.id, { disabled: true });
  if (removesAnAdmin(target) && (await enabledAdmins(ctx)) === 0) {
    await db.users.update(target.id, { disabled: false });
    return refuseLastAdmin(ctx, "user.anonymize", target);
  }
  const now = ctx.clock();
  const revokedLoginSessions = await db.loginSessions.revokeAllForUser(target.id, now);
  const endedSessions = await endSessionsOf(ctx, target.id, "user.anonymize", now);
  const user = await db.users.anonymize(target.id, {
    email: anonymizedEmail(target.id),
    name: ANONYMIZED_NAME,
  });
  if (user === null) throw noSuchUser(target.id);
  // The sessions' copies of the email (admin sessions and history) name nobody either.
  await db.sessions.replaceUserEmail(target.id, user.email);
  await audit(ctx, {
    action: "user.anonymize",
    resource: { type: "user", id: target.id },
    details: { source: target.source, role: target.role, revokedLoginSessions, endedSessions },
  });
  return { user, endedSessions, revokedLoginSessions };
}
