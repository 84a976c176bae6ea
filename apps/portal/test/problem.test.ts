import { REASONS } from "@neosc/core/errors";
import { describe, expect, it } from "vitest";
import { readApiError } from "../src/lib/api-error.ts";
import { describeDays, describeError, describeReason } from "../src/lib/problem.ts";
import { refusal } from "./support/api-failure.ts";

describe("launch refusals in words", () => {
  it("max-concurrent-sessions names the count and the limit", () => {
    const problem = describeReason(refusal("max_concurrent_sessions", { limit: 2, active: 2 }));
    expect(problem.message).toBe(
      "You already have 2 active sessions — the limit is 2. Stop one to launch another.",
    );
    expect(problem.action).toEqual({ to: "/sessions", label: "Manage sessions" });
    expect(describeReason(refusal("max_concurrent_sessions", { limit: 1, active: 1 })).message).toMatch(
      /^You already have 1 active session — the limit is 1\./,
    );
  });

  it("mfa-required links to enrolment", () => {
    const problem = describeReason(refusal("mfa_required"));
    expect(problem.title).toBe("Two-factor sign-in required");
    expect(problem.action).toEqual({ to: "/account#mfa", label: "Set up two-factor" });
    expect(describeReason(refusal("mfa_required", { method: "local" })).action?.label).toBe(
      "Set up two-factor",
    );
  });

  it("mfa-required after single sign-on sends the person back to the IdP's second factor", () => {
    for (const method of ["sso", "pomerium"] as const) {
      const problem = describeReason(refusal("mfa_required", { method }));
      expect(problem.title).toBe("Two-factor sign-in required");
      expect(problem.message).toContain(
        "sign in again through SSO and complete your identity provider's second factor",
      );
      expect(problem.action).toBeUndefined();
    }
  });

  it("access-hours gives the days, hours and time zone", () => {
    const problem = describeReason(
      refusal("outside_access_hours", {
        timeZone: "Europe/Berlin",
        days: [1, 2, 3, 4, 5],
        start: "07:00",
        end: "19:00",
      }),
    );
    expect(problem.message).toBe(
      "Launching is closed right now. Workspaces can be launched Monday to Friday, 07:00–19:00 (Europe/Berlin time).",
    );
  });

  it("ip-allowlist shows the address that was refused", () => {
    const problem = describeReason(refusal("ip_not_allowed", { clientIp: "203.0.113.9" }));
    expect(problem.message).toMatch(/^Your address \(203\.0\.113\.9\) is not on the allowed list\./);
  });

  it("role-not-allowed names the roles", () => {
    const problem = describeReason(
      refusal("role_not_allowed", { role: "user", allowedRoles: ["neosc", "admin"] }),
    );
    expect(problem.message).toBe(
      "This workspace is for the neosc and admin roles; you are signed in as user.",
    );
  });

  it("workspace_disabled and not_found read as such", () => {
    expect(describeReason(refusal("workspace_disabled")).message).toBe(
      "An administrator has switched this workspace off.",
    );
    expect(describeReason(refusal("not_found")).title).toBe("Not found");
  });

  it("copes with missing details", () => {
    expect(describeReason(refusal("max_concurrent_sessions")).message).toMatch(
      /as many active sessions as the policy allows/,
    );
    expect(describeReason(refusal("outside_access_hours")).message).toBe("Launching is closed right now.");
    expect(describeReason(refusal("ip_not_allowed")).message).toMatch(/^Your network address is not/);
    expect(describeReason(refusal("role_not_allowed")).message).toBe("Your role may not use this workspace.");
  });

  it("has a sentence for every reason the API can send", () => {
    for (const reason of REASONS) {
      const problem = describeReason(refusal(reason));
      expect(problem.title.length, reason).toBeGreaterThan(0);
      expect(problem.message.length, reason).toBeGreaterThan(0);
      expect(problem.message, reason).not.toMatch(/undefined|null|\[object/);
    }
  });
});

describe("describeDays", () => {
  it("reads ranges, single days and lists", () => {
    expect(describeDays([0, 1, 2, 3, 4, 5, 6])).toBe("every day");
    expect(describeDays([5, 1, 3, 2, 4])).toBe("Monday to Friday");
    expect(describeDays([6])).toBe("Saturdays");
    expect(describeDays([1, 3, 5])).toBe("Mon, Wed and Fri");
    expect(describeDays([0, 6])).toBe("Sun and Sat");
  });
});

describe("describeError without a domain reason", () => {
  it("maps transport codes and network failures", () => {
    expect(describeError(readApiError(new Error("Failed to fetch"))).title).toBe("Cannot reach the server");
    expect(
      describeError(readApiError(Object.assign(new Error("x"), { data: { code: "FORBIDDEN" } }))).title,
    ).toBe("Not allowed");
  });
});
