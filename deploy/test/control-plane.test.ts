import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isRunning } from "@neosc/core/process";
import { eventually } from "@neosc/core/testing/eventually";
import { describe, expect, it } from "vitest";

const SUPERVISOR = fileURLToPath(new URL("../control-plane/supervisor.mjs", import.meta.url));

/*
 * The control plane's processes must not outlive the test that started them, however it ends.
 * Here the owner is a throwaway node process that starts the supervisor with two long-running
 * processes and is then killed with SIGKILL (no chance to clean up).
 */
describe("control-plane supervisor", { timeout: 60_000 }, () => {
  it("stops every process and removes the folder when its owner is killed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "neosc-supervisor-test-"));
    const owner = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `
        import { spawn } from "node:child_process";
        const supervisor = spawn(process.execPath, [${JSON.stringify(SUPERVISOR)}, String(process.pid), ${JSON.stringify(dir)}], { stdio: ["pipe", "pipe", "inherit"] });
        supervisor.stdout.on("data", (chunk) => process.stdout.write(chunk));
        for (const name of ["one", "two"]) {
          supervisor.stdin.write(JSON.stringify({ name, file: "sleep", args: ["300"], log: ${JSON.stringify(dir)} + "/" + name + ".log" }) + "\\n");
        }
        setInterval(() => {}, 1000);
        `,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const pids: number[] = [];
    owner.stdout.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        const message = JSON.parse(line) as { pid?: number };
        if (message.pid !== undefined) pids.push(message.pid);
      }
    });
    await eventually("both processes started", async () => (pids.length === 2 ? true : undefined), 15_000);
    expect(pids.every(isRunning)).toBe(true);

    owner.kill("SIGKILL");

    await eventually("processes gone", async () => (pids.some(isRunning) ? undefined : true), 15_000);
    await eventually("folder removed", async () => (existsSync(dir) ? undefined : true), 15_000);
  });
});
