import type { DriverHealth, WorkspaceHost } from "@neosc/core/workspace-host";
import type { Collections, WorkspaceHostDoc } from "../collections.ts";
import { sharedCache } from "./cache.ts";

/** What a host publishes about itself at every heartbeat. */
export interface HostAnnouncement {
  id: string;
  name: string;
  url: string | null;
  capacity: number;
  capabilities: Record<string, DriverHealth>;
  /** Ready sandboxes started ahead, per workspace id (none when absent). */
  warm?: Record<string, number>;
}

/*
 * The registry of workspace hosts. A handful of documents (one per host), read whole at launch
 * and by the sweeper; each host writes only its own document, by `_id`.
 */
export interface WorkspaceHostsRepository {
  /** Creates or refreshes the host's document (`startedAt` is kept from the first call). */
  heartbeat(host: HostAnnouncement, at: Date): Promise<void>;
  /** Every registered host, live or not, by name. */
  list(): Promise<WorkspaceHost[]>;
  findById(id: string): Promise<WorkspaceHost | null>;
  /** A host that stopped cleanly takes itself out of placement at once. */
  remove(id: string): Promise<void>;
}

function toHost(doc: WorkspaceHostDoc): WorkspaceHost {
  return {
    id: doc._id,
    name: doc.name,
    url: doc.url ?? null,
    capacity: doc.capacity,
    capabilities: doc.capabilities,
    // Hosts that registered before warm pools existed hold none.
    warm: doc.warm ?? {},
    startedAt: doc.startedAt,
    heartbeatAt: doc.heartbeatAt,
  };
}

export function createWorkspaceHostsRepository(
  collections: Collections,
  options: { cacheMaxAgeMs: number },
): WorkspaceHostsRepository {
  const { workspaceHosts } = collections;
  /*
   * The registry as every request of this replica sees it (see cache.ts): no version document,
   * since heartbeats rewrite it every few seconds; a copy is at most `cacheMaxAgeMs` old, which
   * is small against HOST_LOST_AFTER_MS.
   */
  const registry = sharedCache({
    markers: collections.markers,
    versionId: null,
    maxAgeMs: options.cacheMaxAgeMs,
    load: async () => (await workspaceHosts.find({}).sort({ name: 1, _id: 1 }).toArray()).map(toHost),
  });
  return {
    async heartbeat(host, at) {
      await workspaceHosts.updateOne(
        { _id: host.id },
        {
          $set: {
            name: host.name,
            capacity: host.capacity,
            capabilities: host.capabilities,
            warm: host.warm ?? {},
            heartbeatAt: at,
          },
          $setOnInsert: { startedAt: at },
        },
        { upsert: true },
      );
      await registry.changed();
    },
    async list() {
      return (await registry.get()).map((host) => ({ ...host }));
    },
    async findById(id) {
      const doc = await workspaceHosts.findOne({ _id: id });
      return doc === null ? null : toHost(doc);
    },
    async remove(id) {
      await workspaceHosts.deleteOne({ _id: id });
      await registry.changed();
    },
  };
}
