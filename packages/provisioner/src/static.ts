import type { Workspace } from "@neosc/core/workspace";
import type { Health, Provisioner, WorkspaceEndpoint } from "./provisioner.ts";
import { StartError } from "./provisioner.ts";
import { probeRfb } from "./rfb-probe.ts";
import { SessionRecords } from "./state-dir.ts";

export interface StaticDriverOptions {
  /** Folder for per-session records (mode 0700; they hold the VNC password). */
  stateDir: string;
  /** How long `start` waits for the server's RFB banner (default 3 s). */
  connectTimeoutMs?: number;
}

interface StaticRecord {
  sessionId: string;
  host: string;
  port: number;
  vncPassword: string | null;
}

/**
 * An existing VNC server named in the catalogue (host:port, optional password). Nothing is
 * started: `start` checks that the server answers as an RFB server and records the target, so
 * the gateway can reach it and answer its VNC challenge with the stored password.
 */
export function createStaticDriver(options: StaticDriverOptions): Provisioner {
  const records = new SessionRecords<StaticRecord>(options.stateDir);
  const timeoutMs = options.connectTimeoutMs ?? 3000;

  const endpointOf = (record: StaticRecord): WorkspaceEndpoint => ({
    protocol: "rfb",
    endpoint: { transport: "tcp", host: record.host, port: record.port },
    ...(record.vncPassword === null ? {} : { secret: record.vncPassword }),
  });

  return {
    async start(spec) {
      const existing = await records.read(spec.sessionId);
      if (existing !== null) return endpointOf(existing);
      const target = spec.workspace.target;
      if (spec.workspace.driver !== "static" || target === null) {
        throw new StartError("This workspace names no VNC server");
      }
      const record: StaticRecord = {
        sessionId: spec.sessionId,
        host: target.host,
        port: target.port,
        vncPassword: spec.vncPassword ?? null,
      };
      const endpoint = endpointOf(record);
      if (!(await probeRfb(endpoint.endpoint, timeoutMs))) {
        throw new StartError(`The VNC server ${target.host}:${target.port} does not answer`);
      }
      await records.write(record);
      return endpoint;
    },
    async endpoint(sessionId) {
      const record = await records.read(sessionId);
      return record === null ? null : endpointOf(record);
    },
    async stop(sessionId) {
      await records.remove(sessionId);
    },
    async list() {
      // The server is not ours to watch: a static session lives until it is ended.
      return (await records.all()).map((record) => ({ sessionId: record.sessionId, alive: true }));
    },
    async health(workspace?: Workspace): Promise<Health> {
      if (workspace !== undefined && workspace.target === null) {
        return { ok: false, missing: [], problem: "This workspace names no VNC server" };
      }
      return { ok: true, missing: [] };
    },
  };
}
