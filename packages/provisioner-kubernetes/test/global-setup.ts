import { isRunning } from "@neosc/core/process";
import type { TestProject } from "vitest/node";
import { type ClusterAccess, startTestCluster } from "../testing/cluster.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The control plane, or why there is none (the tests skip with that note). */
    cluster: ClusterAccess | { missing: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startTestCluster();
  if ("missing" in cluster) {
    console.warn(`SKIPPED: ${cluster.missing}`);
    project.provide("cluster", { missing: cluster.missing });
    return async () => {};
  }
  project.provide("cluster", cluster.access);
  return async () => {
    const { plane } = cluster;
    await plane.stop();
    const left = [plane.supervisorPid, ...Object.values(plane.pids)].filter(isRunning);
    if (left.length > 0)
      throw new Error(`control-plane processes still running after stop: ${left.join(", ")}`);
  };
}
