import { ROLE_LABEL } from "@neosc/core/roles";
import type { Page } from "@playwright/test";
import { IDP_ACCOUNTS, IDP_ORGANIZATION } from "../src/stack.ts";
import { expect, expectHome, test } from "./fixtures.ts";

const cases = [
  {
    account: IDP_ACCOUNTS.admin,
    role: "admin",
    mfa: "No",
    claims: "the Zitadel roles object",
  },
  {
    account: IDP_ACCOUNTS.neosc,
    role: "neosc",
    mfa: "Yes",
    claims: "the Zitadel roles object, amr with mfa",
  },
  {
    account: IDP_ACCOUNTS.flat,
    role: "neosc",
    mfa: "No",
    claims: "only the flat neosc_roles claim",
  },
] as const;

for (const { account, role, mfa, claims } of cases) {
  test(`SSO through the IdP's login page: ${account.name} (${claims}) becomes ${role} of ${IDP_ORGANIZATION.name}`, async ({
    page,
    stack,
  }) => {
    const issuer = stack.idp?.issuer;
    if (!issuer) throw new Error("the stack has no IdP");
    await page.goto("/sign-in");
    await page.getByRole("button", { name: "Sign in with SSO" }).click();

    // The stand-in IdP's own page, on its own origin.
    await expect(page).toHaveURL(new RegExp(`^${issuer}/interaction/`));
    await page.getByLabel("Email").fill(account.email);
    await page.getByLabel("Password").fill(account.password);
    await page.getByRole("button", { name: "Sign in" }).click();

    await expectHome(page);
    await expect(page.getByRole("heading", { level: 1 })).toContainText(account.name.split(" ")[0] ?? "");
    const adminNav = page.getByRole("link", { name: "Audit log" });
    if (role === "admin") await expect(adminNav).toBeVisible();
    else await expect(adminNav).toHaveCount(0);

    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Account", exact: true })
      .click();
    await expect(row(page, "Email")).toHaveText(account.email);
    // The portal shows a role in words (neosc is "Staff"); the stored value is the claim's.
    await expect(row(page, "Role")).toHaveText(ROLE_LABEL[role]);
    await expect(row(page, "Organization")).toHaveText(IDP_ORGANIZATION.name);
    await expect(row(page, "Method")).toHaveText("Single sign-on");
    await expect(row(page, "Second factor")).toHaveText(new RegExp(`^${mfa}: `));
  });
}

/** The value next to a label in the account page's description lists. */
function row(page: Page, label: string) {
  return page
    .locator("dl > div")
    .filter({ has: page.getByRole("term").getByText(label, { exact: true }) })
    .getByRole("definition");
}
