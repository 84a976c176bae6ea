import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

/** Stops a test server (SIGTERM, waits for its exit) and removes its folder. */
export async function stopTestServer(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}
