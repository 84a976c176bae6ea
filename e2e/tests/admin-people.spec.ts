import { join } from "node:path";
import { createLocalUser, createWorkspace, signInApi, unique } from "../src/api.ts";
import { expect, signIn, test } from "./fixtures.ts";

/*
 * An admin's actions on people and organizations, in Chromium: disabling says how many running
 * sessions end, a password reset hands over a one-time password once (the old one stops working,
 * the new one must be changed), removing someone ends their sessions and leaves their audit
 * entries readable; an organization lists its members, refuses deletion while it has any (saying
 * how many), and takes only a real domain name. Screenshots at desktop and phone width.
 */

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

test("disable, reset password and remove say what ends, and do it", async ({ page, stack, admin }) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Rita Reset" });
  const me = await person.api.auth.me.query();
  const workspace = await createWorkspace(admin.api, {
    name: "Rita's Wiki",
    kind: "web",
    url: stack.api.inspectorUrl,
    driver: null,
    program: null,
    allowedRoles: ["user"],
  });
  await person.api.workspace.launch.mutate({ workspaceId: workspace.id });

  await signIn(page, admin.email, admin.password);
  await page.goto("/admin/users");
  await page.getByRole("searchbox", { name: "Search users" }).fill(person.email);
  await page.getByRole("button", { name: `Disable ${person.email}` }).click();
  const disable = page.getByRole("alertdialog", { name: `Disable ${person.email}?` });
  await expect(disable).toContainText("1 running session ends now (Rita's Wiki).");
  await expect(disable.getByRole("button", { name: "Disable and end 1 session" })).toBeVisible();
  await page.screenshot({ path: join(SCREENSHOTS, "confirm-disable-desktop.png") });
  await disable.getByRole("button", { name: "Cancel" }).click();

  await page.getByRole("button", { name: `Reset password of ${person.email}` }).click();
  const reset = page.getByRole("alertdialog", { name: `Reset the password of ${person.email}?` });
  await expect(reset).toContainText("Their current password stops working");
  await reset.getByRole("button", { name: "Reset password" }).click();
  const issued = page.getByRole("dialog", { name: "New one-time password" });
  const oneTimePassword = (await issued.locator("code").textContent()) ?? "";
  expect(oneTimePassword.length).toBeGreaterThanOrEqual(10);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SCREENSHOTS, "reset-password-phone.png") });
  await issued.getByRole("button", { name: "Done" }).click();
  await expect(signInApi(stack.api.url, person.email, person.password)).rejects.toThrow();
  const fresh = await signInApi(stack.api.url, person.email, oneTimePassword);
  expect((await fresh.api.auth.me.query()).user.mustChangePassword).toBe(true);
  await expect(page.getByRole("table")).toContainText("must change password");

  await page.getByRole("button", { name: `Remove ${person.email}` }).click();
  const remove = page.getByRole("alertdialog", { name: `Remove ${person.email}?` });
  await expect(remove).toContainText("1 running session ends now (Rita's Wiki).");
  await expect(remove).toContainText("The audit log keeps what they did");
  await page.screenshot({ path: join(SCREENSHOTS, "confirm-remove-phone.png") });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: join(SCREENSHOTS, "confirm-remove-desktop.png") });
  await remove.getByRole("button", { name: "Remove person" }).click();
  await expect(page.getByText("No users match")).toBeVisible();

  const theirs = await admin.api.audit.list.query({ actorId: me.user.id, limit: 50 });
  expect(theirs.items.length).toBeGreaterThan(0);
  expect(theirs.items.every((entry) => entry.actor.email === person.email)).toBe(true);
  expect((await admin.api.session.list.query({ userId: me.user.id, limit: 10 })).items[0]).toMatchObject({
    status: "ended",
    userEmail: person.email,
  });
  expect((await admin.api.audit.verify.query()).ok).toBe(true);
});

test.describe("at phone width", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("an organization lists its members, refuses deletion while it has any, and takes only a real domain", async ({
    page,
    admin,
  }) => {
    const slug = unique("org");
    const org = await admin.api.organization.create.mutate({ name: `Org ${slug}`, slug });
    const { user: member } = await admin.api.user.create.mutate({
      email: `${unique("member")}@people.test`,
      name: "Molly Member",
      role: "user",
      organizationId: org.id,
    });

    await signIn(page, admin.email, admin.password);
    await page.goto("/admin/organizations");
    await page.getByRole("button", { name: `Members of ${org.name}: 1` }).click();
    const members = page.getByRole("dialog", { name: `Members of ${org.name}` });
    await expect(members.getByRole("list", { name: `Members of ${org.name}` })).toContainText(member.email);
    await page.screenshot({ path: join(SCREENSHOTS, "organization-members-phone.png") });
    await members.getByRole("button", { name: "Close" }).click();

    await page.getByRole("button", { name: `Delete ${org.name}` }).click();
    const ask = page.getByRole("alertdialog", { name: `Delete ${org.name}?` });
    await expect(ask).toContainText("It still has 1 member");
    await ask.getByRole("button", { name: "Delete organization" }).click();
    // The toast, not the screen reader's copy of it (a live region that may hold the same words).
    await expect(
      page
        .getByRole("region", { name: /Notifications/ })
        .getByText("It still has 1 member; move or remove them first."),
    ).toBeVisible();
    await page.screenshot({ path: join(SCREENSHOTS, "organization-not-empty-phone.png") });
    await page.keyboard.press("Escape");

    await admin.api.user.remove.mutate({ userId: member.id });
    await page.reload();
    await page.getByRole("button", { name: `Delete ${org.name}` }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Delete organization" }).click();
    await expect(page.getByRole("button", { name: `Delete ${org.name}` })).toHaveCount(0);

    await page.getByRole("button", { name: "New organization" }).click();
    const form = page.getByRole("dialog", { name: "New organization" });
    await form.getByLabel("Name").fill("Domain Check");
    await form.getByLabel("Domain (optional)").fill("not a domain");
    await form.getByRole("button", { name: "Create organization" }).click();
    await expect(form).toContainText("a domain name such as example.com");
    await form.getByLabel("Domain (optional)").fill(" Domain-Check.TEST ");
    await form.getByRole("button", { name: "Create organization" }).click();
    await expect(page.getByRole("table")).toContainText("domain-check.test");
  });
});
