import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isRunning } from "@neosc/core/process";
import { delay } from "./timers.ts";

/**
 * `<dataDir>/launcher.pid` names the process that owns the folder (the supervisor while the
 * server runs). A lock whose process is gone (a crashed owner) is taken over; a live one is
 * waited for briefly (its server may be shutting down), then refused with a clear error.
 */
export async function lockDataDir(
  dir: string,
  waitMs: number,
): Promise<{ hold(pid: number): Promise<void>; release(): Promise<void> }> {
  const file = join(dir, "launcher.pid");
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await writeFile(file, String(process.pid), { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number((await readFile(file, "utf8").catch(() => "")).trim());
      if (!Number.isInteger(holder) || holder <= 0 || !isRunning(holder)) {
        await rm(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`${dir} is in use by another local database (pid ${holder}); stop that one first`);
      }
      await delay(250);
    }
  }
  return {
    hold: (pid) => writeFile(file, String(pid)),
    release: () => rm(file, { force: true }),
  };
}
