import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually } from "@neosc/core/testing/eventually";
import type { Workspace } from "@neosc/core/workspace";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { createLocalDriver } from "@neosc/provisioner/local";
import type { Provisioner } from "@neosc/provisioner/provisioner";
import { connectRfb, pictureOf } from "@neosc/provisioner/testing/rfb-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startWorkspaceHost, type WorkspaceHost } from "../src/host.ts";

/*
 * The warm pool of a workspace host, on real Xvnc in real bubblewrap sandboxes and a real
 * database: a launch takes the sandbox started ahead (a drawn desktop, the session's own), the
 * pool starts a fresh one (another account) and never hands out a used one; a changed catalogue
 * entry replaces what was started under the old one; sessions and warm sandboxes stay within the
 * host's capacity; past its memory limit a session ends with its own reason, no other.
 */

function installed(binary: string): boolean {
  try {
    execFileSync("/bin/sh", ["-c", `command -v ${binary}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const realParts = installed("Xvnc") && installed("bwrap") && process.getuid?.() === 0;

let database: TestDatabase;
let stateDir: string;
let local: Provisioner;
let host: WorkspaceHost;
let desktop: Workspace;
let small: Workspace;

async function placedSession(workspace: Workspace, userId: string) {
  const session = await database.db.sessions.createWithinLimit(
    {
      workspaceId: workspace.id,
      workspaceSlug: workspace.slug,
      workspaceName: workspace.name,
      workspaceKind: workspace.kind,
      userId,
      userEmail: `${userId}@example.test`,
      organizationId: null,
      startedAt: new Date(),
      clientIp: null,
      hostId: host.id,
      connectionUrl: null,
      endsAt: null,
      idleEndsAt: null,
    },
    null,
  );
  if (session === null) throw new Error("no session");
  return session;
}

/** The warm sandboxes the driver holds now, with the account each runs as. */
async function warmSandboxes(): Promise<{ id: string; uid: number }[]> {
  const found: { id: string; uid: number }[] = [];
  for (const { sessionId, alive } of await local.list()) {
    if (!sessionId.startsWith("warm-") || !alive) continue;
    const endpoint = await local.endpoint(sessionId);
    if (endpoint?.endpoint.transport !== "unix") continue;
    const socket = await stat(endpoint.endpoint.path).catch(() => null);
    if (socket !== null) found.push({ id: sessionId, uid: socket.uid });
  }
  return found;
}

async function socketOf(sessionId: string): Promise<string> {
  const endpoint = await database.db.sessions.findEndpoint(sessionId);
  if (endpoint?.endpoint.transport !== "unix") throw new Error("no unix endpoint stored");
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

const readyCount = async (workspaceId: string) =>
  (await database.db.workspaceHosts.findById(host.id))?.warm[workspaceId] ?? 0;

const baseWorkspace = {
  description: "",
  image: null,
  url: null,
  driver: "local" as const,
  target: null,
  vncPassword: null,
  allowedRoles: ["user" as const],
  organizationId: null,
  enabled: true,
  tags: [],
};

beforeAll(async () => {
  if (!realParts) return;
  database = await createTestDatabase(inject("mongoUrl"));
  stateDir = mkdtempSync(path.join(tmpdir(), "neosc-warm-host-"));
  desktop = await database.db.workspaces.create({
    ...baseWorkspace,
    slug: "warm-desktop",
    name: "Warm desktop",
    kind: "desktop",
    program: "desktop",
    cpu: 1,
    memoryMb: 1024,
    warm: 1,
  });
  small = await database.db.workspaces.create({
    ...baseWorkspace,
    slug: "small-terminal",
    name: "Small terminal",
    kind: "desktop",
    program: "terminal",
    cpu: 0.5,
    memoryMb: 256,
    warm: 0,
  });
  local = createLocalDriver({ dataDir: path.join(stateDir, "local"), geometry: "1024x640" });
  host = await startWorkspaceHost({
    db: database.db,
    drivers: { local },
    stateDir,
    capacity: 3,
    warmLimit: 2,
    name: "warm-host",
    reconcileMs: 300,
    heartbeatMs: 300,
  });
});

afterAll(async () => {
  await host?.close();
  if (local !== undefined) for (const { sessionId } of await local.list()) await local.stop(sessionId);
  await database?.drop();
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
});

describe.runIf(realParts)("a workspace host's warm pool", () => {
  it("hands a launch the sandbox started ahead, starts a fresh one, and never hands out a used one", async () => {
    await eventually("one desktop started ahead", async () =>
      (await readyCount(desktop.id)) === 1 ? true : undefined,
    );
    const [warm] = await warmSandboxes();
    if (warm === undefined) throw new Error("no warm sandbox");

    const first = await placedSession(desktop, "person-1");
    const started = Date.now();
    await host.start(first.id);
    const returned = Date.now();
    console.log(`launch from the warm pool: host.start ${returned - started} ms`);
    // The session's own socket (its folder), the sandbox's account, a drawn desktop.
    const socket = await socketOf(first.id);
    expect(socket).toContain(first.id);
    expect((await stat(socket)).uid).toBe(warm.uid);
    const client = await connectRfb({ transport: "unix", path: socket });
    await client.handshake();
    let frame = await client.readFrame();
    const deadline = Date.now() + 15_000;
    while (pictureOf(frame).drawnShare < 0.05 && Date.now() < deadline) frame = await client.readFrame();
    client.close();
    expect(pictureOf(frame).drawnShare).toBeGreaterThan(0.05);

    // Off the launch's path: nothing is started ahead while its viewer connects and draws (the
    // host refills 2 s after the last launch's start), not even by the reconcile timer (300 ms).
    await sleep(Math.max(0, returned + 1000 - Date.now()));
    const startedAhead = (await local.list()).filter((entry) => entry.sessionId.startsWith("warm-"));
    if (Date.now() - returned < 1800) expect(startedAhead).toEqual([]);

    // A fresh sandbox for the next launch: another id, another account.
    const next = await eventually("a fresh desktop started ahead", async () => {
      const found = (await warmSandboxes()).find((sandbox) => sandbox.id !== warm.id);
      return found !== undefined && (await readyCount(desktop.id)) === 1 ? found : undefined;
    });
    expect(next.uid).not.toBe(warm.uid);

    // The first session ends: its sandbox is stopped, not returned to the pool.
    await database.db.sessions.end(first.id, { reason: "user_stopped", at: new Date() });
    await eventually("the used sandbox's processes gone", async () =>
      (await pidsOf(warm.uid)).length === 0 ? true : undefined,
    );
    const second = await placedSession(desktop, "person-2");
    await host.start(second.id);
    const secondUid = (await stat(await socketOf(second.id))).uid;
    expect(secondUid).toBe(next.uid);
    expect(secondUid).not.toBe(warm.uid);
    expect((await warmSandboxes()).map((sandbox) => sandbox.id)).not.toContain(warm.id);
    await database.db.sessions.end(second.id, { reason: "user_stopped", at: new Date() });
  });

  it("keeps its sandboxes through edits of the entry that they do not start with", async () => {
    const before = await eventually("a desktop started ahead", async () => {
      const found = await warmSandboxes();
      return found.length === 1 && (await readyCount(desktop.id)) === 1 ? found[0] : undefined;
    });
    // The `warm` count, the description and the tags are not part of a started desktop: the one
    // ready stays ready (restarting it would leave the pool empty while it starts again).
    desktop =
      (await database.db.workspaces.update(desktop.id, { warm: 1, description: "Edited" })) ?? desktop;
    desktop = (await database.db.workspaces.update(desktop.id, { tags: ["edited"] })) ?? desktop;
    // Several reconcile rounds (300 ms) and heartbeats (300 ms) later.
    await sleep(2_500);
    expect((await warmSandboxes()).map((sandbox) => sandbox.id)).toContain(before.id);
    expect(await readyCount(desktop.id)).toBeGreaterThanOrEqual(1);
  });

  it("replaces sandboxes started under a catalogue entry that changed since", async () => {
    const before = await eventually("a desktop started ahead", async () => (await warmSandboxes())[0]);
    desktop = (await database.db.workspaces.update(desktop.id, { name: "Warm desktop, renamed" })) ?? desktop;
    await eventually("the old sandbox replaced by one of the new entry", async () => {
      const now = await warmSandboxes();
      return now.length === 1 && now[0]?.id !== before.id ? true : undefined;
    });
    // Stopped and gone (a fresh sandbox may get the same account number: nothing of it is left).
    expect(await local.endpoint(before.id)).toBeNull();
    expect((await local.list()).map((entry) => entry.sessionId)).not.toContain(before.id);
  });

  it("keeps sessions and sandboxes started ahead within the host's capacity", async () => {
    // Capacity 3: with three sessions running there is no room for a warm sandbox.
    const sessions = [];
    for (const person of ["person-3", "person-4", "person-5"]) {
      const session = await placedSession(small, person);
      await host.start(session.id);
      sessions.push(session);
    }
    await eventually("no warm sandbox while the host is full", async () =>
      (await warmSandboxes()).length === 0 && (await readyCount(desktop.id)) === 0 ? true : undefined,
    );
    await database.db.sessions.end(sessions[0]?.id ?? "", { reason: "user_stopped", at: new Date() });
    await eventually("a warm sandbox again once there is room", async () =>
      (await readyCount(desktop.id)) === 1 ? true : undefined,
    );
    for (const session of sessions.slice(1)) {
      await database.db.sessions.end(session.id, { reason: "user_stopped", at: new Date() });
    }
  });

  it("ends a session past its memory limit with its own reason, and no other", async () => {
    const offender = await placedSession(small, "person-6");
    const bystander = await placedSession(small, "person-7");
    await host.start(offender.id);
    await host.start(bystander.id);
    const uid = (await stat(await socketOf(offender.id))).uid;
    const [xterm] = await pidsOf(uid);
    const memoryLine = (await readFile(`/proc/${xterm}/cgroup`, "utf8"))
      .split("\n")
      .find((line) => /:memory:/.test(line));
    const memoryFolder = path.join("/sys/fs/cgroup/memory", memoryLine?.split(":")[2] ?? "");
    // A real 600 MB allocation by a program of the session (its namespaces, account and cgroup).
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
      { stdio: "ignore" },
    );
    await new Promise((resolve) => allocate.once("exit", resolve));
    const ended = await eventually("the offender's session ended", async () => {
      const session = await database.db.sessions.findById(offender.id);
      return session?.status === "ended" ? session : undefined;
    });
    expect(ended.endReason).toBe("workspace_out_of_memory");
    await eventually("the offender's processes gone", async () =>
      (await pidsOf(uid)).length === 0 ? true : undefined,
    );
    expect((await database.db.sessions.findById(bystander.id))?.status).toBe("active");
    await database.db.sessions.end(bystander.id, { reason: "user_stopped", at: new Date() });
  });
});
