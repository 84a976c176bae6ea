import { connect, type Socket } from "node:net";
import type { Endpoint } from "./provisioner.ts";

/**
 * Connects to a VNC server and reads its protocol banner (`RFB 003.008\n`): proof that the
 * endpoint is a live RFB server, not merely an open port. Resolves false on any failure.
 */
export function probeRfb(endpoint: Endpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket =
      endpoint.transport === "unix"
        ? connect({ path: endpoint.path })
        : connect({ host: endpoint.host, port: endpoint.port });
    let received = "";
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (received.length >= 12) finish(/^RFB \d{3}\.\d{3}\n/.test(received));
    });
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
  });
}
