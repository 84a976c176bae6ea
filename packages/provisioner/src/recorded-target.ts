import type { Workspace } from "@neosc/core/workspace";
import type { Endpoint, Health, Provisioner, StartSpec, WorkspaceEndpoint } from "./provisioner.ts";
import { StartError } from "./provisioner.ts";
import { SessionRecords } from "./state-dir.ts";

/*
 * A driver for a target that runs elsewhere (a static VNC server, an ssh host): nothing is
 * started. `start` checks that the target answers and keeps a per-session record of it, so every
 * later `endpoint` call (any gateway, after a restart) reaches the same target; `stop` forgets it.
 */

export interface RecordedTargetOptions<Record extends { sessionId: string }> {
  /** Folder for per-session records (mode 0700; they hold the target's secret). */
  stateDir: string;
  /** How long `start` waits for the target's banner (default 3 s). */
  connectTimeoutMs?: number | undefined;
  /** The record of a start; throws StartError when the workspace names no usable target. */
  recordFor(spec: StartSpec): Record;
  endpointOf(record: Record): WorkspaceEndpoint;
  /** Whether the target answers as the server it should be, within `timeoutMs`. */
  answers(endpoint: Endpoint, timeoutMs: number): Promise<boolean>;
  /** What `start` says when the target does not answer. */
  unreachable(record: Record): string;
  health(workspace?: Workspace): Health;
}

export function recordedTargetDriver<Record extends { sessionId: string }>(
  options: RecordedTargetOptions<Record>,
): Provisioner {
  const records = new SessionRecords<Record>(options.stateDir);
  const timeoutMs = options.connectTimeoutMs ?? 3000;
  return {
    async start(spec) {
      const existing = await records.read(spec.sessionId);
      if (existing !== null) return options.endpointOf(existing);
      const record = options.recordFor(spec);
      const endpoint = options.endpointOf(record);
      if (!(await options.answers(endpoint.endpoint, timeoutMs))) {
        throw new StartError(options.unreachable(record));
      }
      await records.write(record);
      return endpoint;
    },
    async endpoint(sessionId) {
      const record = await records.read(sessionId);
      return record === null ? null : options.endpointOf(record);
    },
    async stop(sessionId) {
      await records.remove(sessionId);
    },
    async list() {
      // The target is not ours to watch: its session lives until it is ended (or its shell exits).
      return (await records.all()).map((record) => ({ sessionId: record.sessionId, alive: true }));
    },
    async health(workspace) {
      return options.health(workspace);
    },
  };
}
