import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { eventually } from "@neosc/core/testing/eventually";
import { testWorkspace as workspace } from "@neosc/core/testing/workspace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalDriver } from "../src/local.ts";
import type { Provisioner, WorkspaceEndpoint } from "../src/provisioner.ts";
import { StartError } from "../src/provisioner.ts";
import { prepareSessionDir, runInSandbox, writeSandboxIdentity } from "../src/sandbox.ts";
import { connectRfb, framePpm, pictureOf, type RfbFrame } from "../testing/rfb-client.ts";
import { installed } from "./support.ts";

const run = promisify(execFile);
const realParts = installed("Xvnc") && installed("bwrap") && process.getuid?.() === 0;
if (!realParts) {
  console.warn("local driver tests skipped: they need Xvnc (tigervnc-standalone-server), bwrap and root");
}

let dataDir: string;
let driver: Provisioner;
const exited: string[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "neosc-local-"));
  driver = createLocalDriver({ dataDir: path.join(dataDir, "local"), geometry: "1024x640" });
  driver.onExit?.((sessionId) => exited.push(sessionId));
});

afterAll(async () => {
  if (driver !== undefined) for (const { sessionId } of await driver.list()) await driver.stop(sessionId);
  await rm(dataDir, { recursive: true, force: true });
});

function socketPath(endpoint: WorkspaceEndpoint): string {
  if (endpoint.endpoint.transport !== "unix") throw new Error("expected a unix socket");
  return endpoint.endpoint.path;
}

/** Reads frames until windows cover a part of the screen (a drawn desktop, not a bare root window). */
async function drawnFrame(
  endpoint: WorkspaceEndpoint,
): Promise<{ first: RfbFrame; drawn: RfbFrame; firstMs: number }> {
  const started = Date.now();
  const client = await connectRfb(endpoint.endpoint);
  try {
    await client.handshake();
    const first = await client.readFrame();
    const firstMs = Date.now() - started;
    let drawn = first;
    const deadline = Date.now() + 15_000;
    while (pictureOf(drawn).drawnShare < 0.05 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      drawn = await client.readFrame();
    }
    return { first, drawn, firstMs };
  } finally {
    client.close();
  }
}

/** The processes running as `uid`, read from /proc as the host sees them. */
async function processesOf(uid: number): Promise<{ pid: number; name: string; uid: number }[]> {
  const found: { pid: number; name: string; uid: number }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, "utf8").catch(() => "");
    const processUid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    if (processUid === uid) {
      found.push({ pid: Number(entry), name: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? "", uid: processUid });
    }
  }
  return found;
}

async function startSession(program: "desktop" | "firefox" | "terminal" = "desktop") {
  const sessionId = randomUUID();
  const endpoint = await driver.start({ sessionId, userId: "u1", workspace: workspace({ program }) });
  const uid = (await stat(socketPath(endpoint))).uid;
  return { sessionId, endpoint, uid };
}

