import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/*
 * What one benchmark row costs the processes the project controls: CPU seconds of a process
 * (utime + stime from /proc/<pid>/stat) and the database round trips the API counted
 * (`db_commands_total` on its metrics endpoint). Read before and after a row; the differences
 * divided by the row's requests are the per-request columns.
 */

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  own: number;
  /** cutime + cstime: children that ended and were waited for, in clock ticks. */
  children: number;
}

function procStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state is field 3, so field n is at index n - 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      pid,
      ppid: Number(fields[1]),
      own: Number(fields[11]) + Number(fields[12]),
      children: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return null;
  }
}

/** utime + stime of one process, in seconds (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  return (procStat(pid)?.own ?? 0) / CLOCK_TICKS;
}

/**
 * CPU seconds of processes and all their descendants (PostgreSQL forks a backend per connection),
 * including descendants that already ended (cutime/cstime).
 */
export function treeCpuSeconds(roots: readonly number[]): number {
  const all: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) all.push(stat);
  }
  const byParent = new Map<number, ProcStat[]>();
  for (const stat of all) {
    const siblings = byParent.get(stat.ppid) ?? [];
    siblings.push(stat);
    byParent.set(stat.ppid, siblings);
  }
  let ticks = 0;
  const seen = new Set<number>();
  // A live process is in nobody's cutime, an ended one only in its parent's: no double counting.
  const visit = (stat: ProcStat | null | undefined) => {
    if (!stat || seen.has(stat.pid)) return;
    seen.add(stat.pid);
    ticks += stat.own + stat.children;
    for (const child of byParent.get(stat.pid) ?? []) visit(child);
  };
  for (const pid of roots) visit(procStat(pid));
  return ticks / CLOCK_TICKS;
}

/** The API's database round trips so far: the sum of `db_commands_total` over command names. */
export async function dbCommands(metricsUrl: string): Promise<number> {
  const response = await fetch(metricsUrl);
  const text = await response.text();
  if (!response.ok) throw new Error(`metrics ${metricsUrl}: ${response.status}`);
  let total = 0;
  for (const match of text.matchAll(/^db_commands_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) {
    total += Number(match[1]);
  }
  return total;
}
