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

/** Launches a workspace from its card on Home; answers the session id from the session page's URL. */
export async function launchFromHome(page: Page, name: string): Promise<string> {
  await workspaceCard(page, name)
    .getByRole("button", { name: `Launch ${name}` })
    .click();
  await expect(page).toHaveURL(/\/workspace\/[0-9a-f-]{36}$/);
  return page.url().split("/").pop() ?? "";
}

/**
 * How many colours a sample of the remote screen's canvas inside `selector` has: a blank or
 * uniform screen has one or two, a drawn desktop many.
 */
export async function distinctColours(
  page: Page,
  selector = '[data-testid="workspace-screen"]',
): Promise<number> {
  return page.evaluate((within) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`${within} canvas`);
    if (canvas === null || canvas.width === 0) return 0;
    const context = canvas.getContext("2d");
    if (context === null) return 0;
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const seen = new Set<number>();
    for (let index = 0; index < data.length; index += 4 * 97) {
      seen.add(((data[index] ?? 0) << 16) | ((data[index + 1] ?? 0) << 8) | (data[index + 2] ?? 0));
    }
    return seen.size;
  }, selector);
}
