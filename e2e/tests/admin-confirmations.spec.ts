import { join } from "node:path";
import { createLocalUser, createWorkspace, withPolicy } from "../src/api.ts";
import { expect, signIn, test } from "./fixtures.ts";

/*
 * Before an admin change that can lock people out or widen access, the portal asks, with the
 * facts of right now from policy.preview: the admin's own address against the allowlist, whether
 * single sign-on answers, and who becomes an admin. Cancel leaves everything as it was. At phone
 * width, so the dialogs are seen to fit.
 */

const SCREENSHOTS = join(import.meta.dirname, "..", ".results", "screenshots");

test.use({ viewport: { width: 390, height: 844 } });

test("switching on the allowlist or off password sign-in, and promoting someone, ask first with the facts", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Pia Promote" });
  await signIn(page, admin.email, admin.password);

  await page.goto("/admin/policies");
  await page.getByRole("switch", { name: "Network allowlist: off" }).click();
  const allowlist = page.getByRole("alertdialog");
  await expect(allowlist).toContainText(
    /Your address as NeoSC sees it: (127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)\./,
  );
  await page.screenshot({ path: join(SCREENSHOTS, "confirm-allowlist-phone.png") });
  await allowlist.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByRole("switch", { name: "Network allowlist: off" })).toBeVisible();

  await page.getByRole("switch", { name: "Password sign-in: on" }).click();
  const local = page.getByRole("alertdialog", { name: "Switch password sign-in off?" });
  // The e2e stack's API has the stand-in IdP configured, and it answers.
  await expect(local).toContainText(/Single sign-on \(http:\/\/127\.0\.0\.1:\d+[^)]*\) answered just now\./);
  await expect(local).toContainText("You signed in with a password");
  await page.screenshot({ path: join(SCREENSHOTS, "confirm-local-login-phone.png") });
  await local.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByRole("switch", { name: "Password sign-in: on" })).toBeVisible();
  expect((await admin.api.policy.list.query()).find((policy) => policy.key === "local-login")?.enabled).toBe(
    true,
  );

  await page.goto("/admin/users");
  await page.getByRole("combobox", { name: `Role of ${person.email}` }).selectOption("admin");
  const promote = page.getByRole("alertdialog", { name: `Make ${person.email} an admin?` });
  await expect(promote).toContainText("Admins can change the catalogue and every policy");
  await promote.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByRole("combobox", { name: `Role of ${person.email}` })).toHaveValue("user");
  await page.getByRole("combobox", { name: `Role of ${person.email}` }).selectOption("admin");
  await page.getByRole("alertdialog").getByRole("button", { name: "Make admin" }).click();
  await expect(page.getByRole("combobox", { name: `Role of ${person.email}` })).toHaveValue("admin");
});

test("switching on access hours that exclude now says how many running sessions end, and Cancel keeps them", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Hana Hours" });
  const workspace = await createWorkspace(admin.api, {
    name: "Hours Wiki",
    kind: "web",
    url: stack.api.inspectorUrl,
    driver: null,
    program: null,
    allowedRoles: ["user"],
  });
  await person.api.workspace.launch.mutate({ workspaceId: workspace.id });
  // Half an hour, twelve hours away from now: it is outside these hours whenever the test runs.
  const hour = String((new Date().getUTCHours() + 12) % 24).padStart(2, "0");
  const restore = await withPolicy(admin.api, "access-hours", {
    enabled: false,
    settings: { timeZone: "UTC", days: [0, 1, 2, 3, 4, 5, 6], start: `${hour}:00`, end: `${hour}:30` },
  });
  try {
    const running = (await admin.api.session.active.query()).length;
    expect(running).toBeGreaterThanOrEqual(1);
    await signIn(page, admin.email, admin.password);
    await page.goto("/admin/policies");
    await page.getByRole("switch", { name: "Access hours: off" }).click();
    const hours = page.getByRole("alertdialog", { name: "Switch access hours on?" });
    await expect(hours).toContainText(
      `It is outside these hours now: ${running} running ${running === 1 ? "session ends" : "sessions end"} within a minute`,
    );
    await expect(
      hours.getByRole("button", {
        name: `End ${running} ${running === 1 ? "session" : "sessions"} and switch on`,
      }),
    ).toBeVisible();
    await page.screenshot({ path: join(SCREENSHOTS, "confirm-access-hours-phone.png") });
    await hours.getByRole("button", { name: "Cancel" }).click();
    await expect(page.getByRole("switch", { name: "Access hours: off" })).toBeVisible();
    expect((await admin.api.session.active.query()).length).toBe(running);
  } finally {
    await restore();
  }
});
