/// <reference lib="dom" />
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { createLocalUser, createWorkspace } from "../src/api.ts";
import { expect, signIn, test } from "./fixtures.ts";

/*
 * Every page of the portal, as an admin, at desktop and phone width in both themes: an axe-core
 * pass (WCAG 2.1 A/AA rules) that fails on serious or critical violations, a phone layout that
 * does not scroll sideways, and a screenshot of each for people to look at
 * (.results/screenshots/pages/<tag>/; NEOSC_SCREENSHOT_TAG names a before/after set).
 */

const SHOTS = join(
  import.meta.dirname,
  "..",
  ".results",
  "screenshots",
  "pages",
  process.env.NEOSC_SCREENSHOT_TAG ?? "current",
);

const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

interface PageUnderTest {
  name: string;
  path: string;
  /** What shows once the page has its data. */
  ready: (page: Page) => ReturnType<Page["getByRole"]>;
}

const heading = (name: string | RegExp) => (page: Page) => page.getByRole("heading", { level: 1, name });

function pagesFor(endedSessionId: string): PageUnderTest[] {
  return [
    { name: "home", path: "/", ready: heading(/^Good (morning|afternoon|evening), /) },
    { name: "sessions", path: "/sessions", ready: heading("Sessions") },
    { name: "sessions-history", path: "/sessions?tab=history", ready: heading("Sessions") },
    {
      name: "session-ended",
      path: `/workspace/${endedSessionId}`,
      ready: (page) => page.getByText(/Ended by you/).first() as ReturnType<Page["getByRole"]>,
    },
    { name: "account", path: "/account", ready: heading("Account") },
    { name: "admin-workspaces", path: "/admin/workspaces", ready: heading("Workspaces") },
    { name: "admin-service-accounts", path: "/admin/service-accounts", ready: heading("Service accounts") },
    { name: "admin-policies", path: "/admin/policies", ready: heading("Policies") },
    { name: "admin-audit", path: "/admin/audit", ready: heading("Audit log") },
    { name: "admin-users", path: "/admin/users", ready: heading("Users") },
    { name: "admin-organizations", path: "/admin/organizations", ready: heading("Organizations") },
    { name: "admin-stats", path: "/admin/stats", ready: heading("Stats") },
  ];
}

/** Serious and critical axe violations, one readable line each (rule, impact, where). */
async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return result.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .flatMap((violation) =>
      violation.nodes.map(
        (node) =>
          `${violation.id} (${violation.impact}): ${node.target.join(" ")} — ${node.failureSummary?.split("\n").slice(1).join(" ").trim()}`,
      ),
    );
}

/** Elements wider than the phone's screen (the page itself must not scroll sideways). */
async function sidewaysOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const found: string[] = [];
    if (document.documentElement.scrollWidth > width) {
      found.push(`the page is ${document.documentElement.scrollWidth}px wide on a ${width}px screen`);
    }
    // Content cut off inside a sideways scroller (a table wider than the card) counts too.
    for (const element of Array.from(document.querySelectorAll<HTMLElement>("main *"))) {
      const style = getComputedStyle(element);
      if (
        (style.overflowX === "auto" || style.overflowX === "scroll") &&
        element.scrollWidth > element.clientWidth + 1
      ) {
        found.push(
          `${element.tagName.toLowerCase()}.${element.className.split(" ").slice(0, 3).join(".")} scrolls sideways (${element.scrollWidth} > ${element.clientWidth})`,
        );
      }
    }
    return found;
  });
}

// One test per viewport and theme: each is a dozen axe passes, which on a loaded machine take
// minutes together, and a failure then names the viewport and theme it was found in.
test.describe.configure({ timeout: 180_000 });

for (const [viewportName, viewport] of Object.entries(VIEWPORTS)) {
  for (const colorScheme of ["light", "dark"] as const) {
    test(`every page at ${viewportName} width, ${colorScheme} theme: no serious axe violations${viewportName === "phone" ? ", no sideways scrolling" : ""}`, async ({
      browser,
      stack,
      admin,
    }) => {
      mkdirSync(SHOTS, { recursive: true });
      // Something in every list: a person, a terminal session they ran that an admin ended.
      const person = await createLocalUser(stack.api.url, admin.api, "neosc", { name: "Ada Accessible" });
      const workspace = await createWorkspace(admin.api, {
        name: `Ada's Shell (${viewportName}, ${colorScheme})`,
        kind: "terminal",
        program: "shell",
        allowedRoles: ["neosc", "admin"],
      });
      const launched = await admin.api.workspace.launch.mutate({ workspaceId: workspace.id });
      await admin.api.session.disconnect.mutate({ sessionId: launched.id, note: "accessibility pass" });
      const personLaunch = await person.api.workspace.launch.mutate({ workspaceId: workspace.id });
      await admin.api.session.disconnect.mutate({ sessionId: personLaunch.id });

      const problems: string[] = [];
      const context = await browser.newContext({ viewport, colorScheme, baseURL: stack.api.url });
      const page = await context.newPage();
      await signIn(page, admin.email, admin.password);
      for (const entry of pagesFor(launched.id)) {
        await page.goto(entry.path);
        await expect(entry.ready(page)).toBeVisible();
        // Let lists and charts arrive (loading skeletons are not what people read).
        await page.waitForLoadState("networkidle");
        await expect(page.locator('[aria-busy="true"], .animate-pulse')).toHaveCount(0);
        for (const line of await seriousViolations(page)) problems.push(`${entry.name}: ${line}`);
        if (viewportName === "phone") {
          for (const line of await sidewaysOverflow(page)) problems.push(`${entry.name}: ${line}`);
        }
        await page.screenshot({
          path: join(SHOTS, `${entry.name}-${viewportName}-${colorScheme}.png`),
          fullPage: true,
        });
      }
      await context.close();
      expect(problems, problems.join("\n")).toEqual([]);
    });
  }
}
