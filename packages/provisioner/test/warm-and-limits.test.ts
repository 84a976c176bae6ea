import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { getPriority, tmpdir } from "node:os";
import path from "node:path";
import { eventually } from "@neosc/core/testing/eventually";
import { testWorkspace as workspace } from "@neosc/core/testing/workspace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalDriver } from "../src/local.ts";
import type { ExitCause, Provisioner, WorkspaceEndpoint } from "../src/provisioner.ts";
import { connectRfb, pictureOf } from "../testing/rfb-client.ts";
import { installed } from "./support.ts";

/*
 * Sandboxes started ahead (the warm pool's) and each session's cgroup, on real Xvnc in real
 * bubblewrap sandboxes: a warm sandbox becomes the session's (socket, account, claim, priority)
 * and is never handed out twice; past its memory limit a session ends, and only that one.
 */

const realParts = installed("Xvnc") && installed("bwrap") && process.getuid?.() === 0;
const uidClaimsDir = "/run/neosc/workspace-uids";

let dataDir: string;
let driver: Provisioner;
const exits: { sessionId: string; cause: ExitCause | undefined }[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "neosc-warm-"));
  driver = createLocalDriver({ dataDir: path.join(dataDir, "local"), geometry: "1024x640" });
  driver.onExit?.((sessionId, cause) => exits.push({ sessionId, cause }));
});

afterAll(async () => {
  if (driver !== undefined) for (const { sessionId } of await driver.list()) await driver.stop(sessionId);
  await rm(dataDir, { recursive: true, force: true });
});

function socketOf(endpoint: WorkspaceEndpoint): string {
  if (endpoint.endpoint.transport !== "unix") throw new Error("expected a unix socket");
  return endpoint.endpoint.path;
}

async function pidsOf(uid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, "utf8").catch(() => "");
    if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) pids.push(Number(entry));
  }
  return pids;
}

/** Niceness of every thread of the account's processes (field 19 of /proc/<pid>/task/<tid>/stat). */
async function nicenessOf(uid: number): Promise<number[]> {
  const values: number[] = [];
  for (const pid of await pidsOf(uid)) {
    for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
      const text = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => "");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      if (fields[16] !== undefined) values.push(Number(fields[16]));
    }
  }
  return values;
}

/**
 * The CPU weight of the cgroup the account's processes run in (v1 cpu.shares, v2 cpu.weight),
 * null when they run in none of the session's own (the driver then uses niceness).
 */
async function cpuWeightOf(uid: number): Promise<number | null> {
  const [pid] = await pidsOf(uid);
  const lines = (await readFile(`/proc/${pid}/cgroup`, "utf8")).trim().split("\n");
  for (const line of lines) {
    const [, controllers = "", folder = "/"] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (!folder.includes(`neosc-workspace-${uid}`)) continue;
    if (controllers.split(",").includes("cpu")) {
      return Number(await readFile(path.join("/sys/fs/cgroup/cpu", folder, "cpu.shares"), "utf8"));
    }
    if (controllers === "")
      return Number(await readFile(path.join("/sys/fs/cgroup", folder, "cpu.weight"), "utf8"));
  }
  return null;
}

async function drawnShare(endpoint: WorkspaceEndpoint): Promise<number> {
  const client = await connectRfb(endpoint.endpoint);
  try {
    await client.handshake();
    let frame = await client.readFrame();
    const deadline = Date.now() + 15_000;
    while (pictureOf(frame).drawnShare < 0.05 && Date.now() < deadline) frame = await client.readFrame();
    return pictureOf(frame).drawnShare;
  } finally {
    client.close();
  }
}

/** Every file in the home, relative to it. */
async function filesIn(folder: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const name = path.join(prefix, entry.name);
    if (entry.isDirectory()) found.push(...(await filesIn(path.join(folder, entry.name), name)));
    else found.push(name);
  }
  return found;
}

