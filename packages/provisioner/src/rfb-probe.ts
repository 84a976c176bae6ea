import { connectEndpointSocket } from "@neosc/core/endpoint-socket";
import type { Endpoint } from "./provisioner.ts";

/**
 * Connects and reads the server's protocol banner: proof that the endpoint is a live server of
 * the expected protocol, not merely an open port. `verdict` sees what arrived so far and answers
 * true / false, or null to wait for more. Resolves false on any failure.
 */
export function probeBanner(
  endpoint: Endpoint,
  verdict: (received: string) => boolean | null,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectEndpointSocket(endpoint);
    let received = "";
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      const answer = verdict(received);
      if (answer !== null) finish(answer);
    });
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
  });
}

/** A VNC server's banner: `RFB 003.008\n`. */
export function probeRfb(endpoint: Endpoint, timeoutMs: number): Promise<boolean> {
  return probeBanner(
    endpoint,
    (received) => (received.length >= 12 ? /^RFB \d{3}\.\d{3}\n/.test(received) : null),
    timeoutMs,
  );
}

/** An ssh server's identification line: `SSH-2.0-…`. */
export function probeSsh(endpoint: Endpoint, timeoutMs: number): Promise<boolean> {
  return probeBanner(
    endpoint,
    (received) => (received.length >= 8 ? received.startsWith("SSH-2.0-") : null),
    timeoutMs,
  );
}