describe.runIf(realParts)("the local driver", () => {
  it("starts a desktop that is drawn, fast, as an unprivileged account", async () => {
    const sessionId = randomUUID();
    const started = Date.now();
    const endpoint = await driver.start({ sessionId, userId: "u1", workspace: workspace() });
    const readyMs = Date.now() - started;
    const { first, drawn, firstMs } = await drawnFrame(endpoint);
    const drawnMs = Date.now() - started;
    console.log(
      `local desktop: start→socket ready ${readyMs} ms, →first full frame ${readyMs + firstMs} ms, →drawn ${drawnMs} ms`,
    );
    expect(first.width).toBe(1024);
    expect(first.height).toBe(640);
    // The root window is black (-br) and the cursor alone barely counts: this is the desktop.
    expect(pictureOf(drawn).drawnShare).toBeGreaterThan(0.05);
    expect(pictureOf(drawn).colours).toBeGreaterThan(100);
    await screenshot("desktop", endpoint);

    const socket = await stat(socketPath(endpoint));
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    expect(socket.uid).toBeGreaterThanOrEqual(1_900_000_000);
    const folder = await stat(path.dirname(socketPath(endpoint)));
    expect(folder.mode & 0o777).toBe(0o700);
    expect(folder.uid).toBe(socket.uid);

    const processes = await processesOf(socket.uid);
    expect(processes.map((entry) => entry.name)).toEqual(
      expect.arrayContaining(["Xvnc", "openbox", "xterm"]),
    );
    for (const entry of processes) {
      const status = await readFile(`/proc/${entry.pid}/status`, "utf8");
      expect(status).toMatch(
        new RegExp(`^Uid:\\s+${socket.uid}\\s+${socket.uid}\\s+${socket.uid}\\s+${socket.uid}$`, "m"),
      );
      expect(status).toMatch(/^Groups:\s*$/m);
      expect(status).toMatch(/^CapEff:\s+0+$/m);
      expect(status).toMatch(/^CapBnd:\s+0+$/m);
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    }
    // Desktops get no network: their namespace is not the host's.
    expect(await readlinkOf(`/proc/${await processNamed(socket.uid, "xterm")}/ns/net`)).not.toBe(
      await readlinkOf("/proc/self/ns/net"),
    );
    await driver.stop(sessionId);
  });

  it("returns the running session's endpoint when started again, also concurrently", async () => {
    const sessionId = randomUUID();
    const spec = { sessionId, userId: "u1", workspace: workspace({ program: "terminal" }) };
    const [one, two] = await Promise.all([driver.start(spec), driver.start(spec)]);
    expect(two).toEqual(one);
    expect(await driver.start(spec)).toEqual(one);
    expect(await driver.endpoint(sessionId)).toEqual(one);
    const uid = (await stat(socketPath(one))).uid;
    // One sandbox, not two: a single Xvnc runs as the session's account.
    expect((await processesOf(uid)).filter((entry) => entry.name === "Xvnc")).toHaveLength(1);
    await driver.stop(sessionId);
  });

  it("reports a workspace whose processes were killed, not one that was stopped", async () => {
    const killed = await startSession("terminal");
    const stopped = await startSession("terminal");
    process.kill(await processNamed(killed.uid, "Xvnc"), "SIGKILL");
    await eventually("onExit of the killed session", async () =>
      exited.includes(killed.sessionId) ? true : undefined,
    );
    expect(await driver.list()).toContainEqual({ sessionId: killed.sessionId, alive: false });
    expect(await driver.endpoint(killed.sessionId)).toBeNull();
    expect(await processesOf(killed.uid)).toEqual([]);

    await driver.stop(stopped.sessionId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(exited).not.toContain(stopped.sessionId);
    await driver.stop(killed.sessionId);
  });

  it("ends the session when its program exits (the person closes the terminal)", async () => {
    const session = await startSession("terminal");
    process.kill(await processNamed(session.uid, "xterm"), "SIGTERM");
    await eventually("onExit after the program ended", async () =>
      exited.includes(session.sessionId) ? true : undefined,
    );
    expect(await driver.list()).toContainEqual({ sessionId: session.sessionId, alive: false });
    await driver.stop(session.sessionId);
  });

  it("stops idempotently, leaving no process, folder or record behind", async () => {
    const session = await startSession("terminal");
    const folder = path.dirname(socketPath(session.endpoint));
    expect(existsSync(folder)).toBe(true);
    await driver.stop(session.sessionId);
    expect(existsSync(folder)).toBe(false);
    expect(await processesOf(session.uid)).toEqual([]);
    expect((await driver.list()).map((entry) => entry.sessionId)).not.toContain(session.sessionId);
    expect(await driver.endpoint(session.sessionId)).toBeNull();
    await driver.stop(session.sessionId);
    await driver.stop(randomUUID());
  });

  it("clears what a host that died mid-start left without a record", async () => {
    const local = path.join(dataDir, "local");
    const orphan = path.join(local, "workspaces", randomUUID());
    const fresh = path.join(local, "workspaces", randomUUID());
    await mkdir(path.join(orphan, "home"), { recursive: true });
    await mkdir(fresh, { recursive: true });
    const longAgo = new Date(Date.now() - 5 * 60_000);
    await utimes(orphan, longAgo, longAgo);
    await driver.list();
    expect(existsSync(orphan)).toBe(false);
    // A folder made a moment ago may be a start under way: it stays.
    expect(existsSync(fresh)).toBe(true);
    await rm(fresh, { recursive: true });
  });

  it("is found again by a restarted host", async () => {
    const session = await startSession("terminal");
    const restarted = createLocalDriver({ dataDir: path.join(dataDir, "local") });
    expect(await restarted.list()).toContainEqual({ sessionId: session.sessionId, alive: true });
    expect(await restarted.endpoint(session.sessionId)).toEqual(session.endpoint);
    await restarted.stop(session.sessionId);
    expect(await driver.endpoint(session.sessionId)).toBeNull();
  });

  it("runs Firefox in kiosk mode with the network, and ends the session when Firefox quits", async () => {
    const session = await startSession("firefox");
    const client = await connectRfb(session.endpoint.endpoint);
    await client.handshake();
    // Firefox's cold start on a loaded machine takes seconds; the page is a picture of many colours.
    const page = await eventually(
      "Firefox's page",
      async () => {
        const picture = pictureOf(await client.readFrame());
        return picture.colours > 500 && picture.drawnShare > 0.02 ? picture : undefined;
      },
      45_000,
    );
    client.close();
    expect(page.colours).toBeGreaterThan(500);
    await screenshot("firefox", session.endpoint);
    const firefox = await processNamed(session.uid, "firefox-esr");
    // A browser gets outbound network in a namespace of its own: a NAT'ed tap device, and no way
    // to the host's loopback services (a port that answers on the host is unreachable from it).
    expect(await readlinkOf(`/proc/${firefox}/ns/net`)).not.toBe(await readlinkOf("/proc/self/ns/net"));
    const inside = (script: string) =>
      run("nsenter", ["-t", String(firefox), "-n", "/bin/bash", "-c", script]);
    expect((await inside("ip -brief addr")).stdout).toMatch(/tap0\s+\S+\s+10\.0\.2\.100/);
    const hostService = createServer((socket) => {
      socket.on("error", () => {});
      socket.end("host only\n");
    });
    await new Promise<void>((resolve) => hostService.listen(0, "127.0.0.1", resolve));
    const port = (hostService.address() as AddressInfo).port;
    try {
      const reach = `for target in 127.0.0.1 10.0.2.2; do timeout 3 bash -c "exec 3<>/dev/tcp/$target/${port}" 2>/dev/null && echo "$target open" || echo "$target closed"; done`;
      expect((await inside(reach)).stdout).toBe("127.0.0.1 closed\n10.0.2.2 closed\n");
      // The check can fail: the same connection from the host's namespace succeeds.
      expect((await run("/bin/bash", ["-c", reach])).stdout).toContain("127.0.0.1 open");
    } finally {
      hostService.close();
    }
    process.kill(firefox, "SIGTERM");
    await eventually("onExit after Firefox quit", async () =>
      exited.includes(session.sessionId) ? true : undefined,
    );
    expect(await driver.list()).toContainEqual({ sessionId: session.sessionId, alive: false });
    await driver.stop(session.sessionId);
  });

  it("runs a local shell's host as the session's program", async () => {
    const sessionId = randomUUID();
    const endpoint = await driver.start({
      sessionId,
      userId: "u1",
      workspace: workspace({ kind: "terminal", program: "shell" }),
    });
    expect(endpoint.protocol).toBe("shell");
    const socket = await stat(socketPath(endpoint));
    expect(socket.isSocket()).toBe(true);
    expect(path.basename(socketPath(endpoint))).toBe("terminal.sock");
    expect(socket.uid).toBeGreaterThanOrEqual(1_900_000_000);
    await processNamed(socket.uid, "bash");
    expect((await processesOf(socket.uid)).map((entry) => entry.name)).toContain("python3");
    expect(await driver.endpoint(sessionId)).toEqual(endpoint);
    await driver.stop(sessionId);
    expect(await processesOf(socket.uid)).toEqual([]);
  });

  it("never gives two sessions one account, across drivers with other data folders", async () => {
    const base = 1_950_000_000 + Math.floor(Math.random() * 1_000_000) * 10;
    // Someone else runs as the first uid of the range: it is skipped.
    const squatter = spawn("sleep", ["60"], { uid: base, gid: base, stdio: "ignore" });
    try {
      await eventually("the squatter", async () => ((await processesOf(base)).length > 0 ? true : undefined));
      const one = createLocalDriver({ dataDir: path.join(dataDir, "one"), firstUid: base });
      const two = createLocalDriver({ dataDir: path.join(dataDir, "two"), firstUid: base });
      const spec = () => ({
        sessionId: randomUUID(),
        userId: "u1",
        workspace: workspace({ program: "terminal" }),
      });
      const [first, second] = [spec(), spec()];
      const [a, b] = await Promise.all([one.start(first), two.start(second)]);
      const uids = [(await stat(socketPath(a))).uid, (await stat(socketPath(b))).uid];
      expect(new Set(uids).size).toBe(2);
      expect(uids).not.toContain(base);
      await Promise.all([one.stop(first.sessionId), two.stop(second.sessionId)]);
    } finally {
      squatter.kill("SIGKILL");
    }
  });

  it("keeps sessions apart: each has its own account, and one cannot reach another's socket", async () => {
    const [one, two] = await Promise.all([startSession("terminal"), startSession("terminal")]);
    expect(one.uid).not.toBe(two.uid);
    const socket = await stat(socketPath(one.endpoint));
    expect(socket.uid).toBe(one.uid);
    expect(socket.mode & 0o077).toBe(0);
    // The second session's account, outside any sandbox, still cannot connect to the first's socket.
    const attempt = await run(
      process.execPath,
      [
        "-e",
        `require("node:net").connect(${JSON.stringify(socketPath(one.endpoint))}).on("connect", () => { console.log("connected"); process.exit(0); }).on("error", (error) => { console.log(error.code); process.exit(0); })`,
      ],
      { uid: two.uid, gid: two.uid },
    );
    expect(attempt.stdout.trim()).toBe("EACCES");
    await Promise.all([driver.stop(one.sessionId), driver.stop(two.sessionId)]);
  });
});

/** The pid of the session's process called `name` (waits for it to start; never 0, which would signal our own group). */
async function processNamed(uid: number, name: string): Promise<number> {
  const pid = await eventually(`${name} of uid ${uid}`, async () => {
    return (await processesOf(uid)).find((entry) => entry.name === name)?.pid;
  });
  if (!(pid > 1)) throw new Error(`no ${name} process`);
  return pid;
}

async function readlinkOf(file: string): Promise<string> {
  const { readlink } = await import("node:fs/promises");
  return readlink(file);
}

/** Saves what a test saw when NEOSC_TEST_SCREENSHOTS names a folder (look at it, do not trust counts). */
async function screenshot(name: string, endpoint: WorkspaceEndpoint): Promise<void> {
  const folder = process.env.NEOSC_TEST_SCREENSHOTS;
  if (folder === undefined) return;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const client = await connectRfb(endpoint.endpoint);
  await client.handshake();
  const frame = await client.readFrame();
  client.close();
  await writeFile(path.join(folder, `${name}.ppm`), framePpm(frame));
}

describe.runIf(realParts)("the clipboard policy in Xvnc", () => {
  /** A parameter of the session's running Xvnc, asked over its own VNC extension from inside the sandbox. */
  async function xvncParameter(sessionUid: number, name: string): Promise<string> {
    const xvnc = (await processesOf(sessionUid)).find((entry) => entry.name === "Xvnc");
    if (xvnc === undefined) throw new Error("no Xvnc runs as the session's account");
    const id = String(sessionUid);
    const { stdout } = await run("nsenter", [
      ...["-t", String(xvnc.pid), "-m", "-p", "-S", id, "-G", id, "--", "/bin/sh", "-c"],
      'DISPLAY=":$(ls /tmp/.X11-unix | sed -n "s/^X//p" | head -n 1)" exec vncconfig -get "$1"',
      "xvnc-parameter",
      name,
    ]);
    return stdout.trim();
  }

  // The gateway holds back a paste into the workspace too; copying out of it only Xvnc can refuse
  // (its own clipboard owner reads the selection and sends it), so both flags are checked where
  // they take effect, one direction off at a time (swapped flags fail as well as missing ones).
  it.each([
    { toWorkspace: false, fromWorkspace: true, accept: "0", send: "1" },
    { toWorkspace: true, fromWorkspace: false, accept: "1", send: "0" },
  ])(
    "starts Xvnc with AcceptCutText $accept, SendCutText $send (paste in: $toWorkspace, copy out: $fromWorkspace)",
    async (rule) => {
      const sessionId = randomUUID();
      const endpoint = await driver.start({
        sessionId,
        userId: "u1",
        workspace: workspace({ program: "terminal" }),
        clipboard: { toWorkspace: rule.toWorkspace, fromWorkspace: rule.fromWorkspace },
      });
      try {
        const uid = (await stat(socketPath(endpoint))).uid;
        expect(await xvncParameter(uid, "AcceptCutText")).toBe(rule.accept);
        expect(await xvncParameter(uid, "SendCutText")).toBe(rule.send);
      } finally {
        await driver.stop(sessionId);
      }
    },
  );
});

describe.runIf(realParts)("the local sandbox", () => {
  it("shows the session its own folder and nothing of the API's data, secrets or environment", async () => {
    const session = await startSession("terminal");
    const local = path.join(dataDir, "local");
    await writeFile(path.join(dataDir, "secret"), "the API's secret\n", { mode: 0o644 });
    await writeFile(path.join(local, "secret"), "the driver's secret\n", { mode: 0o644 });
    const sessionDir = path.dirname(socketPath(session.endpoint));
    await writeFile(path.join(sessionDir, "home", "mine.txt"), "the session's own file\n");
    process.env.NEOSC_TEST_API_SECRET = "do-not-leak";
    // Open the folders' modes, so that only the sandbox (not a 0700 folder) keeps the files away.
    await chmod(dataDir, 0o755);
    await chmod(local, 0o755);
    const inside = (command: string) =>
      runInSandbox({
        uid: session.uid,
        gid: session.uid,
        sessionDir,
        identityDir: path.join(local, "identity", session.sessionId),
        network: false,
        command: ["/bin/bash", "-c", command],
      });
    try {
      // The session's own file is readable: the checks below fail for the right reason.
      expect((await inside("cat /session/home/mine.txt")).stdout).toBe("the session's own file\n");
      for (const file of [
        path.join(dataDir, "secret"),
        path.join(local, "secret"),
        "/etc/shadow",
        "/root/.bashrc",
      ]) {
        const attempt = await inside(`cat ${file}`);
        expect(attempt.code, file).not.toBe(0);
        expect(attempt.stdout).toBe("");
      }
      expect((await inside(`ls ${local}`)).code).not.toBe(0);
      expect((await inside("ls /work /home /root 2>&1; true")).stdout).not.toMatch(/neosc|wt|main/);
      const environment = (await inside("env")).stdout;
      expect(environment).not.toContain("NEOSC_TEST_API_SECRET");
      expect(environment).toContain(`HOME=/session/home`);
      expect((await inside("id -u")).stdout.trim()).toBe(String(session.uid));
      expect((await inside("cat /proc/self/status")).stdout).toMatch(/^CapEff:\s+0+$/m);
    } finally {
      delete process.env.NEOSC_TEST_API_SECRET;
      await driver.stop(session.sessionId);
    }
  });
});

describe.runIf(realParts)("the sandbox's process limit", () => {
  it("stops a fork bomb at the session's own limit", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "neosc-nproc-"));
    const uid = 1_960_000_000 + Math.floor(Math.random() * 1_000_000);
    const sessionDir = path.join(folder, "session");
    await prepareSessionDir(sessionDir, uid, uid);
    await writeSandboxIdentity(path.join(folder, "identity"), uid, uid);
    const spec = { uid, gid: uid, sessionDir, identityDir: path.join(folder, "identity"), network: false };
    // dash, not bash: bash retries a failed fork for seconds.
    const spawnMany = "for i in $(seq 40); do sleep 2 & done 2>&1; wait; echo done";
    try {
      const limited = await runInSandbox({
        ...spec,
        maxProcesses: 20,
        command: ["/bin/sh", "-c", spawnMany],
      });
      expect(limited.stdout + limited.stderr).toMatch(/fork|Resource temporarily unavailable/);
      const enough = await runInSandbox({
        ...spec,
        maxProcesses: 200,
        command: ["/bin/sh", "-c", spawnMany],
      });
      expect(enough.stdout + enough.stderr).not.toMatch(/fork|Resource temporarily unavailable/);
      expect(enough.stdout).toContain("done");
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe("the local driver's health", () => {
  async function binFolder(binaries: string[]): Promise<string> {
    const folder = await mkdtemp(path.join(tmpdir(), "neosc-bin-"));
    for (const binary of binaries) {
      await writeFile(path.join(folder, binary), "#!/bin/sh\n", { mode: 0o755 });
    }
    return folder;
  }

  it("names the Debian packages that are missing, per program", async () => {
    const folder = await binFolder(["Xvnc", "bwrap", "setpriv", "bash", "openbox", "xterm"]);
    const partial = createLocalDriver({
      dataDir: path.join(folder, "data"),
      searchPath: folder,
      runningAsRoot: true,
    });
    expect(await partial.health()).toEqual({ ok: true, missing: [] });
    expect(await partial.health(workspace({ program: "terminal" }))).toEqual({ ok: true, missing: [] });
    expect(await partial.health(workspace({ program: "desktop" }))).toEqual({
      ok: false,
      missing: ["pcmanfm"],
    });
    expect(await partial.health(workspace({ program: "firefox" }))).toEqual({
      ok: false,
      // Firefox has outbound network, through slirp4netns.
      missing: ["firefox-esr", "slirp4netns"],
    });

    const bare = createLocalDriver({
      dataDir: path.join(folder, "data"),
      searchPath: "/nonexistent",
      runningAsRoot: true,
    });
    expect((await bare.health(workspace({ program: "desktop" }))).missing).toEqual([
      "bash",
      "bubblewrap",
      "openbox",
      "pcmanfm",
      "tigervnc-standalone-server",
      "util-linux",
      "xterm",
    ]);
    await expect(
      bare.start({ sessionId: randomUUID(), userId: "u1", workspace: workspace({ program: "firefox" }) }),
    ).rejects.toMatchObject({
      name: "StartError",
      message: expect.stringContaining("firefox-esr"),
      missing: expect.arrayContaining(["firefox-esr", "tigervnc-standalone-server"]),
    });
    await rm(folder, { recursive: true, force: true });
  });

  it("says that it needs root, and refuses workspaces it cannot run", async () => {
    const unprivileged = createLocalDriver({ dataDir: path.join(tmpdir(), "unused"), runningAsRoot: false });
    const health = await unprivileged.health();
    expect(health.ok).toBe(false);
    expect(health.problem).toMatch(/root/);
    expect((await driver.health(workspace({ driver: "static", program: null }))).ok).toBe(false);
    await expect(
      driver.start({
        sessionId: randomUUID(),
        userId: "u1",
        workspace: workspace({ driver: "static", program: null }),
      }),
    ).rejects.toBeInstanceOf(StartError);
    await expect(
      driver.start({ sessionId: "../escape", userId: "u1", workspace: workspace() }),
    ).rejects.toThrow(/session id/);
  });
});
