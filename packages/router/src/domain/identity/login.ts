import { actorFor, anonymousActor } from "@neosc/core/audit";
import type { LoginInput, LoginOutput, RegisterInput } from "@neosc/core/auth";
import { DomainError, isDomainError, type Reason } from "@neosc/core/errors";
import type { User } from "@neosc/core/user";
import type { AuthedContext, InnerContext } from "../../context.ts";
import { audit } from "../audit/record.ts";
import { parseAddress } from "../policies/cidr.ts";
import { assertLoginAllowedFrom, openLoginSession } from "./identity.ts";
import { useRecoveryCode } from "./recovery-codes.ts";

/*
 * Local accounts: register, password (+ TOTP) login with throttling kept in MongoDB, logout and
 * password change. Every outcome is audited.
 */

export interface ThrottleKey {
  key: string;
  scope: "account" | "ip";
  limit: number;
}

/**
 * The network a per-address budget belongs to: the IPv4 address itself, or the /64 of an IPv6
 * address (a client usually holds a whole /64 and can use a fresh address for every request).
 */
export function throttleNetwork(clientIp: string): string {
  const address = parseAddress(clientIp);
  if (address === null) return clientIp;
  if (address.version === 4) {
    return [24, 16, 8, 0].map((shift) => Number((address.value >> BigInt(shift)) & 0xffn)).join(".");
  }
  const prefix = [112, 96, 80, 64].map((shift) => ((address.value >> BigInt(shift)) & 0xffffn).toString(16));
  return `${prefix.join(":")}::/64`;
}

export function throttleKeys(ctx: InnerContext, email: string): ThrottleKey[] {
  const { loginThrottle } = ctx.config;
  const keys: ThrottleKey[] = [
    { key: `email:${email}`, scope: "account", limit: loginThrottle.maxFailuresPerAccount },
  ];
  if (ctx.request.clientIp !== null) {
    const network = throttleNetwork(ctx.request.clientIp);
    keys.push({ key: `ip:${network}`, scope: "ip", limit: loginThrottle.maxFailuresPerIp });
  }
  return keys;
}

/**
 * Refuses while the account or the client address has used up its attempts (on any replica).
 * The caller has already recorded the current attempt under `keys`, so attempts sent in parallel
 * count against each other: of N at once, at most `limit` get through.
 */
async function assertNotThrottled(ctx: InnerContext, action: string, keys: ThrottleKey[], email: string) {
  const now = ctx.clock();
  const windowMs = ctx.config.loginThrottle.windowSeconds * 1000;
  const since = new Date(now.getTime() - windowMs);
  const counts = await Promise.all(keys.map((key) => ctx.db.loginAttempts.countSince(key.key, since)));
  let retryAfterSeconds = 0;
  let scope: ThrottleKey["scope"] | null = null;
  counts.forEach(({ count, oldestAt }, index) => {
    const key = keys[index];
    if (key === undefined || count <= key.limit) return;
    const freesAt = (oldestAt ?? now).getTime() + windowMs;
    const seconds = Math.max(1, Math.ceil((freesAt - now.getTime()) / 1000));
    if (seconds > retryAfterSeconds) {
      retryAfterSeconds = seconds;
      scope = key.scope;
    }
  });
  if (scope === null) return;
  await audit(ctx, {
    action,
    actor: anonymousActor(email),
    resource: { type: "user", id: null },
    result: "denied",
    reason: "throttled",
    details: { scope, retryAfterSeconds },
  });
  const message =
    action === "auth.login"
      ? "Too many failed sign-ins; try again later"
      : action === "auth.register"
        ? "Too many sign-ups from your network address; try again later"
        : "Too many failed attempts; try again later";
  throw new DomainError("TOO_MANY_REQUESTS", "throttled", message, { retryAfterSeconds, details: { scope } });
}

/** Outcomes that are failed guesses and keep counting against the account and the address. */
const FAILED_GUESSES: ReadonlySet<Reason> = new Set(["invalid_credentials", "invalid_totp"]);

/**
 * Runs a check of a secret (password, TOTP code) under the throttle of `keys`: the attempt is
 * recorded as a failure before the check, so guesses sent in parallel count against each other,
 * and forgotten again unless the check ends in a failed guess (or the throttle refused it).
 */
export async function throttledSecretCheck<T>(
  ctx: InnerContext,
  action: string,
  keys: ThrottleKey[],
  email: string,
  check: () => Promise<T>,
): Promise<T> {
  const attemptId = await ctx.db.loginAttempts.recordFailure(
    keys.map((key) => key.key),
    ctx.clock(),
  );
  let result: T;
  try {
    await assertNotThrottled(ctx, action, keys, email);
    result = await check();
  } catch (error) {
    if (!(isDomainError(error) && FAILED_GUESSES.has(error.reason)))
      await ctx.db.loginAttempts.forget(attemptId);
    throw error;
  }
  await ctx.db.loginAttempts.forget(attemptId);
  return result;
}

