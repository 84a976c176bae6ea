import { readFileSync } from "node:fs";

/**
 * Whether a process with this pid is running: it exists (signal 0 probes without sending
 * anything; EPERM means it exists under another user) and is not a zombie (a reparented zombie
 * may wait a long time for its reaper, and holds nothing any more).
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    // Gone since the probe, or no /proc to ask (then the probe's answer stands).
    return (error as NodeJS.ErrnoException).code !== "ENOENT";
  }
  return stat.charAt(stat.lastIndexOf(")") + 2) !== "Z";
}
