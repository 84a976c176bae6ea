import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import type { WorkspaceProgram } from "@neosc/core/workspace";

/** The Debian package that installs each binary the local driver runs. */
export const debianPackageOf = {
  Xvnc: "tigervnc-standalone-server",
  bwrap: "bubblewrap",
  setpriv: "util-linux",
  bash: "bash",
  openbox: "openbox",
  xterm: "xterm",
  "firefox-esr": "firefox-esr",
  pcmanfm: "pcmanfm",
  python3: "python3",
  slirp4netns: "slirp4netns",
} as const;

export type LocalBinary = keyof typeof debianPackageOf;

/** What every local session needs: the sandbox and its launcher. */
export const baseBinaries: readonly LocalBinary[] = ["bwrap", "setpriv", "bash"];

/** What each program adds to the base: a display (Xvnc and a window manager) and its programs. */
export const programBinaries: Record<WorkspaceProgram, readonly LocalBinary[]> = {
  desktop: ["Xvnc", "openbox", "xterm", "pcmanfm"],
  firefox: ["Xvnc", "openbox", "firefox-esr"],
  terminal: ["Xvnc", "openbox", "xterm"],
  // The shell host (shell.ts) is a Python program; the gateway speaks terminal frames to it.
  shell: ["python3"],
};

/**
 * The binaries a workspace is looked up in: system folders only, because the sandbox shows the
 * programs of /usr (and the /bin, /sbin links into it), not whatever the API's PATH holds.
 */
export const systemSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export type BinaryLookup = (name: string) => Promise<string | null>;

/**
 * Finds binaries on `searchPath`. Found paths are remembered for the life of the process (they
 * do not move); a missing binary is looked up again next time, so installing a package is
 * noticed without a restart.
 */
export function createBinaryLookup(searchPath: string = systemSearchPath): BinaryLookup {
  const found = new Map<string, string>();
  const folders = searchPath.split(":").filter((folder) => folder !== "");
  return async (name) => {
    const known = found.get(name);
    if (known !== undefined) return known;
    for (const folder of folders) {
      const candidate = path.join(folder, name);
      try {
        await access(candidate, constants.X_OK);
        found.set(name, candidate);
        return candidate;
      } catch {
        // not in this folder
      }
    }
    return null;
  };
}

/** The Debian packages to install for the missing ones of `binaries` (sorted, each once). */
export async function missingPackages(
  binaries: readonly LocalBinary[],
  lookup: BinaryLookup,
): Promise<string[]> {
  const missing = new Set<string>();
  for (const binary of binaries) {
    if ((await lookup(binary)) === null) missing.add(debianPackageOf[binary]);
  }
  return [...missing].sort();
}
