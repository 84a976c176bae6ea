import { isRunning } from "@neosc/core/process";
import { afterAll, beforeAll } from "vitest";
import { type ControlPlane, ensureControlPlaneBinaries, startControlPlane } from "../src/control-plane.ts";

/**
 * One real control plane for a test file: built (first time only, many minutes) and started in
 * beforeAll, stopped in afterAll. Where it cannot be built (no Go, no openssl) every test that asks
 * for it is skipped with a note naming what is missing — never passed silently.
 */
export function useControlPlane(options: { nodes?: number; nodeCpu?: string } = {}) {
  let plane: ControlPlane | undefined;
  let missing = "";
  beforeAll(async () => {
    const availability = await ensureControlPlaneBinaries();
    if (!availability.ok) {
      missing = `no Kubernetes control plane: missing ${availability.missing.join(", ")} (${availability.reason})`;
      console.warn(`SKIPPED: ${missing}`);
      return;
    }
    plane = await startControlPlane({ binDir: availability.binDir, ...options });
  }, 90 * 60_000);
  afterAll(async () => {
    if (!plane) return;
    await plane.stop();
    // Nothing of the control plane outlives the suite.
    const left = [plane.supervisorPid, ...Object.values(plane.pids)].filter(isRunning);
    if (left.length > 0)
      throw new Error(`control-plane processes still running after stop: ${left.join(", ")}`);
  }, 30_000);
  return {
    /** The running control plane, or the test is skipped with the reason. */
    get(context: { skip: (note?: string) => never }): ControlPlane {
      if (!plane) return context.skip(missing || "control plane did not start");
      return plane;
    },
  };
}
