import path from "node:path";
import type { WorkspaceDriver } from "@neosc/core/workspace";
import { createLocalDriver } from "@neosc/provisioner/local";
import type { Provisioner } from "@neosc/provisioner/provisioner";
import { createSshDriver } from "@neosc/provisioner/ssh";
import { createStaticDriver } from "@neosc/provisioner/static";

export interface HostDriverOptions {
  /**
   * The Kubernetes driver (@neosc/provisioner-kubernetes), when the process is configured for a
   * cluster (NEOSC_KUBERNETES); the app builds it, so the host itself never loads a Kubernetes
   * client.
   */
  kubernetes?: Provisioner | null;
}

/**
 * The drivers a workspace host runs, with their state under `dataDir` (the host's own folder,
 * never shown to a sandbox). One definition for the API's in-process host and the host process.
 */
export function hostDrivers(
  dataDir: string,
  options: HostDriverOptions = {},
): Partial<Record<WorkspaceDriver, Provisioner>> {
  return {
    local: createLocalDriver({ dataDir: path.join(dataDir, "local") }),
    static: createStaticDriver({ stateDir: path.join(dataDir, "static") }),
    ssh: createSshDriver({ stateDir: path.join(dataDir, "ssh") }),
    ...(options.kubernetes ? { kubernetes: options.kubernetes } : {}),
  };
}