async function failLogin(
  ctx: InnerContext,
  email: string,
  user: User | null,
  reason: Extract<Reason, "invalid_credentials" | "invalid_totp">,
): Promise<never> {
  await audit(ctx, {
    action: "auth.login",
    actor: anonymousActor(email),
    resource: { type: "user", id: user?.id ?? null },
    result: "denied",
    reason,
  });
  throw reason === "invalid_totp"
    ? new DomainError("UNAUTHORIZED", "invalid_totp", "The authenticator code is not valid")
    : new DomainError("UNAUTHORIZED", "invalid_credentials", "Email or password is wrong");
}

async function assertLocalLoginEnabled(ctx: InnerContext, action: string, email: string) {
  const localLogin = await ctx.db.policies.get("local-login");
  if (localLogin.enabled) return;
  await audit(ctx, {
    action,
    actor: anonymousActor(email),
    resource: { type: "user", id: null },
    result: "denied",
    reason: "local_login_disabled",
  });
  throw new DomainError(
    "FORBIDDEN",
    "local_login_disabled",
    "Password sign-in is turned off; use single sign-on",
  );
}

/** Email + password (+ TOTP once enrolled) → a login session. */
export async function login(ctx: InnerContext, input: LoginInput): Promise<LoginOutput> {
  const { db } = ctx;
  const { email } = input;
  await assertLocalLoginEnabled(ctx, "auth.login", email);
  await assertLoginAllowedFrom(ctx, "auth.login", email);
  const output = await throttledSecretCheck(ctx, "auth.login", throttleKeys(ctx, email), email, () =>
    checkCredentials(ctx, input),
  );
  await db.loginAttempts.clear(`email:${email}`);
  return output;
}

async function checkCredentials(ctx: InnerContext, input: LoginInput): Promise<LoginOutput> {
  const { db, services } = ctx;
  const { email } = input;
  const record = await db.users.findAuthRecordByEmail(email);
  const passwordOk = await services.passwords.verify(record?.passwordHash ?? null, input.password);
  if (record === null || !passwordOk)
    return failLogin(ctx, email, record?.user ?? null, "invalid_credentials");
  const { user } = record;

  if (user.disabled) {
    await audit(ctx, {
      action: "auth.login",
      actor: anonymousActor(email),
      resource: { type: "user", id: user.id },
      result: "denied",
      reason: "account_disabled",
    });
    throw new DomainError("FORBIDDEN", "account_disabled", "This account is disabled");
  }

  let mfa = false;
  if (user.totpEnabled && input.recoveryCode !== undefined) {
    if (!(await useRecoveryCode(ctx, record, input.recoveryCode, "auth.login")))
      return failLogin(ctx, email, user, "invalid_totp");
    mfa = true;
  } else if (user.totpEnabled) {
    if (input.totp === undefined) {
      throw new DomainError("UNAUTHORIZED", "totp_required", "Enter the code from your authenticator app");
    }
    const step =
      record.totpSecret === null ? null : services.totp.verify(record.totpSecret, input.totp, ctx.clock());
    if (step === null || !(await db.users.consumeTotpStep(user.id, step))) {
      return failLogin(ctx, email, user, "invalid_totp");
    }
    mfa = true;
  }

  const { output, sessionId } = await openLoginSession(ctx, user, { method: "local", mfa });
  await audit(ctx, {
    action: "auth.login",
    actor: actorFor(user),
    resource: { type: "login_session", id: sessionId },
    details: { method: "local", mfa },
  });
  return output;
}

/**
 * Every sign-up attempt from an address counts (successful or not), against the same per-address
 * budget as failed logins but under its own key: unbounded sign-ups would let one address create
 * accounts at will, burn argon2 time and probe which emails exist.
 */
async function assertRegistrationNotThrottled(ctx: InnerContext, email: string) {
  const { clientIp } = ctx.request;
  if (clientIp === null) return;
  const keys: ThrottleKey[] = [
    {
      key: `register-ip:${throttleNetwork(clientIp)}`,
      scope: "ip",
      limit: ctx.config.loginThrottle.maxFailuresPerIp,
    },
  ];
  const attemptId = await ctx.db.loginAttempts.recordRegistration(
    keys.map((key) => key.key),
    ctx.clock(),
  );
  try {
    await assertNotThrottled(ctx, "auth.register", keys, email);
  } catch (error) {
    await ctx.db.loginAttempts.forget(attemptId);
    throw error;
  }
}

