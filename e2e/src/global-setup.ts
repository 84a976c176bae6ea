import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESULTS_DIR, STACK_FILE, startStack, stopAndVerify, writeStackInfo } from "./stack.ts";

/**
 * Playwright global setup: starts the whole stack once for every suite and returns the
 * teardown. The stack's URLs reach the test workers through `.results/stack.json` (its path in
 * NEOSC_E2E_STACK). Teardown fails the run if any process it started is still alive.
 */
export default async function globalSetup() {
  const logDir = join(RESULTS_DIR, "logs");
  rmSync(logDir, { recursive: true, force: true });
  const stack = await startStack({ logDir, idp: true, pomerium: true });
  writeStackInfo(stack.info);
  process.env.NEOSC_E2E_STACK = STACK_FILE;
  return async () => {
    const pids = stack.pids();
    await stopAndVerify(stack);
    writeFileSync(join(RESULTS_DIR, "teardown.json"), `${JSON.stringify({ stopped: pids }, null, 2)}\n`);
  };
}
