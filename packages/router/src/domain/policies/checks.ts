import { isWithinAccessHours } from "@neosc/core/access-hours";
import { DomainError } from "@neosc/core/errors";
import type { PolicyOf } from "@neosc/core/policy";
import type { AuthMethod } from "@neosc/core/user";
import { ipInAnyCidr } from "./cidr.ts";

/*
 * The checks of ARCHITECTURE §6 that depend only on the policy and the request, as pure
 * functions: each returns the denial to throw (after auditing it), or null when allowed.
 * Login (identity) and launch (workspaces) share them.
 */

/** ip-allowlist: the client address must lie in one of the listed blocks. */
export function checkIpAllowlist(
  policy: PolicyOf<"ip-allowlist">,
  clientIp: string | null,
): DomainError | null {
  if (!policy.enabled || ipInAnyCidr(clientIp, policy.settings.cidrs)) return null;
  return new DomainError("FORBIDDEN", "ip_not_allowed", "Your network address is not on the allowlist", {
    details: { clientIp },
  });
}

/** access-hours: now must be on a listed weekday, between start and end, in the policy's zone. */
export function checkAccessHours(policy: PolicyOf<"access-hours">, now: Date): DomainError | null {
  if (!policy.enabled || isWithinAccessHours(now, policy.settings)) return null;
  const { timeZone, days, start, end } = policy.settings;
  return new DomainError(
    "FORBIDDEN",
    "outside_access_hours",
    `Workspaces can be launched ${start}–${end} (${timeZone})`,
    {
      details: { timeZone, days, start, end },
    },
  );
}

/**
 * mfa-required: the current login must have used two factors. `enrolled`: the person can raise
 * this login with a code (`auth.mfa.stepUp`), which the message says. Signed in through the IdP
 * (`method` sso or pomerium), the second factor is the IdP's: the message sends them back there.
 */
export function checkMfa(
  policy: PolicyOf<"mfa-required">,
  mfa: boolean,
  enrolled: boolean,
  method: AuthMethod,
): DomainError | null {
  if (!policy.enabled || mfa) return null;
  const throughIdp = method === "sso" || method === "pomerium";
  return new DomainError(
    "FORBIDDEN",
    "mfa_required",
    enrolled
      ? "Enter a code from your authenticator app to launch workspaces"
      : throughIdp
        ? "Sign in again through single sign-on with your identity provider's second factor to launch workspaces"
        : "Sign in with a second factor to launch workspaces",
    { details: { method } },
  );
}

/** Deadlines a new session gets from session-max-duration and idle-timeout. */
export function sessionDeadlines(
  maxDuration: PolicyOf<"session-max-duration">,
  idleTimeout: PolicyOf<"idle-timeout">,
  now: Date,
): { endsAt: Date | null; idleEndsAt: Date | null } {
  return {
    endsAt: maxDuration.enabled ? addMinutes(now, maxDuration.settings.minutes) : null,
    idleEndsAt: idleEndsAt(idleTimeout, now),
  };
}

/** When a session with its last sign of life at `now` goes idle, or null with the policy off. */
export function idleEndsAt(idleTimeout: PolicyOf<"idle-timeout">, now: Date): Date | null {
  return idleTimeout.enabled ? addMinutes(now, idleTimeout.settings.minutes) : null;
}

export function addMinutes(at: Date, minutes: number): Date {
  return new Date(at.getTime() + minutes * 60_000);
}
