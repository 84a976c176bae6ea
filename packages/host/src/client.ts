import type { Database } from "@neosc/db/database";
import { HOST_AGENT_PREFIX } from "./agent.ts";
import type { WorkspaceHost } from "./host.ts";

export interface HostClientOptions {
  db: Database;
  /** The workspace host in this process, reached directly (the embedded default). */
  local: WorkspaceHost | null;
  /** NEOSC_HOST_TOKEN: how other hosts' internal APIs are reached; null when there are none. */
  token: string | null;
  /** Longest a start may take, sandbox and first frame included (default 25 s). */
  startTimeoutMs?: number;
}

/**
 * The router's way to the workspace hosts (`WorkspaceHostClient` of @neosc/router/context):
 * the host in this process directly, any other through the internal URL it announced.
 */
export function createHostClient(options: HostClientOptions) {
  const { db, local, token } = options;

  async function call(hostId: string, sessionId: string, action: "start" | "stop"): Promise<void> {
    const host = await db.workspaceHosts.findById(hostId);
    if (host?.url == null || token === null)
      throw new Error("That workspace host cannot be reached from this API");
    let response: Response;
    try {
      response = await fetch(
        new URL(`${HOST_AGENT_PREFIX}${encodeURIComponent(sessionId)}/${action}`, host.url),
        {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(options.startTimeoutMs ?? 25_000),
        },
      );
    } catch {
      throw new Error(`The workspace host ${host.name} does not answer`);
    }
    if (response.ok) return;
    const body = (await response.json().catch(() => ({}))) as { message?: unknown };
    throw new Error(
      typeof body.message === "string" ? body.message : `The workspace host ${host.name} refused`,
    );
  }

  return {
    reaches(host: { id: string; url: string | null }): boolean {
      return (local !== null && host.id === local.id) || (host.url !== null && token !== null);
    },
    async start(hostId: string, sessionId: string): Promise<void> {
      if (local !== null && hostId === local.id) return local.start(sessionId);
      return call(hostId, sessionId, "start");
    },
    async stop(hostId: string, sessionId: string): Promise<void> {
      if (local !== null && hostId === local.id) return local.stop(sessionId);
      return call(hostId, sessionId, "stop");
    },
  };
}
