import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { Workspace } from "@neosc/core/workspace";

export function workspace(overrides: Partial<Workspace> = {}): Workspace {
  const now = new Date();
  return {
    id: randomUUID(),
    slug: "debian-desktop",
    name: "Debian desktop",
    description: "",
    kind: "desktop",
    image: null,
    url: null,
    driver: "local",
    program: "desktop",
    target: null,
    sshTarget: null,
    hasVncPassword: false,
    hasSshCredential: false,
    cpu: 1,
    memoryMb: 1024,
    allowedRoles: ["user"],
    organizationId: null,
    enabled: true,
    tags: [],
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

/** Whether a binary is on the system path (the real-parts tests need Xvnc and bwrap). */
export function installed(binary: string): boolean {
  try {
    execFileSync("/bin/sh", ["-c", `command -v ${binary}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Polls until `check` returns a value (not undefined), or fails with what it saw last. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`);
}
