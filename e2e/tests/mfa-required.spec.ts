import { join } from "node:path";
import { createLocalUser, createWorkspace, withPolicy } from "../src/api.ts";
import { totpForStep, totpStep } from "../src/totp.ts";
import { expect, signIn, test, workspaceCard } from "./fixtures.ts";

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

test("with two factors required, a launch asks an enrolled person for a code right there and continues", async ({
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

    // Enrol: the password again, then read the setup key and answer with the code an authenticator would show.
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Account", exact: true })
      .click();
    const mfa = page.getByRole("region", { name: "Two-factor authentication" });
    await mfa.getByRole("button", { name: "Set up two-factor" }).click();
    await mfa.getByLabel("Your password").fill(`${person.password}-wrong`);
    await mfa.getByRole("button", { name: "Continue" }).click();
    await expect(mfa.getByText("That password is not right")).toBeVisible();
    await mfa.getByLabel("Your password").fill(person.password);
    await mfa.getByRole("button", { name: "Continue" }).click();
    await expect(mfa.getByRole("img", { name: "QR code for your authenticator app" })).toBeVisible();
    const secret = (await mfa.locator("code").textContent())?.trim() ?? "";
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    const enrolmentStep = totpStep();
    await mfa.getByLabel("Code from the app").fill(totpForStep(secret, enrolmentStep));
    await mfa.getByRole("button", { name: "Turn on" }).click();

    // Ten recovery codes, shown this once.
    const codes = mfa.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
    await expect(codes).toHaveCount(10);
    await mfa.getByRole("button", { name: "I have saved them" }).click();
    await expect(mfa.getByText("On", { exact: true })).toBeVisible();
    await expect(mfa).toContainText("Recovery codes: 10 of 10 left");

    // This sign-in used one factor: the launch asks for a code on the spot instead of refusing.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Home" }).click();
    await card.getByRole("button", { name: `Launch ${workspace.name}` }).click();
    const stepUp = page.getByRole("dialog", { name: "Confirm it's you" });
    await expect(stepUp).toContainText(`${workspace.name} needs a sign-in with two factors`);
    await page.screenshot({ path: join(SCREENSHOTS, "mfa-step-up-dialog.png") });
    await stepUp.getByLabel("Code from your authenticator app").fill("000000");
    await stepUp.getByRole("button", { name: "Verify and launch" }).click();
    await expect(stepUp).toContainText("That code is not right or has expired");

    // Codes are single-use, so this one comes from the step after the enrolment's; the API accepts
    // the next step (±1 for clock drift), which spares the flow waiting for the authenticator.
    await stepUp.getByLabel("Code from your authenticator app").fill(totpForStep(secret, enrolmentStep + 1));
    await stepUp.getByRole("button", { name: "Verify and launch" }).click();

    // The launch carries on into the viewer; back home the card shows the session running.
    await expect(page).toHaveURL(/\/workspace\/[0-9a-f-]{36}$/);
    await page.getByRole("link", { name: "Home", exact: true }).first().click();
    await expect(card.getByText("Running", { exact: true })).toBeVisible();
    await expect(card).not.toContainText("Two-factor sign-in required");
  } finally {
    await restore();
  }
});
