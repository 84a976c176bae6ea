import type { WorkspaceDriver } from "@neosc/core/workspace";
import type { Health, Provisioner, StartSpec, WorkspaceEndpoint } from "./provisioner.ts";
import { StartError } from "./provisioner.ts";

/**
 * The provisioner of a workspace host: routes each workspace to the driver its catalogue entry
 * names. Sessions are found by asking every driver, so no routing table is kept in memory.
 */
export function combineDrivers(drivers: Partial<Record<WorkspaceDriver, Provisioner>>): Provisioner {
  const all = Object.values(drivers).filter((driver): driver is Provisioner => driver !== undefined);

  function driverFor(spec: Pick<StartSpec, "workspace">): Provisioner {
    const name = spec.workspace.driver;
    const driver = name === null ? undefined : drivers[name];
    if (driver === undefined) {
      throw new StartError(
        name === null
          ? "This workspace names no driver that this install can run"
          : `The ${name} driver is not enabled on this workspace host`,
      );
    }
    return driver;
  }

  return {
    start: (spec) => driverFor(spec).start(spec),
    async endpoint(sessionId) {
      for (const driver of all) {
        const found: WorkspaceEndpoint | null = await driver.endpoint(sessionId);
        if (found !== null) return found;
      }
      return null;
    },
    async stop(sessionId) {
      for (const driver of all) await driver.stop(sessionId);
    },
    async list() {
      const lists = await Promise.all(all.map((driver) => driver.list()));
      return lists.flat();
    },
    async health(workspace): Promise<Health> {
      if (workspace !== undefined) {
        try {
          return await driverFor({ workspace }).health(workspace);
        } catch (error) {
          if (error instanceof StartError) return { ok: false, missing: [], problem: error.message };
          throw error;
        }
      }
      const results = await Promise.all(all.map((driver) => driver.health()));
      const missing = [...new Set(results.flatMap((result) => result.missing))].sort();
      const problem = results.find((result) => result.problem !== undefined)?.problem;
      return {
        ok: results.every((result) => result.ok),
        missing,
        ...(problem === undefined ? {} : { problem }),
      };
    },
    onExit(listener) {
      for (const driver of all) driver.onExit?.(listener);
    },
    async close() {
      await Promise.all(all.map((driver) => driver.close?.()));
    },
    async assign(warmId, sessionId) {
      for (const driver of all) {
        const endpoint = (await driver.assign?.(warmId, sessionId)) ?? null;
        if (endpoint !== null) return endpoint;
      }
      return null;
    },
  };
}