describe.runIf(realParts)("a sandbox started ahead", () => {
  it("becomes the session's: its socket, account and claim, at normal priority, with a fresh home", async () => {
    const warmId = `warm-${randomUUID()}`;
    const desktop = workspace();
    const warmEndpoint = await driver.start({
      sessionId: warmId,
      userId: "warm-pool",
      workspace: desktop,
      ahead: true,
    });
    const uid = (await stat(socketOf(warmEndpoint))).uid;
    // Waiting, it runs at a low weight on the CPU (its cgroup's, else niceness): a refill does not
    // slow the running sessions.
    const own = getPriority();
    const weight = await cpuWeightOf(uid);
    if (weight === null) {
      expect(new Set(await nicenessOf(uid))).toEqual(new Set([Math.min(19, own + 10)]));
    } else {
      expect([110, 11]).toContain(weight);
      expect(new Set(await nicenessOf(uid))).toEqual(new Set([own]));
    }

    const sessionId = randomUUID();
    const endpoint = await driver.assign?.(warmId, sessionId);
    if (endpoint == null) throw new Error("the warm sandbox was not handed out");
    expect(socketOf(endpoint)).toContain(sessionId);
    expect(socketOf(endpoint)).not.toContain(warmId);
    expect((await stat(socketOf(endpoint))).uid).toBe(uid);
    expect(await readFile(path.join(uidClaimsDir, String(uid)), "utf8")).toContain(sessionId);
    expect(new Set(await nicenessOf(uid))).toEqual(new Set([own]));
    if (weight !== null) expect([1024, 100]).toContain(await cpuWeightOf(uid));
    expect(await drawnShare(endpoint)).toBeGreaterThan(0.05);
    expect(await driver.endpoint(sessionId)).toEqual(endpoint);
    expect(await driver.endpoint(warmId)).toBeNull();
    const listed = await driver.list();
    expect(listed).toContainEqual({ sessionId, alive: true });
    expect(listed.map((entry) => entry.sessionId)).not.toContain(warmId);
    // Nothing in the home but the desktop's own programs' settings and caches.
    const home = path.join(path.dirname(socketOf(endpoint)), "home");
    const files = await filesIn(home);
    expect(files).toContain(path.join(".config", "pcmanfm", "default", "desktop-items-0.conf"));
    expect(files.filter((file) => !/^\.(config|cache)\//.test(file))).toEqual([]);

    // Handed out once: neither the same sandbox nor, after its session, the same account again.
    expect(await driver.assign?.(warmId, randomUUID())).toBeNull();
    await driver.stop(sessionId);
    expect(await pidsOf(uid)).toEqual([]);
    expect(await driver.assign?.(warmId, randomUUID())).toBeNull();
    // Its own exit listener now speaks of the session, and a stop is not an exit.
    expect(exits.map((exit) => exit.sessionId)).not.toContain(warmId);
  });

  it("that exits while waiting is reported under its warm id", async () => {
    const warmId = `warm-${randomUUID()}`;
    const endpoint = await driver.start({
      sessionId: warmId,
      userId: "warm-pool",
      workspace: workspace({ program: "terminal" }),
      ahead: true,
    });
    const uid = (await stat(socketOf(endpoint))).uid;
    for (const pid of await pidsOf(uid)) process.kill(pid, "SIGKILL");
    await eventually("the warm sandbox's exit", async () =>
      exits.some((exit) => exit.sessionId === warmId) ? true : undefined,
    );
    expect(await driver.assign?.(warmId, randomUUID())).toBeNull();
    await driver.stop(warmId);
  });
});

describe.runIf(realParts)("a session's resource limits", () => {
  it("ends the session that allocates past its memory limit, and no other", async () => {
    const small = workspace({ program: "terminal", memoryMb: 256, cpu: 0.5 });
    const offender = randomUUID();
    const bystander = randomUUID();
    const [offenderEndpoint, bystanderEndpoint] = await Promise.all([
      driver.start({ sessionId: offender, userId: "u1", workspace: small }),
      driver.start({ sessionId: bystander, userId: "u2", workspace: small }),
    ]);
    const uid = (await stat(socketOf(offenderEndpoint))).uid;
    const bystanderUid = (await stat(socketOf(bystanderEndpoint))).uid;
    const xterm = (await pidsOf(uid))[0];
    if (xterm === undefined) throw new Error("the session runs nothing");
    // Its cgroup holds every process of the session, with the catalogue's limits.
    const cgroupLine = (await readFile(`/proc/${xterm}/cgroup`, "utf8"))
      .split("\n")
      .find((line) => /:memory:/.test(line) || line.startsWith("0::"));
    expect(cgroupLine).toContain(`neosc-workspace-${uid}`);
    const memoryFolder = path.join("/sys/fs/cgroup/memory", cgroupLine?.split(":")[2] ?? "");
    expect(Number(await readFile(path.join(memoryFolder, "memory.limit_in_bytes"), "utf8"))).toBe(
      256 * 2 ** 20,
    );
    const cpuLine = (await readFile(`/proc/${xterm}/cgroup`, "utf8"))
      .split("\n")
      .find((line) => /:cpu[,:]/.test(line));
    const cpuFolder = path.join("/sys/fs/cgroup/cpu", cpuLine?.split(":")[2] ?? "");
    expect(Number(await readFile(path.join(cpuFolder, "cpu.cfs_quota_us"), "utf8"))).toBe(50_000);

    // A real allocation of 600 MB by a program of the session: in its namespaces, as its account,
    // in its cgroup (as anything it runs would be).
    const allocate = spawn(
      "/bin/sh",
      [
        "-c",
        'echo $$ >"$1/cgroup.procs" && exec nsenter -t "$2" -m -p -S "$3" -G "$3" -- /usr/bin/python3 -c "held = str(7) * (600 * 2**20); import time; time.sleep(30)"',
        "allocate",
        memoryFolder,
        String(xterm),
        String(uid),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let errors = "";
    allocate.stderr?.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const allocated = new Promise<NodeJS.Signals | null>((resolve) =>
      allocate.once("exit", (_code, signal) => resolve(signal)),
    );
    expect(await allocated, errors).toBe("SIGKILL");
    const ended = await eventually("the offender's session ends", async () => {
      const entry = (await driver.list()).find((item) => item.sessionId === offender);
      return entry?.alive === false ? entry : undefined;
    });
    expect(ended.cause).toBe("out_of_memory");
    expect(await driver.list()).toContainEqual({ sessionId: bystander, alive: true });
    expect((await pidsOf(bystanderUid)).length).toBeGreaterThan(0);
    await driver.stop(offender);
    expect(await pidsOf(uid)).toEqual([]);
    await driver.stop(bystander);
  });
});
