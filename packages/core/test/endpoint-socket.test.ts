import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connectEndpointSocket } from "../src/endpoint-socket.ts";

const root = mkdtempSync(path.join(tmpdir(), "neosc-socket-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function connects(socketPath: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectEndpointSocket({ transport: "unix", path: socketPath });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

describe("unix sockets in deep folders", () => {
  it("reaches a socket whose path is longer than the kernel keeps", async () => {
    const deep = path.join(root, "d".repeat(60), "e".repeat(40));
    mkdirSync(deep, { recursive: true });
    const previous = process.cwd();
    // Listen by a relative name: the kernel would refuse the long absolute one.
    process.chdir(deep);
    const server: Server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen("terminal.sock", resolve));
    process.chdir(previous);
    const socketPath = path.join(deep, "terminal.sock");
    expect(socketPath.length).toBeGreaterThan(108);
    try {
      expect(await connects(socketPath)).toBe("connected");
      expect(await connects(path.join(deep, "missing.sock"))).toBe("ENOENT");
      expect(await connects(path.join(root, "no-folder", "x.sock"))).toBe("ENOENT");
    } finally {
      server.close();
    }
  });
});
