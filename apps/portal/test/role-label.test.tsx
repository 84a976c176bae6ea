import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { secondFactorText } from "../src/areas/account/account-page.tsx";
import { RoleBadge } from "../src/components/role-badge.tsx";

/*
 * People read roles and sign-in facts in words: the role Zitadel calls `neosc` shows as "Staff"
 * (the stored value stays), and the account page says what the second factor was.
 */
describe("role names people read", () => {
  it.each([
    ["user", "User"],
    ["neosc", "Staff"],
    ["admin", "Admin"],
    ["auditor", "Auditor"],
  ] as const)("shows the role %s as %s", (role, label) => {
    render(<RoleBadge role={role} />);
    expect(screen.getByText(label)).toBeTruthy();
    expect(screen.queryByText("neosc")).toBeNull();
  });
});

describe("the second factor of this sign-in", () => {
  it("says what was used, not just yes or no", () => {
    expect(secondFactorText(true, "local")).toBe("Yes: password and a code from your authenticator app");
    expect(secondFactorText(false, "local")).toBe("No: password only");
    expect(secondFactorText(true, "sso")).toMatch(/identity provider checked a second factor/);
    expect(secondFactorText(false, "pomerium")).toMatch(/did not report a second factor/);
  });
});
