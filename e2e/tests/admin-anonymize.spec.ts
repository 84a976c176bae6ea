import { createLocalUser, createWorkspace } from "../src/api.ts";
import { expect, signIn, test } from "./fixtures.ts";

/*
 * An admin anonymizes a person from the users page, after the question: from then on nobody finds
 * them by name or email, and the history names the placeholder instead of them.
 */

test("anonymize asks first, then the person is gone by name and email, also from the history", async ({
  page,
  stack,
  admin,
}) => {
  const person = await createLocalUser(stack.api.url, admin.api, "user", { name: "Anja Anonym" });
  const workspace = await createWorkspace(admin.api, {
    name: "Anja's Notes",
    kind: "web",
    url: "https://notes.example.test/",
    driver: null,
    program: null,
    allowedRoles: ["user"],
  });
  // One session in the history, one still running when the admin acts.
  await person.api.workspace.launch.mutate({ workspaceId: workspace.id });
  await person.api.workspace.stop.mutate({ workspaceId: workspace.id });
  await person.api.workspace.launch.mutate({ workspaceId: workspace.id });
  const placeholder = `anonymized-${person.id}@anonymized.invalid`;

  await signIn(page, stack.admin.email, stack.admin.password);
  await page.goto("/admin/users");
  const search = page.getByRole("searchbox", { name: "Search users" });
  await search.fill(person.email);
  await page.getByRole("button", { name: `Anonymize ${person.email}` }).click();
  const question = page.getByRole("alertdialog", { name: `Anonymize ${person.email}?` });
  await expect(question).toContainText(`Anja Anonym (${person.email}) becomes "Anonymized person"`);
  await expect(question).toContainText("1 running session ends now (Anja's Notes).");
  await question.getByRole("button", { name: "Anonymize person" }).click();
  await expect(page.getByText("Person anonymized", { exact: true })).toBeVisible();

  // Neither the email nor the name finds anyone any more.
  await expect(page.getByText("No users match")).toBeVisible();
  await search.fill("Anja Anonym");
  await expect(page.getByText("No users match")).toBeVisible();

  // Both sessions are in the history under the placeholder, and nothing there names the person.
  await page.goto("/sessions?tab=history");
  const history = page.getByRole("tabpanel", { name: "History" });
  await expect(history.getByRole("row").filter({ hasText: placeholder })).toHaveCount(2);
  await expect(history).not.toContainText(person.email);
});
