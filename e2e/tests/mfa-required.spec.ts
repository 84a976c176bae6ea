import { createLocalUser, createWorkspace, withPolicy } from "../src/api.ts";
import { totpForStep, totpStep } from "../src/totp.ts";
import { expect, expectHome, signIn, test, workspaceCard } from "./fixtures.ts";

test("with two factors required, a launch is refused until the person enrols TOTP and signs in with a code", async ({
  page,
  browser,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Mira Mfa" });
  const workspace = await createWorkspace(admin.api, { name: "Mira's Vault", allowedRoles: ["user"] });
  // Whatever happens below, the policy goes back to how it was for the other flows.
  const restore = await withPolicy(admin.api, "mfa-required", { enabled: false });
  try {
    // The admin switches the policy on in the portal.
    const adminContext = await browser.newContext({ baseURL: stack.api.url });
    try {
      const adminPage = await adminContext.newPage();
      await signIn(adminPage, stack.admin.email, stack.admin.password);
      await adminPage.goto("/admin/policies");
      await adminPage.getByRole("switch", { name: "Require two factors: off" }).click();
      await expect(adminPage.getByRole("switch", { name: "Require two factors: on" })).toBeChecked();
    } finally {
      await adminContext.close();
    }

    await signIn(page, person.email, person.password);
    const card = workspaceCard(page, workspace.name);
    await card.getByRole("button", { name: `Launch ${workspace.name}` }).click();
    await expect(card).toContainText("Two-factor sign-in required");

    // Enrol: read the setup key the page shows, answer with the code an authenticator would show.
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Account", exact: true })
      .click();
    const mfa = page.getByRole("region", { name: "Two-factor authentication" });
    await mfa.getByRole("button", { name: "Set up two-factor" }).click();
    await expect(mfa.getByRole("img", { name: "QR code for your authenticator app" })).toBeVisible();
    const secret = (await mfa.locator("code").textContent())?.trim() ?? "";
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    const enrolmentStep = totpStep();
    await mfa.getByLabel("Code from the app").fill(totpForStep(secret, enrolmentStep));
    await mfa.getByRole("button", { name: "Turn on" }).click();
    await expect(mfa.getByText("On", { exact: true })).toBeVisible();

    // This sign-in still used one factor: the launch stays refused.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Home" }).click();
    await card.getByRole("button", { name: `Launch ${workspace.name}` }).click();
    await expect(card).toContainText("Two-factor sign-in required");

    // Sign out and back in with password and a code. Codes are single-use, so this one must come
    // from a later time step than the enrolment's; the API accepts the next step (±1 for clock
    // drift), which spares the flow waiting up to 30 s for the authenticator to move on.
    await page.getByRole("button", { name: "Sign out" }).first().click();
    await expect(page).toHaveURL(/\/sign-in/);
    await page.getByLabel("Email", { exact: true }).fill(person.email);
    await page.getByLabel("Password", { exact: true }).fill(person.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByLabel("Authentication code").fill(totpForStep(secret, enrolmentStep + 1));
    await page.getByRole("button", { name: "Verify and sign in" }).click();
    await expectHome(page);

    // Launch opens the viewer; back home the card shows the session running, no refusal.
    await card.getByRole("button", { name: `Launch ${workspace.name}` }).click();
    await expect(page).toHaveURL(/\/workspace\/[0-9a-f-]{36}$/);
    await page.getByRole("link", { name: "Home", exact: true }).first().click();
    await expect(card.getByText("Running", { exact: true })).toBeVisible();
    await expect(card).not.toContainText("Two-factor sign-in required");
  } finally {
    await restore();
  }
});
