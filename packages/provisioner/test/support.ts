import { execFileSync } from "node:child_process";

/** Whether a binary is on the system path (the real-parts tests need Xvnc and bwrap). */
export function installed(binary: string): boolean {
  try {
    execFileSync("/bin/sh", ["-c", `command -v ${binary}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
