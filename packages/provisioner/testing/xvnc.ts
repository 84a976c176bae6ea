import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { stopTestServer } from "./stop.ts";

/*
 * A real TigerVNC Xvnc, bare (no sandbox, no programs), for tests of what connects to one: the
 * gateway's relay, the static driver, the workspace host. On a unix socket, and with `tcp` also
 * on a loopback TCP port (what a static workspace's VNC server is). The local driver runs Xvnc
 * itself, in a sandbox.
 */

export interface TestXvnc {
  socketPath: string;
  display: number;
  /** The VNC password when started with one. */
  password: string | null;
  /** The loopback TCP port when started with `tcp` (what the static driver connects to). */
  port: number | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** A free loopback TCP port (bound and released; good enough for one test process). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

export async function startXvnc(
  options: {
    password?: string;
    geometry?: string;
    tcp?: boolean;
    /** More Xvnc options, e.g. `-BlacklistThreshold 1000` for many simultaneous handshakes. */
    args?: string[];
  } = {},
): Promise<TestXvnc> {
  const dir = mkdtempSync(path.join(tmpdir(), "neosc-xvnc-"));
  const socketPath = path.join(dir, "rfb.sock");
  const security: string[] = [];
  if (options.password === undefined) security.push("-SecurityTypes", "None");
  else {
    const passwordFile = path.join(dir, "passwd");
    writeFileSync(passwordFile, execFileSync("vncpasswd", ["-f"], { input: `${options.password}\n` }), {
      mode: 0o600,
    });
    security.push("-SecurityTypes", "VncAuth", "-PasswordFile", passwordFile);
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const display = 200 + Math.floor(Math.random() * 700);
    if (existsSync(`/tmp/.X${display}-lock`)) continue;
    const port = options.tcp === true ? await freeLoopbackPort() : null;
    const child = spawn(
      "Xvnc",
      [
        `:${display}`,
        "-rfbunixpath",
        socketPath,
        ...(port === null ? ["-rfbport", "-1"] : ["-rfbport", String(port), "-localhost"]),
        "-nolisten",
        "tcp",
        "-geometry",
        options.geometry ?? "640x480",
        "-depth",
        "24",
        ...security,
        ...(options.args ?? []),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    const started = Date.now();
    while (!existsSync(socketPath) && child.exitCode === null && Date.now() - started < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (existsSync(socketPath)) {
      return {
        socketPath,
        display,
        password: options.password ?? null,
        port,
        process: child,
        stop: () => stopTestServer(child, dir),
      };
    }
    child.kill("SIGKILL");
    if (!/already active|server is already/i.test(log)) throw new Error(`Xvnc did not start: ${log}`);
  }
  throw new Error("no free X display for Xvnc");
}
