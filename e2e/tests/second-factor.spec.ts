import type { Page } from "@playwright/test";
import { createLocalUser, type SignedIn } from "../src/api.ts";
import { totpForStep, totpStep } from "../src/totp.ts";
import { expect, expectHome, signIn, test } from "./fixtures.ts";

/*
 * The second factor's ways back in, in Chromium: a recovery code signs in once and is refused in
 * words the second time; an admin's "Reset 2FA" sends the person back to set it up again.
 */

/** Enrols the person's authenticator over the API (the enrolment form has its own flow) and answers the recovery codes. */
async function enrol(person: SignedIn): Promise<string[]> {
  const { secret } = await person.api.auth.mfa.enroll.mutate({ password: person.password });
  const { recoveryCodes } = await person.api.auth.mfa.confirm.mutate({
    code: totpForStep(secret, totpStep()),
  });
  return recoveryCodes;
}

/** Email and password on the sign-in page, up to the second step. */
async function startSignIn(page: Page, person: SignedIn): Promise<void> {
  await page.goto("/sign-in");
  await page.getByLabel("Email", { exact: true }).fill(person.email);
  await page.getByLabel("Password", { exact: true }).fill(person.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("button", { name: "Use a recovery code" }).click();
}

test("a recovery code signs in once; the same code again is refused in words", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Rolf Recovery" });
  const [code = ""] = await enrol(person);

  await startSignIn(page, person);
  await page.getByLabel("Recovery code").fill(code);
  await page.getByRole("button", { name: "Verify and sign in" }).click();
  await expectHome(page);

  await page.context().clearCookies();
  await startSignIn(page, person);
  await page.getByLabel("Recovery code").fill(code);
  await page.getByRole("button", { name: "Verify and sign in" }).click();
  await expect(page.getByText("That recovery code is not right or was used already")).toBeVisible();
  await expect(page).toHaveURL(/\/sign-in$/);
});

test("an admin's Reset 2FA signs the person out and has them set it up again", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Tara Totp" });
  await enrol(person);

  await signIn(page, stack.admin.email, stack.admin.password);
  await page.goto("/admin/users");
  await page.getByRole("searchbox", { name: "Search users" }).fill(person.email);
  await page.getByRole("button", { name: `Reset second factor of ${person.email}` }).click();
  const question = page.getByRole("alertdialog", { name: "Reset the second factor?" });
  await expect(question).toContainText(`${person.email}'s authenticator and recovery codes stop working`);
  await question.getByRole("button", { name: "Reset second factor" }).click();
  await expect(page.getByText(`${person.email} was signed out everywhere.`, { exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: `Reset second factor of ${person.email}` })).toHaveCount(0);

  // Signed out: the old sign-in is refused. The password alone signs in, and the account asks to set it up.
  await expect(person.api.auth.me.query()).rejects.toThrow();
  await page.context().clearCookies();
  await signIn(page, person.email, person.password);
  await page
    .getByRole("navigation", { name: "Main" })
    .getByRole("link", { name: "Account", exact: true })
    .click();
  const mfa = page.getByRole("region", { name: "Two-factor authentication" });
  await expect(mfa.getByRole("button", { name: "Set up two-factor" })).toBeVisible();
});
