import type { PolicyKey, PolicyPreview } from "@neosc/core/policy";
import type { AuthMethod } from "@neosc/core/user";

/** A change that can lock people out or end their work: the portal asks first. */
export function needsPreview(key: PolicyKey, enabled: boolean): boolean {
  return (
    (key === "local-login" && !enabled) ||
    (key === "ip-allowlist" && enabled) ||
    (key === "access-hours" && enabled)
  );
}

export interface PolicyConfirmation {
  title: string;
  /** What the change does right now, one fact per line. */
  lines: string[];
  /** Someone (the admin included) would lose access or work: a red button. */
  danger: boolean;
  confirmLabel: string;
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * The words of the confirmation for a risky policy change, from policy.preview; null when the
 * change, seen from here, cannot lock anyone out (a settings save that keeps the admin in and
 * ends nothing).
 */
export function policyConfirmation(
  key: PolicyKey,
  preview: PolicyPreview,
  options: { switching: boolean; method: AuthMethod },
): PolicyConfirmation | null {
  if (key === "ip-allowlist" && preview.callerAllowed !== null) {
    const address = preview.callerIp ?? "unknown (the API could not tell)";
    if (preview.callerAllowed && !options.switching) return null;
    return preview.callerAllowed
      ? {
          title: "Switch the network allowlist on?",
          lines: [
            `Your address as NeoSC sees it: ${address}. It is on the list, so you keep access.`,
            "Everyone else can sign in and launch only from the listed networks.",
          ],
          danger: false,
          confirmLabel: "Switch on",
        }
      : {
          title: "This allowlist locks you out",
          lines: [
            `Your address as NeoSC sees it: ${address}. It is not on the list.`,
            "You could not sign in or launch from here any more. Add your network first, or continue only if you can reach NeoSC from a listed one.",
          ],
          danger: true,
          confirmLabel: options.switching ? "Switch on anyway" : "Save anyway",
        };
  }
  if (key === "access-hours" && preview.sessionsEndingNow !== null) {
    const ending = preview.sessionsEndingNow;
    if (ending === 0 && !options.switching) return null;
    return {
      title: options.switching ? "Switch access hours on?" : "Save these access hours?",
      lines:
        ending === 0
          ? ["It is inside these hours now: no running session ends."]
          : [
              `It is outside these hours now: ${plural(ending, "running session ends", "running sessions end")} within a minute, and nobody can launch until the hours begin.`,
            ],
      danger: ending > 0,
      confirmLabel:
        ending > 0
          ? `End ${plural(ending, "session", "sessions")} and ${options.switching ? "switch on" : "save"}`
          : options.switching
            ? "Switch on"
            : "Save",
    };
  }
  if (key === "local-login" && preview.sso !== null) {
    const { sso } = preview;
    const lines: string[] = [];
    if (!sso.configured) {
      lines.push("Single sign-on is not configured on this installation: nobody could sign in any more.");
    } else if (sso.answered === true) {
      lines.push(`Single sign-on (${sso.issuer}) answered just now.`);
    } else if (sso.answered === false) {
      lines.push(
        `Single sign-on is configured (${sso.issuer}) but did not answer just now: people may be unable to sign in.`,
      );
    } else {
      lines.push("Sign-in through the access proxy (Pomerium) is configured.");
    }
    lines.push(
      sso.admins === 0
        ? "No admin signs in through single sign-on: afterwards nobody could administer NeoSC."
        : `${plural(sso.admins, "admin signs", "admins sign")} in through single sign-on.`,
    );
    if (options.method === "local") {
      lines.push(
        "You signed in with a password: this sign-in lasts until it expires, but you could not sign in that way again.",
      );
    }
    const working = sso.configured && sso.answered !== false && sso.admins > 0;
    return {
      title: "Switch password sign-in off?",
      lines,
      danger: !working,
      confirmLabel: working ? "Switch off" : "Switch off anyway",
    };
  }
  return null;
}
