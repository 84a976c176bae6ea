import type { Workspace } from "@neosc/core/workspace";
import {
  capabilityOf,
  HOST_LOST_AFTER_MS,
  type WorkspaceAvailability,
  type WorkspaceHost,
} from "@neosc/core/workspace-host";
import type { AuthedContext } from "../../context.ts";

/*
 * Whether a workspace can start on this install, decided from what the workspace hosts publish
 * in their heartbeats (ARCHITECTURE §9), so every API replica answers the same and a host that
 * lacks a package makes its workspaces unavailable instead of failing at launch.
 */

/**
 * The registered hosts this API can hand a session to (another API's in-process host is
 * registered too, but only that API can start sessions on it).
 */
export async function reachableHosts(ctx: AuthedContext): Promise<WorkspaceHost[]> {
  const client = ctx.services.workspaceHosts;
  if (client === null) return [];
  return (await ctx.db.workspaceHosts.list()).filter((host) => client.reaches(host));
}

const AVAILABLE: WorkspaceAvailability = { available: true, reason: null, missing: [] };

export function isLive(host: WorkspaceHost, now: Date): boolean {
  return now.getTime() - host.heartbeatAt.getTime() < HOST_LOST_AFTER_MS;
}

export function availabilityOf(
  workspace: Pick<Workspace, "kind" | "driver" | "program">,
  hosts: readonly WorkspaceHost[],
  now: Date,
): WorkspaceAvailability {
  if (workspace.kind === "web") return AVAILABLE;
  const capability = capabilityOf(workspace);
  if (capability === null) {
    return {
      available: false,
      reason: "This workspace names a container image but no driver; this install runs none",
      missing: [],
    };
  }
  const live = hosts.filter((host) => isLive(host, now));
  if (live.length === 0) return { available: false, reason: "No workspace host is running", missing: [] };
  const able = live.filter((host) => host.capabilities[capability]?.ok === true);
  if (able.length > 0) return AVAILABLE;
  const healths = live.flatMap((host) => {
    const health = host.capabilities[capability];
    return health === undefined ? [] : [health];
  });
  const missing = [...new Set(healths.flatMap((health) => health.missing))].sort();
  const problem = healths.find((health) => health.problem !== null)?.problem ?? null;
  const driver = workspace.driver ?? "";
  return {
    available: false,
    reason:
      healths.length === 0
        ? `No workspace host runs the ${driver} driver`
        : missing.length > 0
          ? `The workspace hosts lack ${missing.join(", ")}`
          : (problem ?? `The ${driver} driver cannot start it`),
    missing,
  };
}

/** `hosts`: every live host with room that can run it, least loaded first (`host` is the first). */
/** Why a launch is refused when no host that can run the workspace has room. */
export const HOSTS_FULL = "Every workspace host is full; try again later";

export type Placement =
  | { host: WorkspaceHost; hosts: WorkspaceHost[] }
  | { unavailable: WorkspaceAvailability };

/**
 * The least loaded live host that can run the workspace and has room (load = active sessions /
 * capacity; ties by name, so placement is deterministic).
 */
export function placeSession(
  workspace: Pick<Workspace, "kind" | "driver" | "program">,
  hosts: readonly WorkspaceHost[],
  activeByHost: ReadonlyMap<string, number>,
  now: Date,
): Placement {
  const availability = availabilityOf(workspace, hosts, now);
  if (!availability.available) return { unavailable: availability };
  const capability = capabilityOf(workspace);
  const candidates = hosts
    .filter((host) => isLive(host, now) && capability !== null && host.capabilities[capability]?.ok === true)
    .map((host) => ({ host, active: activeByHost.get(host.id) ?? 0 }))
    .filter(({ host, active }) => active < host.capacity)
    .sort(
      (a, b) =>
        a.active / a.host.capacity - b.active / b.host.capacity || a.host.name.localeCompare(b.host.name),
    );
  const chosen = candidates[0];
  if (chosen === undefined) {
    return {
      unavailable: { available: false, reason: HOSTS_FULL, missing: [] },
    };
  }
  return { host: chosen.host, hosts: candidates.map((candidate) => candidate.host) };
}
