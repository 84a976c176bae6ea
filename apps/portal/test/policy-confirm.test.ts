import type { PolicyPreview } from "@neosc/core/policy";
import { describe, expect, it } from "vitest";
import { needsPreview, policyConfirmation } from "../src/areas/admin/policy-confirm.ts";

const nothing: PolicyPreview = {
  callerIp: "198.51.100.7",
  callerAllowed: null,
  sessionsEndingNow: null,
  sso: null,
};
const switching = { switching: true, method: "local" as const };

describe("confirmations before a policy change can lock people out", () => {
  it("asks only for the risky directions", () => {
    expect(needsPreview("local-login", false)).toBe(true);
    expect(needsPreview("local-login", true)).toBe(false);
    expect(needsPreview("ip-allowlist", true)).toBe(true);
    expect(needsPreview("access-hours", true)).toBe(true);
    expect(needsPreview("access-hours", false)).toBe(false);
    expect(needsPreview("max-concurrent-sessions", true)).toBe(false);
  });

  it("shows the admin's own address and says when the allowlist would exclude it", () => {
    const out = policyConfirmation("ip-allowlist", { ...nothing, callerAllowed: false }, switching);
    expect(out).toMatchObject({
      title: "This allowlist locks you out",
      danger: true,
      confirmLabel: "Switch on anyway",
    });
    expect(out?.lines[0]).toBe("Your address as NeoSC sees it: 198.51.100.7. It is not on the list.");
    const kept = policyConfirmation("ip-allowlist", { ...nothing, callerAllowed: true }, switching);
    expect(kept).toMatchObject({ danger: false });
    expect(kept?.lines[0]).toContain("198.51.100.7. It is on the list");
    // Saving a list that still holds the admin's address needs no question.
    expect(
      policyConfirmation(
        "ip-allowlist",
        { ...nothing, callerAllowed: true },
        { ...switching, switching: false },
      ),
    ).toBeNull();
  });

  it("says how many running sessions access hours would end now", () => {
    const out = policyConfirmation("access-hours", { ...nothing, sessionsEndingNow: 3 }, switching);
    expect(out?.lines[0]).toContain("3 running sessions end within a minute");
    expect(out).toMatchObject({ danger: true, confirmLabel: "End 3 sessions and switch on" });
    expect(
      policyConfirmation(
        "access-hours",
        { ...nothing, sessionsEndingNow: 0 },
        { ...switching, switching: false },
      ),
    ).toBeNull();
  });

  it("says whether single sign-on works right now before password sign-in goes off", () => {
    const none = policyConfirmation(
      "local-login",
      { ...nothing, sso: { configured: false, issuer: null, answered: null, admins: 0 } },
      switching,
    );
    expect(none?.lines[0]).toContain("not configured");
    expect(none).toMatchObject({ danger: true, confirmLabel: "Switch off anyway" });
    const silent = policyConfirmation(
      "local-login",
      { ...nothing, sso: { configured: true, issuer: "https://id.example", answered: false, admins: 1 } },
      switching,
    );
    expect(silent?.lines[0]).toContain("did not answer just now");
    expect(silent?.danger).toBe(true);
    const working = policyConfirmation(
      "local-login",
      { ...nothing, sso: { configured: true, issuer: "https://id.example", answered: true, admins: 2 } },
      switching,
    );
    expect(working?.lines).toEqual([
      "Single sign-on (https://id.example) answered just now.",
      "2 admins sign in through single sign-on.",
      "You signed in with a password: this sign-in lasts until it expires, but you could not sign in that way again.",
    ]);
    expect(working).toMatchObject({ danger: false, confirmLabel: "Switch off" });
  });
});
