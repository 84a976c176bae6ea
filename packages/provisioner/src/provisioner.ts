import type { WorkspaceEndpoint } from "@neosc/core/endpoint";
import type { SshCredential, Workspace } from "@neosc/core/workspace";

export type { Endpoint, SshLogin, WorkspaceEndpoint } from "@neosc/core/endpoint";

export interface StartSpec {
  sessionId: string;
  userId: string;
  workspace: Workspace;
  /** The workspace host starting it, for drivers whose workspaces every host sees (a cluster). */
  hostId?: string;
  /** The workspace's stored VNC password (static driver), read by the host from the database. */
  vncPassword?: string | null;
  /** The workspace's stored ssh credential (ssh driver), read by the host from the database. */
  sshCredential?: SshCredential | null;
}

/** What a driver lacks to start a workspace: Debian packages to install, or another problem. */
export interface Health {
  ok: boolean;
  /** Debian packages to install (`apt-get install -y …`), e.g. `tigervnc-standalone-server`. */
  missing: string[];
  /** Why it cannot start when installing packages would not help (e.g. not running as root). */
  problem?: string;
}

/**
 * Starts and stops the workspace of a session on this host. Every method is safe to repeat:
 * `start` of a running session returns its endpoint, `stop` of an unknown one does nothing.
 */
export interface Provisioner {
  /** Idempotent by sessionId; resolves once the endpoint accepts connections. */
  start(spec: StartSpec): Promise<WorkspaceEndpoint>;
  /** The endpoint of a running session, null when this host does not run it. */
  endpoint(sessionId: string): Promise<WorkspaceEndpoint | null>;
  /** Idempotent; resolves when the session's processes are gone. */
  stop(sessionId: string): Promise<void>;
  /**
   * Every session this host holds state for; `alive` false once its processes died. Drivers
   * whose workspaces every host sees (Kubernetes: one namespace for all) name the `hostId` that
   * started each, so a host leaves the others' running sessions alone.
   */
  list(): Promise<{ sessionId: string; alive: boolean; hostId?: string }[]>;
  /** Whether this driver can start `workspace` (or anything at all, without an argument). */
  health(workspace?: Workspace): Promise<Health>;
  /** Optional: tells the host at once when a session's processes end on their own. */
  onExit?(listener: (sessionId: string) => void): void;
  /** Optional: stops what the driver itself runs (watches); its workspaces are not touched. */
  close?(): Promise<void>;
}

/** Thrown by `start` when the workspace cannot start; `reason` is shown to the person and audited. */
export class StartError extends Error {
  constructor(
    message: string,
    readonly missing: string[] = [],
  ) {
    super(message);
    this.name = "StartError";
  }
}
