import type { WorkspaceEndpoint } from "@neosc/core/endpoint";
import type { WorkspaceSession } from "@neosc/core/session";
import type { Database } from "@neosc/db/database";

export type { Endpoint, SshLogin, WorkspaceEndpoint } from "@neosc/core/endpoint";

/**
 * Finds the endpoint of a running session. Null when it is not (or no longer) running, or this
 * replica cannot reach it.
 */
export type EndpointResolver = (session: WorkspaceSession) => Promise<WorkspaceEndpoint | null>;

/**
 * The endpoint the session's workspace host stored with the session, plus the workspace's secret
 * (VNC password, ssh credential) read from the catalogue here: secrets are never stored with the
 * session. Any replica can resolve any session: nothing is looked up in process memory.
 */
export function storedEndpoints(db: Database): EndpointResolver {
  return async (session) => {
    const stored = await db.sessions.findEndpoint(session.id);
    if (stored === null) return null;
    if (stored.protocol === "rfb") {
      const password = await db.workspaces.findVncPassword(session.workspaceId);
      return password === null ? stored : { ...stored, secret: password };
    }
    if (stored.protocol === "ssh") {
      const credential = await db.workspaces.findSshCredential(session.workspaceId);
      if (credential === null) return stored;
      return {
        ...stored,
        secret: credential.kind === "password" ? credential.password : credential.privateKey,
        // Which kind the secret is follows the credential read now (an admin may have changed it).
        ...(stored.ssh === undefined ? {} : { ssh: { ...stored.ssh, auth: credential.kind } }),
      };
    }
    return stored;
  };
}
