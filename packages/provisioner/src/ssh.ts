import type { SshCredential, SshTarget, Workspace } from "@neosc/core/workspace";
import type { Health, Provisioner, WorkspaceEndpoint } from "./provisioner.ts";
import { StartError } from "./provisioner.ts";
import { probeSsh } from "./rfb-probe.ts";
import { SessionRecords } from "./state-dir.ts";

export interface SshDriverOptions {
  /** Folder for per-session records (mode 0700; they hold the ssh credential). */
  stateDir: string;
  /** How long `start` waits for the host's ssh banner (default 3 s). */
  connectTimeoutMs?: number;
}

interface SshRecord {
  sessionId: string;
  target: SshTarget;
  credential: SshCredential;
}

/**
 * An internal host reached over ssh (terminal workspaces). Nothing is started: `start` checks
 * that the host answers as an ssh server and records the target with the credential, so the
 * gateway can log in (checking the pinned host key) and open a shell. The credential goes from
 * the database to this record to the gateway, never to the browser.
 */
export function createSshDriver(options: SshDriverOptions): Provisioner {
  const records = new SessionRecords<SshRecord>(options.stateDir);
  const timeoutMs = options.connectTimeoutMs ?? 3000;

  const endpointOf = ({ target, credential }: SshRecord): WorkspaceEndpoint => ({
    protocol: "ssh",
    endpoint: { transport: "tcp", host: target.host, port: target.port },
    secret: credential.kind === "password" ? credential.password : credential.privateKey,
    ssh: { username: target.username, hostKey: target.hostKey, auth: credential.kind },
  });

  return {
    async start(spec) {
      const existing = await records.read(spec.sessionId);
      if (existing !== null) return endpointOf(existing);
      const target = spec.workspace.sshTarget;
      if (spec.workspace.driver !== "ssh" || target === null) {
        throw new StartError("This workspace names no ssh host");
      }
      if (spec.sshCredential == null) throw new StartError("NeoSC holds no credential for this ssh host");
      const record: SshRecord = { sessionId: spec.sessionId, target, credential: spec.sshCredential };
      const endpoint = endpointOf(record);
      if (!(await probeSsh(endpoint.endpoint, timeoutMs))) {
        throw new StartError(`The ssh host ${target.host}:${target.port} does not answer`);
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
      // The host is not ours to watch: an ssh session lives until its shell exits or it is ended.
      return (await records.all()).map((record) => ({ sessionId: record.sessionId, alive: true }));
    },
    async health(workspace?: Workspace): Promise<Health> {
      if (workspace !== undefined && workspace.sshTarget === null) {
        return { ok: false, missing: [], problem: "This workspace names no ssh host" };
      }
      if (workspace !== undefined && !workspace.hasSshCredential) {
        return { ok: false, missing: [], problem: "NeoSC holds no credential for this ssh host" };
      }
      return { ok: true, missing: [] };
    },
  };
}
