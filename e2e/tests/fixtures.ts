import { test as base, expect, type Page } from "@playwright/test";
import { type SignedIn, signInApi } from "../src/api.ts";
import { readStackInfo, type StackInfo } from "../src/stack.ts";

interface WorkerFixtures {
  stack: StackInfo;
  /** The bootstrap admin, signed in over the API (for setting the scene, not for assertions). */
  admin: SignedIn;
}

export const test = base.extend<object, WorkerFixtures>({
  stack: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright requires a destructuring pattern here
    async ({}, use) => {
      await use(readStackInfo());
    },
    { scope: "worker" },
  ],
  admin: [
    async ({ stack }, use) => {
      await use(await signInApi(stack.api.url, stack.admin.email, stack.admin.password));
    },
    { scope: "worker" },
  ],
  baseURL: async ({ stack }, use) => {
    await use(stack.api.url);
  },
});

export { expect };

/** Signs in through the portal's form and waits for the home page. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/sign-in");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expectHome(page);
}

export async function expectHome(page: Page): Promise<void> {
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(/^Good (morning|afternoon|evening), /);
}

/** The card of one workspace on the home page. */
export function workspaceCard(page: Page, name: string) {
  return page.getByRole("article", { name, exact: true });
}

/** The "Running now" list on the home page. */
export function runningNow(page: Page) {
  return page.getByRole("region", { name: "Running now" });
}
