import type { AssertionClaims } from "@neosc/auth/testing/pomerium-signer";
import type { Browser } from "@playwright/test";
import { type AssertionKind, requestAssertion } from "../src/assertion-service.ts";
import { queryFromPage } from "../src/page-calls.ts";
import type { StackInfo } from "../src/stack.ts";
import { expect, expectHome, test } from "./fixtures.ts";

const ASSERTION_HEADER = "x-pomerium-jwt-assertion";

function pomeriumOf(stack: StackInfo) {
  if (!stack.pomeriumApi || !stack.assertionServiceUrl) throw new Error("the stack has no Pomerium-mode API");
  return { url: stack.pomeriumApi.url, signer: stack.assertionServiceUrl };
}

/** A browser whose every request carries the given headers, as Pomerium would add them. */
async function browserWith(browser: Browser, baseURL: string, headers: Record<string, string>) {
  return browser.newContext({ baseURL, extraHTTPHeaders: headers });
}

test("behind Pomerium, a valid signed assertion shows the portal as that person", async ({
  browser,
  stack,
}) => {
  const pomerium = pomeriumOf(stack);
  const claims: AssertionClaims = { email: "pia.proxy@kappa4.test", name: "Pia Proxy", neosc_roles: "neosc" };
  const assertion = await requestAssertion(pomerium.signer, "valid", claims);
  const context = await browserWith(browser, pomerium.url, { [ASSERTION_HEADER]: assertion });
  try {
    const page = await context.newPage();
    await page.goto("/");
    await expectHome(page);
    await expect(page.getByRole("heading", { level: 1 })).toContainText("Pia");
    // No sign-in page behind the proxy: it sends the person straight on.
    await page.goto("/sign-in");
    await expectHome(page);

    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Account", exact: true })
      .click();
    await expect(page.getByText(claims.email).first()).toBeVisible();
    await expect(page.getByText("Access proxy (Pomerium)")).toBeVisible();
    const me = await queryFromPage(page, "auth.me");
    expect(me.status).toBe(200);
    expect(me.result.ok && me.result.data).toMatchObject({
      method: "pomerium",
      user: { email: claims.email, role: "neosc", source: "pomerium" },
    });
  } finally {
    await context.close();
  }
});

type HeadersFor = (signer: string, claims: AssertionClaims) => Promise<Record<string, string>>;
const signed =
  (kind: AssertionKind): HeadersFor =>
  async (signer, claims) => ({ [ASSERTION_HEADER]: await requestAssertion(signer, kind, claims) });

// The full list of forgeries is covered by packages/auth's tests; here the browser path.
const refused: { name: string; headers: HeadersFor }[] = [
  { name: "an expired assertion", headers: signed("expired") },
  { name: "an assertion signed by a key not in the JWKS", headers: signed("otherKey") },
  {
    name: "a bare X-Pomerium-Email header",
    headers: async (_signer, claims) => ({ "x-pomerium-email": claims.email }),
  },
];

for (const { name, headers } of refused) {
  test(`behind Pomerium, ${name} gets 401 and no portal`, async ({ browser, stack }) => {
    const pomerium = pomeriumOf(stack);
    const claims: AssertionClaims = {
      email: "mallory@kappa4.test",
      name: "Mallory Forger",
      neosc_roles: "admin",
    };
    const context = await browserWith(browser, pomerium.url, await headers(pomerium.signer, claims));
    try {
      const page = await context.newPage();
      const meAnswer = page.waitForResponse((response) => response.url().includes("auth.me"));
      await page.goto("/");
      expect((await meAnswer).status()).toBe(401);
      const me = await queryFromPage(page, "auth.me");
      expect(me.status).toBe(401);
      expect(me.result.ok ? null : me.result.error.code).toBe("UNAUTHORIZED");
      await expect(page.getByRole("heading", { name: /^Good (morning|afternoon|evening)/ })).toHaveCount(0);
      await expect(page.getByText("Mallory")).toHaveCount(0);
    } finally {
      await context.close();
    }
  });
}
