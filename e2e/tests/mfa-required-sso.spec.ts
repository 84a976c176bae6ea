import { createWorkspace, withPolicy } from "../src/api.ts";
import { IDP_ACCOUNTS } from "../src/stack.ts";
import { expect, expectHome, test, workspaceCard } from "./fixtures.ts";

/*
 * With two factors required, a person who signed in through SSO with one factor is sent back to
 * the identity provider's second factor, not to a NeoSC enrolment they cannot use.
 */

test("mfa-required refuses an SSO sign-in without the IdP's second factor with the SSO hint", async ({
  page,
  stack,
  admin,
}) => {
  const issuer = stack.idp?.issuer;
  if (!issuer) throw new Error("the stack has no IdP");
  const workspace = await createWorkspace(admin.api, {
    name: "Linus's Board",
    kind: "web",
    url: "https://board.example.test/",
    driver: null,
    program: null,
    allowedRoles: ["neosc"],
  });
  const restore = await withPolicy(admin.api, "mfa-required", { enabled: true });
  try {
    await page.goto("/sign-in");
    await page.getByRole("button", { name: "Sign in with SSO" }).click();
    // NeoSC's sign-in page has an Email field too: fill the IdP's, once its page is there.
    await expect(page).toHaveURL(new RegExp(`^${issuer}/interaction/`));
    await page.getByLabel("Email").fill(IDP_ACCOUNTS.flat.email);
    await page.getByLabel("Password").fill(IDP_ACCOUNTS.flat.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expectHome(page);

    const card = workspaceCard(page, workspace.name);
    await card.getByRole("button", { name: `Launch ${workspace.name}` }).click();
    await expect(card).toContainText("Two-factor sign-in required");
    await expect(card).toContainText(
      "sign in again through SSO and complete your identity provider's second factor",
    );
    await expect(card.getByRole("link", { name: "Set up two-factor" })).toHaveCount(0);
    await expect(page.getByRole("dialog", { name: "Confirm it's you" })).toHaveCount(0);
  } finally {
    await restore();
  }
});
