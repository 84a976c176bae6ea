/*
 * Where a running workspace listens, as its workspace host reports it and the gateway reaches it.
 * Stored with the session (without the secret), so any gateway replica that can reach the
 * address serves the session: unix sockets on the host's machine, TCP anywhere.
 */

export type Endpoint = { transport: "unix"; path: string } | { transport: "tcp"; host: string; port: number };

export type EndpointProtocol = "rfb" | "ssh" | "shell" | "http";

/** How the gateway logs in to an ssh target: the account, the pinned key, which credential `secret` is. */
export interface SshLogin {
  username: string;
  /** SHA256 fingerprint the host must present (`SHA256:…`). */
  hostKey: string;
  auth: "password" | "privateKey";
}

export interface WorkspaceEndpoint {
  protocol: EndpointProtocol;
  endpoint: Endpoint;
  /** Held by NeoSC, never sent to the browser nor stored with the session (a VNC password…). */
  secret?: string;
  /** Protocol `ssh`: the login the gateway makes with `secret` (stored; it holds no secret). */
  ssh?: SshLogin;
}
