import { closeSync, openSync } from "node:fs";
import { connect, type Socket } from "node:net";
import path from "node:path";
import type { Endpoint } from "./endpoint.ts";

/**
 * Linux keeps at most 107 bytes of a unix socket's path, and Node cuts longer ones silently
 * (the connect then fails with ENOENT). Session folders under a deep data folder pass that, so a
 * long path is reached through its folder's descriptor: `/proc/self/fd/<fd>/<name>` is short.
 * The provisioner's probes and the gateway's relay both connect this way.
 */
const MAX_UNIX_PATH = 100;

/** A socket to an endpoint, also when its unix path is longer than the kernel allows. */
export function connectEndpointSocket(endpoint: Endpoint): Socket {
  if (endpoint.transport === "tcp") return connect({ host: endpoint.host, port: endpoint.port });
  if (Buffer.byteLength(endpoint.path) <= MAX_UNIX_PATH) return connect({ path: endpoint.path });
  let folder: number;
  try {
    folder = openSync(path.dirname(endpoint.path), "r");
  } catch {
    // No such folder: the plain connect fails with the error the caller expects.
    return connect({ path: endpoint.path });
  }
  const socket = connect({ path: `/proc/self/fd/${folder}/${path.basename(endpoint.path)}` });
  let open = true;
  const release = () => {
    if (open) closeSync(folder);
    open = false;
  };
  socket.once("connect", release);
  socket.once("error", release);
  socket.once("close", release);
  return socket;
}
