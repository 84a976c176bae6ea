import type { SshCredential, SshTarget } from "@neosc/core/workspace";
import type { WorkspaceEndpoint } from "./provisioner.ts";
import { type Provisioner, StartError } from "./provisioner.ts";
import { recordedTargetDriver } from "./recorded-target.ts";
import { probeSsh } from "./rfb-probe.ts";

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

const NO_HOST = "This workspace names no ssh host";
const NO_CREDENTIAL = "NeoSC holds no credential for this ssh host";

/**
 * An internal host reached over ssh (terminal workspaces). Nothing is started: `start` checks
 * that the host answers as an ssh server and records the target with the credential, so the
 * gateway can log in (checking the pinned host key) and open a shell. The credential goes from
 * the database to this record to the gateway, never to the browser.
 */
export function createSshDriver(options: SshDriverOptions): Provisioner {
  return recordedTargetDriver<SshRecord>({
    stateDir: options.stateDir,
    connectTimeoutMs: options.connectTimeoutMs,
    recordFor(spec) {
      const target = spec.workspace.sshTarget;
      if (spec.workspace.driver !== "ssh" || target === null) throw new StartError(NO_HOST);
      if (spec.sshCredential == null) throw new StartError(NO_CREDENTIAL);
      return { sessionId: spec.sessionId, target, credential: spec.sshCredential };
    },
    endpointOf: ({ target, credential }): WorkspaceEndpoint => ({
      protocol: "ssh",
      endpoint: { transport: "tcp", host: target.host, port: target.port },
      secret: credential.kind === "password" ? credential.password : credential.privateKey,
      ssh: { username: target.username, hostKey: target.hostKey, auth: credential.kind },
    }),
    answers: probeSsh,
    unreachable: ({ target }) => `The ssh host ${target.host}:${target.port} does not answer`,
    health(workspace) {
      if (workspace !== undefined && workspace.sshTarget === null) {
        return { ok: false, missing: [], problem: NO_HOST };
      }
      if (workspace !== undefined && !workspace.hasSshCredential) {
        return { ok: false, missing: [], problem: NO_CREDENTIAL };
      }
      return { ok: true, missing: [] };
    },
  });
}
