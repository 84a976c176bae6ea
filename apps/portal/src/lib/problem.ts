import type { DomainErrorData } from "@neosc/core/errors";
import type { ApiError } from "./api-error.ts";

/** A refusal explained in words, with an optional place to go and fix it. */
export interface Problem {
  title: string;
  message: string;
  action?: { to: string; label: string };
}

const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const DAY_SHORT = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "Monday to Friday", "every day", "Mon, Wed and Fri". */
export function describeDays(days: readonly number[]): string {
  const sorted = [...new Set(days)].filter((d) => d >= 0 && d <= 6).sort((a, b) => a - b);
  if (sorted.length === 7) return "every day";
  if (sorted.length === 0) return "no day";
  const first = sorted[0] ?? 0;
  const last = sorted[sorted.length - 1] ?? 0;
  const contiguous = sorted.length > 2 && last - first === sorted.length - 1;
  if (contiguous) return `${DAY_NAMES[first]} to ${DAY_NAMES[last]}`;
  if (sorted.length === 1) return `${DAY_NAMES[first]}s`;
  const names = sorted.map((d) => DAY_SHORT[d]);
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

function seconds(value: number): string {
  if (value < 90) return plural(Math.max(1, Math.ceil(value)), "second");
  return plural(Math.ceil(value / 60), "minute");
}

/**
 * Turns a domain refusal (reason + details) into words. Exhaustive over the reasons in
 * `@neosc/core/errors`, so a new reason cannot ship without a sentence; details are read as
 * `ReasonDetails` types them, so the portal reads only what the server sends.
 */
export function describeReason(domain: DomainErrorData, fallback = "The request was refused."): Problem {
  switch (domain.reason) {
    case "max_concurrent_sessions": {
      const limit = domain.details?.limit ?? null;
      const active = domain.details?.active ?? limit;
      const message =
        limit === null
          ? "You already have as many active sessions as the policy allows. Stop one to launch another."
          : `You already have ${plural(active ?? limit, "active session")} — the limit is ${limit}. Stop one to launch another.`;
      return {
        title: "Session limit reached",
        message,
        action: { to: "/sessions", label: "Manage sessions" },
      };
    }
    case "mfa_required":
      // Signed in through the IdP: NeoSC's own authenticator is not theirs to set up.
      if (domain.details?.method === "sso" || domain.details?.method === "pomerium") {
        return {
          title: "Two-factor sign-in required",
          message:
            "Launching workspaces needs a sign-in with two factors, and this sign-in through single sign-on used only one. Sign out, then sign in again through SSO and complete your identity provider's second factor (its authenticator app or security key; set one up there if you have none).",
        };
      }
      return {
        title: "Two-factor sign-in required",
        message:
          "Launching workspaces needs a sign-in with two factors. Set up an authenticator app in your account; the next launch then asks for a code from it.",
        action: { to: "/account#mfa", label: "Set up two-factor" },
      };
    case "outside_access_hours": {
      const hours = domain.details;
      const when = hours
        ? ` Workspaces can be launched ${hours.days.length > 0 ? `${describeDays(hours.days)}, ` : ""}${hours.start}–${hours.end} (${hours.timeZone} time).`
        : "";
      return { title: "Outside access hours", message: `Launching is closed right now.${when}` };
    }
    case "ip_not_allowed": {
      const ip = domain.details?.clientIp;
      return {
        title: "Network not allowed",
        message: `${ip ? `Your address (${ip})` : "Your network address"} is not on the allowed list. Connect from an approved network (for example the office or VPN) and try again.`,
      };
    }
    case "role_not_allowed": {
      const allowed = domain.details?.allowedRoles;
      const role = domain.details?.role;
      const who =
        allowed && allowed.length > 0
          ? `This workspace is for the ${joinWords(allowed)} role${allowed.length > 1 ? "s" : ""}`
          : "Your role may not use this workspace";
      return {
        title: "Not available for your role",
        message: `${who}${role ? `; you are signed in as ${role}` : ""}.`,
      };
    }
    case "workspace_disabled":
      return {
        title: "Workspace switched off",
        message: "An administrator has switched this workspace off.",
      };
    case "organization_mismatch":
      return {
        title: "Another organization's workspace",
        message: "This workspace belongs to a different organization.",
      };
    case "role_required":
      return { title: "Not allowed", message: "Your role does not allow this action." };
    case "not_owner":
      return {
        title: "Not yours",
        message: "Only the owner of this session or an administrator can do that.",
      };
    case "throttled": {
      const wait = domain.retryAfterSeconds;
      return {
        title: "Too many attempts",
        message: wait ? `Please wait ${seconds(wait)} and try again.` : "Please wait a moment and try again.",
      };
    }
    case "not_authenticated":
    case "session_revoked":
    case "session_expired":
    case "invalid_token":
      return {
        title: "Signed out",
        message: "Your sign-in has ended. Please sign in again.",
        action: { to: "/sign-in", label: "Sign in" },
      };
    case "invalid_assertion":
      return {
        title: "Identity not accepted",
        message:
          "The identity from the access proxy could not be verified. Reload the page to sign in again.",
      };
    case "invalid_credentials":
      return { title: "Sign-in failed", message: "The email or password is not right." };
    case "account_disabled":
      return {
        title: "Account disabled",
        message: "This account has been disabled. Contact an administrator.",
      };
    case "totp_required":
      return { title: "Code needed", message: "Enter the six-digit code from your authenticator app." };
    case "invalid_totp":
      return {
        title: "Wrong code",
        message: "That code is not right or has expired. Enter the current code.",
      };
    case "totp_not_enrolled":
      return {
        title: "Two-factor not set up",
        message: "Two-factor authentication is not set up for this account.",
      };
    case "totp_already_enrolled":
      return {
        title: "Already set up",
        message: "Two-factor authentication is already on for this account.",
      };
    case "password_change_required":
      return {
        title: "New password needed",
        message: "Choose a new password before continuing.",
        action: { to: "/change-password", label: "Change password" },
      };
    case "sso_not_configured":
      return { title: "SSO not configured", message: "Single sign-on is not set up on this server." };
    case "sso_failed":
      return {
        title: "SSO sign-in failed",
        message: "The identity provider's answer could not be used. Please try again.",
      };
    case "csrf_rejected":
      return {
        title: "Request blocked",
        message: "The request was blocked as a possible cross-site request. Reload the page and try again.",
      };
    case "self_registration_closed":
      return {
        title: "Registration closed",
        message: "New accounts can only be created by an administrator.",
      };
    case "local_login_disabled":
      return { title: "Password sign-in is off", message: "This server only accepts single sign-on." };
    case "not_found":
      return { title: "Not found", message: "It no longer exists — it may have been deleted." };
    case "duplicate": {
      const field = domain.details?.field;
      return {
        title: "Already exists",
        message: field ? `That ${field} is already taken.` : "Something with that name already exists.",
      };
    }
    case "conflict":
      return {
        title: "Changed meanwhile",
        message: "Someone changed this at the same time. Reload and try again.",
      };
    case "invalid_input":
      return { title: "Check the form", message: "Some values are not valid." };
    case "session_not_active":
      return { title: "Session already ended", message: "That session is no longer running." };
    case "not_connectable":
      return { title: "Opens directly", message: "This workspace opens in its own browser tab." };
    case "last_admin":
      return {
        title: "Last administrator",
        message: "This is the last active administrator; promote someone else first.",
      };
    case "not_local_account":
      return {
        title: "No password here",
        message: `This person signs in through ${domain.details?.source === "service" ? "API tokens" : "single sign-on"}, not with a NeoSC password.`,
      };
    case "own_account":
      return { title: "Your own account", message: "Another administrator can remove your account." };
    case "token_revoked":
      return { title: "Token revoked", message: "This API token has been revoked; create a new one." };
    case "token_expired":
      return { title: "Token expired", message: "This API token has expired; create a new one." };
    case "token_replayed":
      return {
        title: "Sign-in already used",
        message: "This sign-in from your identity provider was already used. Sign in again.",
      };
    case "token_too_old": {
      const maxAge = domain.details?.maxAgeSeconds;
      return {
        title: "Sign-in too old",
        message: `The answer from your identity provider is older than ${maxAge === undefined ? "allowed" : seconds(maxAge)}. Sign in again.`,
      };
    }
    case "organization_not_empty": {
      const members = domain.details?.members ?? 0;
      const workspaces = domain.details?.workspaces ?? 0;
      const parts = [
        members > 0 ? plural(members, "member") : null,
        workspaces > 0 ? plural(workspaces, "workspace") : null,
      ].filter((part): part is string => part !== null);
      return {
        title: "Organization not empty",
        message: `It still has ${parts.length === 0 ? "members or workspaces" : joinWords(parts)}; move or remove them first.`,
      };
    }
    case "token_scope": {
      const procedure = domain.details?.procedure;
      return {
        title: "Outside the token's scope",
        message: procedure ? `This API token may not call ${procedure}.` : "This API token may not do that.",
      };
    }
    case "workspace_unavailable":
      // The server's message says why (which packages the hosts lack, or that they are full).
      return { title: "Workspace unavailable", message: fallback };
    case "launch_failed":
      return { title: "The workspace did not start", message: fallback };
    case "recording_unavailable":
      return {
        title: "Recording unavailable",
        message: `Sessions here must be recorded, and recording does not work right now. ${fallback}`,
      };
    case "database_unavailable":
      return {
        title: "Temporarily unavailable",
        message: "The service cannot reach its database. Please try again shortly.",
      };
    default: {
      const unknown: never = domain;
      return { title: "Refused", message: `${fallback} (${(unknown as DomainErrorData).reason})` };
    }
  }
}

/** Words for any failed call: the domain reason when there is one, else the transport's story. */
export function describeError(error: ApiError): Problem {
  if (error.domain) return describeReason(error.domain, error.message);
  if (Object.keys(error.fieldErrors).length > 0 || error.formErrors.length > 0) {
    return { title: "Check the form", message: error.formErrors[0] ?? "Some values are not valid." };
  }
  switch (error.code) {
    case "UNAUTHORIZED":
      return {
        title: "Signed out",
        message: "Please sign in again.",
        action: { to: "/sign-in", label: "Sign in" },
      };
    case "FORBIDDEN":
      return { title: "Not allowed", message: "You are not allowed to do that." };
    case "NOT_FOUND":
      return { title: "Not found", message: "It no longer exists." };
    case "TOO_MANY_REQUESTS":
      return { title: "Too many requests", message: "Please wait a moment and try again." };
    case null:
      return { title: "Cannot reach the server", message: "Check your connection and try again." };
    default:
      return { title: "Something went wrong", message: error.message };
  }
}
