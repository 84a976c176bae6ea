import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";

/*
 * Per-session resource limits from the catalogue (CPU cores, memory), as a cgroup of the
 * session's own below the cgroup this process runs in, so a host's own limits still cover every
 * session it runs. cgroup v1 (one folder per controller: memory, cpu, pids; what Debian's hybrid
 * layout mounts under /sys/fs/cgroup/<controller>) and v2 (one folder under the unified tree,
 * when this process's cgroup may delegate the memory, cpu and pids controllers).
 *
 * The sandbox enters its cgroup before bwrap runs (see `cgroupEntryCommand`), so every process
 * of the session is inside from the start. Past its memory limit the kernel's OOM killer kills a
 * process of that session only; the driver then ends the whole session (`oomKills`).
 */

export interface SessionLimits {
  /** CPU cores (fractions allowed): a CFS quota of `cpu` × the period. */
  cpu: number;
  memoryMb: number;
  /** Processes and threads at once (pids controller). */
  maxProcesses: number;
}

export interface SessionCgroup {
  version: 1 | 2;
  /** The session's folders (v1: one per controller; v2: one). */
  folders: string[];
  /** Where its memory controller counts OOM kills. */
  memoryFolder: string;
}

const CFS_PERIOD_US = 100_000;
const root = "/sys/fs/cgroup";

/** This process's cgroup per controller (v1 "N:memory,…:/path"; v2 "0::/path" under the key ""). */
async function ownCgroups(): Promise<Map<string, string>> {
  const text = await readFile("/proc/self/cgroup", "utf8");
  const own = new Map<string, string>();
  for (const line of text.trim().split("\n")) {
    const [, controllers = "", folder = "/"] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    for (const controller of controllers.split(",")) own.set(controller, folder);
  }
  return own;
}

async function exists(file: string): Promise<boolean> {
  return readFile(file).then(
    () => true,
    () => false,
  );
}

/**
 * Creates (or takes over) the cgroup named `name` with the session's limits. Throws when this
 * host cannot place sessions in cgroups; the message says why.
 */
export async function createSessionCgroup(name: string, limits: SessionLimits): Promise<SessionCgroup> {
  const own = await ownCgroups();
  const memoryBytes = limits.memoryMb * 1024 * 1024;
  const quota = String(Math.max(1000, Math.round(limits.cpu * CFS_PERIOD_US)));
  if (own.has("memory") && (await exists(path.join(root, "memory", "memory.limit_in_bytes")))) {
    const folders: Record<"memory" | "cpu" | "pids", string> = {
      memory: path.join(root, "memory", own.get("memory") ?? "/", name),
      cpu: path.join(root, "cpu", own.get("cpu") ?? "/", name),
      pids: path.join(root, "pids", own.get("pids") ?? "/", name),
    };
    for (const folder of Object.values(folders)) await mkdir(folder, { recursive: true });
    // With swap, the limit would only push the session into it: memory + swap get the same cap
    // (memory + swap may never be below memory alone, so it is lifted first, then set).
    const memsw = path.join(folders.memory, "memory.memsw.limit_in_bytes");
    const hasMemsw = await exists(memsw);
    if (hasMemsw) await writeFile(memsw, "-1");
    await writeFile(path.join(folders.memory, "memory.limit_in_bytes"), String(memoryBytes));
    if (hasMemsw) await writeFile(memsw, String(memoryBytes));
    await writeFile(path.join(folders.cpu, "cpu.cfs_period_us"), String(CFS_PERIOD_US));
    await writeFile(path.join(folders.cpu, "cpu.cfs_quota_us"), quota);
    await writeFile(path.join(folders.pids, "pids.max"), String(limits.maxProcesses));
    return { version: 1, folders: Object.values(folders), memoryFolder: folders.memory };
  }
  const unified = own.get("");
  if (unified !== undefined && (await exists(path.join(root, "cgroup.controllers")))) {
    const parent = path.join(root, unified);
    // Delegating controllers to children fails when this cgroup itself holds processes (the v2
    // "no internal processes" rule); then this host cannot limit sessions, and says so.
    await writeFile(path.join(parent, "cgroup.subtree_control"), "+memory +cpu +pids");
    const folder = path.join(parent, name);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, "memory.max"), String(memoryBytes));
    await writeFile(path.join(folder, "memory.swap.max"), "0").catch(() => {});
    await writeFile(path.join(folder, "cpu.max"), `${quota} ${CFS_PERIOD_US}`);
    await writeFile(path.join(folder, "pids.max"), String(limits.maxProcesses));
    return { version: 2, folders: [folder], memoryFolder: folder };
  }
  throw new Error("no writable memory cgroup (v1 /sys/fs/cgroup/memory or a delegated v2 cgroup)");
}

/**
 * The session's weight on the CPU against the host's other sessions: "background" for a sandbox
 * started ahead (the warm pool's), about what nice +10 gives a process against nice 0, so a refill
 * does not slow running sessions; "normal" once it is someone's. One write covers every thread the
 * session has and will have. Niceness would have to be set thread by thread, racing the children
 * a desktop that is still starting forks, and inside a cgroup of the session's own it only counts
 * against the session's own threads.
 */
export async function setCpuWeight(cgroup: SessionCgroup, weight: "background" | "normal"): Promise<void> {
  if (cgroup.version === 1) {
    const cpu = cgroup.folders.find((folder) => folder.startsWith(`${path.join(root, "cpu")}/`));
    if (cpu !== undefined)
      await writeFile(path.join(cpu, "cpu.shares"), weight === "normal" ? "1024" : "110");
    return;
  }
  await writeFile(path.join(cgroup.folders[0] ?? "", "cpu.weight"), weight === "normal" ? "100" : "11");
}

/** The files a process writes its pid to, to enter the cgroup (every controller's). */
export function procsFiles(cgroup: SessionCgroup): string[] {
  return cgroup.folders.map((folder) => path.join(folder, "cgroup.procs"));
}

/**
 * Prefixes a command so that it enters the cgroup first (as root, before bwrap drops anything)
 * and then becomes `command` with the same pid: nothing of the session runs outside its limits.
 */
export function cgroupEntryCommand(cgroup: SessionCgroup | null, command: string[]): string[] {
  if (cgroup === null) return command;
  const files = procsFiles(cgroup);
  return [
    "/bin/sh",
    "-c",
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ >"$1" || exit 125; shift; n=$((n - 1)); done; exec "$@"',
    "neosc-cgroup",
    String(files.length),
    ...files,
    ...command,
  ];
}

/** How many of the session's processes the OOM killer killed (its memory limit reached). */
export async function oomKills(cgroup: SessionCgroup): Promise<number> {
  const file =
    cgroup.version === 1
      ? path.join(cgroup.memoryFolder, "memory.oom_control")
      : path.join(cgroup.memoryFolder, "memory.events");
  const text = await readFile(file, "utf8").catch(() => "");
  return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Removes the session's folders once its processes are gone (a busy folder is left for later). */
export async function removeSessionCgroup(cgroup: SessionCgroup): Promise<void> {
  for (const folder of cgroup.folders) await rmdir(folder).catch(() => {});
}
