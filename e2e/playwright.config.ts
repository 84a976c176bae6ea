import { defineConfig } from "@playwright/test";

const chromium = process.env.NEOSC_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Browser flows against the real stack (database, stand-in IdP, API serving the built portal,
 * a second API in Pomerium mode) started once by `src/global-setup.ts`.
 *
 * One worker: the flows share one API and switch global policies (MFA required, max sessions),
 * so running them side by side would let one flow's policy leak into another. No retries:
 * a flaky flow is a bug to fix, not to hide.
 */
export default defineConfig({
  testDir: "tests",
  outputDir: ".results/artifacts",
  globalSetup: "./src/global-setup.ts",
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    launchOptions: {
      executablePath: chromium,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    actionTimeout: 10_000,
    navigationTimeout: 20_000,
  },
});
