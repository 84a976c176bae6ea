import path from "node:path";
import type { WorkspaceDriver } from "@neosc/core/workspace";
import type { Provisioner } from "@neosc/provisioner/provisioner";
import { createStaticDriver } from "@neosc/provisioner/static";

/**
 * The drivers a workspace host runs, with their state under `dataDir` (the host's own folder,
 * never shown to a sandbox). One definition for the API's in-process host and the host process.
 */
export function hostDrivers(dataDir: string): Partial<Record<WorkspaceDriver, Provisioner>> {
  return {
    static: createStaticDriver({ stateDir: path.join(dataDir, "static") }),
  };
}