/** Self-service sign-up while the `self-registration` policy is on; always role `user`. */
export async function register(ctx: InnerContext, input: RegisterInput): Promise<LoginOutput> {
  const { db, services } = ctx;
  const selfRegistration = await db.policies.get("self-registration");
  if (!selfRegistration.enabled) {
    await audit(ctx, {
      action: "auth.register",
      actor: anonymousActor(input.email),
      resource: { type: "user", id: null },
      result: "denied",
      reason: "self_registration_closed",
    });
    throw new DomainError("FORBIDDEN", "self_registration_closed", "Self-registration is closed");
  }
  await assertLocalLoginEnabled(ctx, "auth.register", input.email);
  await assertLoginAllowedFrom(ctx, "auth.register", input.email);
  await assertRegistrationNotThrottled(ctx, input.email);

  const passwordHash = await services.passwords.hash(input.password);
  const user = await db.users.create({
    source: "local",
    email: input.email,
    name: input.name,
    role: "user",
    organizationId: null,
    passwordHash,
    mustChangePassword: false,
  });
  await audit(ctx, {
    action: "auth.register",
    actor: actorFor(user),
    resource: { type: "user", id: user.id },
    details: { role: user.role },
  });
  const { output } = await openLoginSession(ctx, user, { method: "local", mfa: false });
  return output;
}

/** Ends this login session (or all of the person's) on every replica, and clears the cookie. */
export async function logout(ctx: AuthedContext, input: { everywhere: boolean }): Promise<{ ok: true }> {
  const { db, identity, services } = ctx;
  const now = ctx.clock();
  let revoked = 0;
  if (identity.loginSession !== null && (await db.loginSessions.revoke(identity.loginSession.id, now)))
    revoked++;
  if (input.everywhere) revoked += await db.loginSessions.revokeAllForUser(identity.user.id, now);
  services.responseCookies.clearSession();
  await audit(ctx, {
    action: "auth.logout",
    resource: { type: "login_session", id: identity.loginSession?.id ?? null },
    details: { everywhere: input.everywhere, revoked },
  });
  return { ok: true };
}

/**
 * Re-authentication inside a signed-in session: the person's password, checked under the same
 * budget as sign-in (a borrowed session must not be able to guess it). A wrong one is audited
 * under `action` and answers FORBIDDEN `invalid_credentials` on `field`.
 */
export async function confirmPassword(
  ctx: AuthedContext,
  action: string,
  passwordHash: string,
  typed: { password: string; field: string },
): Promise<void> {
  const { identity, services } = ctx;
  await throttledSecretCheck(
    ctx,
    action,
    throttleKeys(ctx, identity.user.email),
    identity.user.email,
    async () => {
      if (await services.passwords.verify(passwordHash, typed.password)) return;
      await audit(ctx, {
        action,
        resource: { type: "user", id: identity.user.id },
        result: "denied",
        reason: "invalid_credentials",
      });
      throw new DomainError("FORBIDDEN", "invalid_credentials", "The password is wrong", {
        details: { field: typed.field },
      });
    },
  );
}

/** Sets a new password (clearing a one-time password) and signs out the person's other sessions. */
export async function changePassword(
  ctx: AuthedContext,
  input: { currentPassword: string; newPassword: string },
): Promise<{ ok: true }> {
  const { db, identity, services } = ctx;
  const record = await db.users.findAuthRecordById(identity.user.id);
  if (record === null || record.passwordHash === null) {
    throw new DomainError("BAD_REQUEST", "invalid_input", "This account signs in through single sign-on", {
      details: { field: "currentPassword" },
    });
  }
  await confirmPassword(ctx, "auth.changePassword", record.passwordHash, {
    password: input.currentPassword,
    field: "currentPassword",
  });
  if (input.newPassword === input.currentPassword) {
    throw new DomainError(
      "BAD_REQUEST",
      "invalid_input",
      "Choose a password different from the current one",
      {
        details: { field: "newPassword" },
      },
    );
  }
  const passwordHash = await services.passwords.hash(input.newPassword);
  await db.users.setPassword(identity.user.id, passwordHash, { mustChangePassword: false });
  const exceptId = identity.loginSession?.id;
  const revoked = await db.loginSessions.revokeAllForUser(
    identity.user.id,
    ctx.clock(),
    exceptId === undefined ? {} : { exceptId },
  );
  await audit(ctx, {
    action: "auth.changePassword",
    resource: { type: "user", id: identity.user.id },
    details: { otherSessionsRevoked: revoked },
  });
  return { ok: true };
}
