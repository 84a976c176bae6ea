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
  /**
   * The `clipboard` policy as the workspace itself applies it (local desktops: Xvnc sends and
   * accepts cut text only in the allowed directions); absent or null: no limits.
   */
  clipboard?: { toWorkspace: boolean; fromWorkspace: boolean } | null;
  /**
   * Started ahead for the warm pool (see `Provisioner.assign`), under a `warm-` id, at low
   * priority until a session takes it.
   */
  ahead?: boolean;
}

/** Ids of sandboxes started ahead, before any session takes them (see `Provisioner.assign`). */
export const WARM_ID_PREFIX = "warm-";

export function isWarmId(id: string): boolean {
  return id.startsWith(WARM_ID_PREFIX);
}

/** Why a driver ended a workspace itself (absent: its processes ended on their own). */
export type ExitCause = "out_of_memory";

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
   * Every session (and sandbox started ahead) this host holds state for; `alive` false once its
   * processes died, with `cause` when the driver ended them (e.g. past the memory limit). Drivers
   * whose workspaces every host sees (Kubernetes: one namespace for all) name the `hostId` that
   * started each, so a host leaves the others' running sessions alone.
   */
  list(): Promise<{ sessionId: string; alive: boolean; cause?: ExitCause; hostId?: string }[]>;
  /** Whether this driver can start `workspace` (or anything at all, without an argument). */
  health(workspace?: Workspace): Promise<Health>;
  /** Optional: tells the host at once when a session's processes end on their own. */
  onExit?(listener: (sessionId: string, cause?: ExitCause) => void): void;
  /** Optional: stops what the driver itself runs (watches); its workspaces are not touched. */
  close?(): Promise<void>;
  /**
   * Optional (drivers that can start ahead): hands the running sandbox `warmId` (started with
   * `ahead`) to the session: its folder, endpoint, account and records become the session's, at
   * normal priority. Null when that sandbox is gone. A sandbox is handed out once; after its
   * session it is stopped like any other, never returned to a pool.
   */
  assign?(warmId: string, sessionId: string): Promise<WorkspaceEndpoint | null>;
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
