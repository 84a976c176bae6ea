import type { WorkspaceEndpoint } from "./provisioner.ts";
import { type Provisioner, StartError } from "./provisioner.ts";
import { recordedTargetDriver } from "./recorded-target.ts";
import { probeRfb } from "./rfb-probe.ts";

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

const NO_SERVER = "This workspace names no VNC server";

/**
 * An existing VNC server named in the catalogue (host:port, optional password). Nothing is
 * started: `start` checks that the server answers as an RFB server and records the target, so
 * the gateway can reach it and answer its VNC challenge with the stored password.
 */
export function createStaticDriver(options: StaticDriverOptions): Provisioner {
  return recordedTargetDriver<StaticRecord>({
    stateDir: options.stateDir,
    connectTimeoutMs: options.connectTimeoutMs,
    recordFor(spec) {
      const target = spec.workspace.target;
      if (spec.workspace.driver !== "static" || target === null) throw new StartError(NO_SERVER);
      return {
        sessionId: spec.sessionId,
        host: target.host,
        port: target.port,
        vncPassword: spec.vncPassword ?? null,
      };
    },
    endpointOf: (record): WorkspaceEndpoint => ({
      protocol: "rfb",
      endpoint: { transport: "tcp", host: record.host, port: record.port },
      ...(record.vncPassword === null ? {} : { secret: record.vncPassword }),
    }),
    answers: probeRfb,
    unreachable: (record) => `The VNC server ${record.host}:${record.port} does not answer`,
    health(workspace) {
      if (workspace !== undefined && workspace.target === null) {
        return { ok: false, missing: [], problem: NO_SERVER };
      }
      return { ok: true, missing: [] };
    },
  });
}
