import path from "node:path";
import type { WorkspaceDriver } from "@neosc/core/workspace";
import { createLocalDriver } from "@neosc/provisioner/local";
import type { Provisioner } from "@neosc/provisioner/provisioner";
import { createSshDriver } from "@neosc/provisioner/ssh";
import { createStaticDriver } from "@neosc/provisioner/static";

/**
 * The drivers a workspace host runs, with their state under `dataDir` (the host's own folder,
 * never shown to a sandbox). One definition for the API's in-process host and the host process.
 */
export function hostDrivers(dataDir: string): Partial<Record<WorkspaceDriver, Provisioner>> {
  return {
    local: createLocalDriver({ dataDir: path.join(dataDir, "local") }),
    static: createStaticDriver({ stateDir: path.join(dataDir, "static") }),
    ssh: createSshDriver({ stateDir: path.join(dataDir, "ssh") }),
  };
}
