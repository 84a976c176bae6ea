import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { StartError } from "@neosc/provisioner/provisioner";
import type { WorkspaceHost } from "./host.ts";

/*
 * A workspace host's internal API, for API replicas on other machines: start and stop the
 * workspace of a session placed on this host. Bearer-token authenticated (NEOSC_HOST_TOKEN, the
 * same secret on every API and host); it carries only session ids: the host reads the
 * workspace and its secrets from the database itself, so no secret crosses this wire.
 */

export const HOST_AGENT_PREFIX = "/internal/host/v1/sessions/";

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

function reply(response: ServerResponse, status: number, body?: Record<string, unknown>): void {
  if (body === undefined) {
    response.writeHead(status).end();
    return;
  }
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** Handles the agent's routes; false for any other path, which the caller then answers. */
export function handleHostAgentRequest(
  host: WorkspaceHost,
  token: string,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const path = (request.url ?? "/").split("?")[0] ?? "/";
  if (!path.startsWith(HOST_AGENT_PREFIX)) return false;
  const presented = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1] ?? "";
  // Compared as digests: equal length, constant time.
  if (!timingSafeEqual(digest(presented), digest(token))) {
    reply(response, 401, { error: "invalid_token" });
    return true;
  }
  const match = /^([A-Za-z0-9-]{1,64})\/(start|stop)$/.exec(path.slice(HOST_AGENT_PREFIX.length));
  if (match === null || request.method !== "POST") {
    reply(response, match === null ? 404 : 405, {
      error: match === null ? "not_found" : "method_not_allowed",
    });
    return true;
  }
  const [, sessionId = "", action] = match;
  const work = action === "start" ? host.start(sessionId) : host.stop(sessionId);
  work.then(
    () => reply(response, 204),
    (error: unknown) => {
      // A start the host refuses is the person's answer; anything else is the host's fault.
      if (error instanceof StartError)
        reply(response, 409, { error: "start_failed", message: error.message });
      else reply(response, 500, { error: "host_error", message: "The workspace host failed" });
    },
  );
  return true;
}
