import type { WorkspaceSession } from "@neosc/core/session";

/*
 * Where a session's workspace listens, as the provisioner reports it (COORD.md contract of
 * `@neosc/provisioner/provisioner`; the gateway needs only this much of it).
 */
export type Endpoint = { transport: "unix"; path: string } | { transport: "tcp"; host: string; port: number };

/** How the gateway logs in to an ssh target: the account, the pinned key, which credential `secret` is. */
export interface SshLogin {
  username: string;
  /** SHA256 fingerprint the host must present (`SHA256:…`). */
  hostKey: string;
  auth: "password" | "privateKey";
}

export interface WorkspaceEndpoint {
  protocol: "rfb" | "ssh" | "shell" | "http";
  endpoint: Endpoint;
  /** Held by NeoSC, never sent to the browser (a static target's VNC password, an ssh credential). */
  secret?: string;
  /** Protocol `ssh`: the login the gateway makes with `secret`. */
  ssh?: SshLogin;
}

/**
 * Finds the endpoint of a running session: the embedded default asks its in-process provisioner,
 * a gateway process asks the host the session was placed on. Null when it is not (or no longer)
 * running.
 */
export type EndpointResolver = (session: WorkspaceSession) => Promise<WorkspaceEndpoint | null>;
