import { type ChildProcess, spawn } from "node:child_process";
import { constants, readdirSync, readFileSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { getPriority, setPriority } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Workspace, WorkspaceProgram } from "@neosc/core/workspace";
import {
  cgroupEntryCommand,
  createSessionCgroup,
  oomKills,
  removeSessionCgroup,
  type SessionCgroup,
  setCpuWeight,
} from "./cgroups.ts";
import {
  type BinaryLookup,
  baseBinaries,
  createBinaryLookup,
  type LocalBinary,
  missingPackages,
  programBinaries,
  systemSearchPath,
} from "./packages.ts";
import type { ExitCause, Health, Provisioner, StartSpec, WorkspaceEndpoint } from "./provisioner.ts";
import { StartError } from "./provisioner.ts";
import { probeRfb } from "./rfb-probe.ts";
import {
  connectOutboundNetwork,
  prepareSessionDir,
  sandboxCommand,
  sandboxPid,
  sandboxSessionDir,
  writeSandboxIdentity,
} from "./sandbox.ts";
import { SHELL_SOCKET, shellEndpoint, shellHostCommand, waitForShellHost } from "./shell.ts";
import { SessionRecords, safeSessionId } from "./state-dir.ts";

export interface LocalDriverOptions {
  /**
   * The driver's own folder (mode 0700, root's): `workspaces/<sessionId>/` is each session's
   * folder (owned by its account: `rfb.sock`, `home/`, `run/`), `sessions/` the records a
   * restarted host finds its sessions by, `identity/` each sandbox's passwd, group and hosts,
   * `logs/` each session's output.
   */
  dataDir: string;
  /** Where the driver's binaries are looked up (default: the system folders the sandbox shows). */
  searchPath?: string;
  /** Screen size of new sessions (default 1280x800). */
  geometry?: string;
  /**
   * Which programs get outbound network (their own namespace NAT'ed by slirp4netns, the host's
   * loopback unreachable; see sandbox.ts). Firefox does (it is a browser); the desktop, the
   * terminal and the shell get only a private loopback unless said otherwise here, so a
   * workspace reaches no internal service that the catalogue did not mean it to.
   */
  network?: Partial<Record<WorkspaceProgram, boolean>>;
  /** The first session account's uid (default 1900000000, far above any /etc/passwd entry). */
  firstUid?: number;
  /**
   * Where the session accounts are claimed (default /run/neosc/workspace-uids). Host-wide on
   * purpose: two drivers with different data folders on one host (an API and a test, two hosts'
   * processes) must never hand the same uid to two sessions.
   */
  uidClaimsDir?: string;
  /** How long `start` waits for the VNC socket to answer (default 15 s). */
  startTimeoutMs?: number;
  /** Whether this process may switch to the session accounts (default: it runs as root). */
  runningAsRoot?: boolean;
  /**
   * Whether each session gets a cgroup with the catalogue's CPU and memory (default true; see
   * cgroups.ts). When the host cannot make one, the session starts without and its log says why.
   */
  limits?: boolean;
}

interface LocalRecord {
  sessionId: string;
  uid: number;
  gid: number;
  program: WorkspaceProgram;
  /** The outer bwrap process, with its start time so that a reused pid is not taken for it. */
  pid: number;
  startTicks: string;
  /** The session's slirp4netns (network programs), with its start time. */
  netPid?: number;
  netTicks?: string;
  /** Set before stop kills the processes, so their exit is not reported as the workspace's own. */
  stopping?: boolean;
  /** Its cgroup with the catalogue's CPU and memory limits, when the host could make one. */
  cgroup?: SessionCgroup | null;
}

/** Niceness of sandboxes started ahead: a refill never slows the sessions that run. */
const AHEAD_NICENESS = 10;

const defaultUidClaimsDir = "/run/neosc/workspace-uids";

const defaultNetwork: Record<WorkspaceProgram, boolean> = {
  desktop: false,
  firefox: true,
  terminal: false,
  shell: false,
};

/**
 * The launcher, run by bash inside the sandbox as the session's account: Xvnc on the session's
 * unix socket only (no TCP, no abstract X socket: nothing outside the sandbox reaches its X
 * server), then the window manager and the program. Xvnc writes its display number to a fifo
 * once it accepts clients (-displayfd), and openbox says on another when it manages the screen
 * (--startup), so nothing waits on a fixed sleep. The launcher ends, and with it the sandbox,
 * when Xvnc or the workspace's main program ends: quitting Firefox ends the session.
 */
const launcher = String.raw`set -u
program=$1 geometry=$2 name=$3 url=$4 send_cut=$5 accept_cut=$6
ready=/tmp/.display-ready
mkfifo -m 0600 "$ready"
# The host says on this fifo when the outbound network is up (programs with network only).
network=/session/run/network-ready
mkfifo -m 0600 "$network" && exec 5<>"$network"
Xvnc -displayfd 3 -rfbunixpath ${sandboxSessionDir}/rfb.sock -rfbport -1 -SecurityTypes None \
  -nolisten tcp -nolisten local -br -geometry "$geometry" -depth 24 -FrameRate 30 -desktop "$name" \
  -SendCutText="$send_cut" -AcceptCutText="$accept_cut" 3>"$ready" &
xvnc=$!
read -r display <"$ready" || exit 70
export DISPLAY=":$display"
# The window manager first: a program that maps its window before openbox manages the screen
# waits for the window manager's answer (xterm up to 5 s). openbox runs --startup once it does.
wm_ready=/tmp/.wm-ready
mkfifo -m 0600 "$wm_ready"
openbox --sm-disable --startup "/bin/sh -c 'echo >$wm_ready'" & wm=$!
read -r -t 10 _ <>"$wm_ready"
case "$program" in
desktop)
  main=$wm
  mkdir -p "$HOME/.config/pcmanfm/default"
  printf '[*]\nwallpaper_mode=color\ndesktop_bg=#2d5a7b\ndesktop_fg=#ffffff\ndesktop_shadow=#000000\n' \
    >"$HOME/.config/pcmanfm/default/desktop-items-0.conf"
  pcmanfm --desktop &
  xterm -fa Monospace -fs 11 -geometry 90x28+40+40 &
  pcmanfm "$HOME" &
  ;;
firefox)
  profile="$HOME/.firefox-profile"
  mkdir -p "$profile"
  # A kiosk opens on its page: no welcome tour, default-browser question or telemetry notice.
  cat >"$profile/user.js" <<'PREFS'
user_pref("browser.aboutwelcome.enabled", false);
user_pref("trailhead.firstrun.didSeeAboutWelcome", true);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("startup.homepage_welcome_url", "");
user_pref("startup.homepage_welcome_url.additional", "");
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("browser.disableResetPrompt", true);
user_pref("browser.tabs.warnOnClose", false);
user_pref("extensions.pocket.enabled", false);
PREFS
  read -r -t 15 _ <&5
  firefox-esr --kiosk --no-remote --profile "$profile" "$url" & main=$!
  ;;
terminal)
  xterm -fa Monospace -fs 12 -maximized & main=$!
  ;;
*)
  exit 64
  ;;
esac
wait -n "$xvnc" "$main"
`;

/**
 * Runs each session's workspace on this host, in a bubblewrap sandbox as the session's own
 * unprivileged account (see sandbox.ts): for desktops and apps one TigerVNC Xvnc listening only
 * on the unix socket `<dataDir>/workspaces/<sessionId>/rfb.sock`, openbox and the workspace's
 * program; for `shell` the shell host (shell.ts) on `<sessionId>/terminal.sock`.
 */
export function createLocalDriver(options: LocalDriverOptions): Provisioner {
  const dataDir = path.resolve(options.dataDir);
  const workspacesDir = path.join(dataDir, "workspaces");
  const identityRoot = path.join(dataDir, "identity");
  const uidClaimsDir = options.uidClaimsDir ?? defaultUidClaimsDir;
  const logsDir = path.join(dataDir, "logs");
  const records = new SessionRecords<LocalRecord>(path.join(dataDir, "sessions"));
  const lookup: BinaryLookup = createBinaryLookup(options.searchPath ?? systemSearchPath);
  const firstUid = options.firstUid ?? 1_900_000_000;
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const geometry = options.geometry ?? "1280x800";
  const network = { ...defaultNetwork, ...options.network };
  const runningAsRoot = options.runningAsRoot ?? process.getuid?.() === 0;
  const limits = options.limits ?? true;
  const exitListeners: ((sessionId: string, cause?: ExitCause) => void)[] = [];
  /**
   * The id each sandbox started by this process now has (a warm one takes its session's at
   * assignment), for its exit listener. Lost on restart, when the reconciler takes over.
   */
  const currentIds = new Map<string, { id: string }>();

  const sessionDirOf = (sessionId: string) => path.join(workspacesDir, safeSessionId(sessionId));
  /** A desktop's Xvnc socket, or a shell's host socket (shell.ts), in the session folder. */
  const endpointOf = (sessionId: string, program: WorkspaceProgram): WorkspaceEndpoint =>
    program === "shell"
      ? shellEndpoint(sessionDirOf(sessionId))
      : {
          protocol: "rfb",
          endpoint: { transport: "unix", path: path.join(sessionDirOf(sessionId), "rfb.sock") },
        };

  async function health(workspace?: Workspace): Promise<Health> {
    if (workspace !== undefined && (workspace.driver !== "local" || workspace.program === null)) {
      return { ok: false, missing: [], problem: "This workspace names no program for the local driver" };
    }
    const binaries: LocalBinary[] = [...baseBinaries];
    if (workspace?.program) {
      binaries.push(...programBinaries[workspace.program]);
      if (network[workspace.program]) binaries.push("slirp4netns");
    }
    const missing = await missingPackages(binaries, lookup);
    const problem = runningAsRoot
      ? undefined
      : `The local driver runs each session as its own account and needs root for that (this process runs as uid ${process.getuid?.()})`;
    return { ok: missing.length === 0 && problem === undefined, missing, ...(problem ? { problem } : {}) };
  }

  /**
   * A session lives as long as its bwrap does: when bwrap ends, the sandbox's pid namespace goes
   * with it (--die-with-parent), so the processes still listed as the session's are being killed.
   */
  function alive(record: LocalRecord): boolean {
    return startTicksOf(record.pid) === record.startTicks;
  }

  /** Waits for the socket of a session that is starting (here or in another call) to answer. */
  async function waitReady(
    sessionId: string,
    program: WorkspaceProgram,
    child: ChildProcess | null,
    logFile: string,
  ): Promise<void> {
    const deadline = Date.now() + startTimeoutMs;
    const { endpoint } = endpointOf(sessionId, program);
    let exited = false;
    child?.once("exit", () => {
      exited = true;
    });
    while (Date.now() < deadline) {
      const wait = Math.min(1000, Math.max(50, deadline - Date.now()));
      if (program === "shell" ? await waitForShellHost(endpoint, wait) : await probeRfb(endpoint, wait))
        return;
      if (exited) throw new StartError(`The workspace ended while starting: ${await tail(logFile)}`);
      // A short poll: the socket appears within a few hundred milliseconds of the spawn.
      await sleep(10);
    }
    throw new StartError(`The workspace did not answer within ${startTimeoutMs} ms: ${await tail(logFile)}`);
  }

  /** What a claim on a session account holds: whose it is, so a stale one can be told apart. */
  const claimOf = (sessionId: string) => JSON.stringify({ dataDir, sessionId });

  /**
   * Claims a uid for the session in the host-wide claims folder (every local driver on this host
   * shares it, whatever its data folder), skipping uids that any process runs as. A claim whose
   * session record is gone and that is older than a minute is stale (its driver died mid-stop).
   */
  async function claimUid(sessionId: string): Promise<number> {
    await mkdir(uidClaimsDir, { recursive: true, mode: 0o700 });
    const running = processesByUid();
    for (let uid = firstUid; uid < firstUid + 1_000_000; uid++) {
      if (running.has(uid)) continue;
      const claim = path.join(uidClaimsDir, String(uid));
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await writeFile(claim, claimOf(sessionId), { flag: "wx", mode: 0o600 });
          return uid;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
          if (attempt > 0 || !(await staleClaim(claim))) break;
          await rm(claim, { force: true });
        }
      }
    }
    throw new StartError("No free session account on this host");
  }

  async function staleClaim(claim: string): Promise<boolean> {
    try {
      const [text, info] = await Promise.all([readFile(claim, "utf8"), stat(claim)]);
      if (Date.now() - info.mtimeMs < 60_000) return false;
      const holder = JSON.parse(text) as { dataDir: string; sessionId: string };
      const record = path.join(holder.dataDir, "sessions", `${safeSessionId(holder.sessionId)}.json`);
      return !(await stat(record).then(
        () => true,
        () => false,
      ));
    } catch {
      return false;
    }
  }

  /** Whether the uid is still this session's (so that stop never signals another session's account). */
  async function holdsUid(uid: number, sessionId: string): Promise<boolean> {
    const holder = await readFile(path.join(uidClaimsDir, String(uid)), "utf8").catch(() => null);
    return holder === claimOf(sessionId);
  }

  async function releaseUid(uid: number, sessionId: string): Promise<void> {
    if (await holdsUid(uid, sessionId)) await rm(path.join(uidClaimsDir, String(uid)), { force: true });
  }

  async function launch(
    sessionId: string,
    spec: StartSpec,
    program: WorkspaceProgram,
  ): Promise<WorkspaceEndpoint> {
    const { workspace } = spec;
    const sessionDir = sessionDirOf(sessionId);
    await mkdir(workspacesDir, { recursive: true, mode: 0o700 });
    const uid = await claimUid(sessionId);
    try {
      await prepareSessionDir(sessionDir, uid, uid);
    } catch (error) {
      await releaseUid(uid, sessionId);
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        // Another start of this session is under way: its socket answering is the answer.
        await waitForRecord(sessionId);
        await waitReady(sessionId, program, null, path.join(logsDir, `${sessionId}.log`));
        return endpointOf(sessionId, program);
      }
      throw error;
    }
    const identityDir = path.join(identityRoot, sessionId);
    await writeSandboxIdentity(identityDir, uid, uid);
    await mkdir(logsDir, { recursive: true, mode: 0o700 });
    const logFile = path.join(logsDir, `${sessionId}.log`);
    const log = await open(logFile, "w", 0o600);
    const bwrap = await lookup("bwrap");
    const maxProcesses = 2048;
    let cgroup: SessionCgroup | null = null;
    if (limits) {
      try {
        cgroup = await createSessionCgroup(`neosc-workspace-${uid}`, {
          cpu: workspace.cpu,
          memoryMb: workspace.memoryMb,
          maxProcesses,
        });
      } catch (error) {
        await log.write(`neosc: this session runs without CPU and memory limits: ${String(error)}\n`);
      }
    }
    // The clipboard policy at the source: Xvnc itself neither offers nor takes cut text that the
    // policy forbids, whatever a client sends or asks for.
    const clipboard = spec.clipboard ?? null;
    const sandbox = sandboxCommand({
      maxProcesses,
      uid,
      gid: uid,
      sessionDir,
      identityDir,
      network: network[program],
      command:
        program === "shell"
          ? shellHostCommand({ socketPath: `${sandboxSessionDir}/${SHELL_SOCKET}` })
          : [
              "/bin/bash",
              "-c",
              launcher,
              "neosc-launcher",
              program,
              geometry,
              workspace.name,
              // The catalogue's URL is http(s) only (WorkspaceSchema), so it cannot pass for an option.
              workspace.url ?? "about:home",
              clipboard === null || clipboard.fromWorkspace ? "1" : "0",
              clipboard === null || clipboard.toWorkspace ? "1" : "0",
            ],
      ...(bwrap === null ? {} : { bwrap }),
    });
    // Started ahead, it waits at a low weight on the CPU: its cgroup's where it has one, else
    // niceness (which every thread it makes inherits until the hand-over resets them).
    if (spec.ahead && cgroup !== null) await setCpuWeight(cgroup, "background");
    // Into its cgroup first, then (started ahead, without a cgroup) at low priority, then bwrap:
    // one pid throughout.
    const [file = sandbox.file, ...args] = cgroupEntryCommand(cgroup, [
      ...(spec.ahead && cgroup === null ? ["/usr/bin/nice", "-n", String(AHEAD_NICENESS)] : []),
      sandbox.file,
      ...sandbox.args,
    ]);
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        ...sandbox.options,
        // fd 3: bwrap's info pipe, for slirp4netns to find the sandbox (network programs only).
        stdio: network[program] ? ["ignore", log.fd, log.fd, "pipe"] : ["ignore", log.fd, log.fd],
        // Its own process group, so that stop reaches bwrap and nothing of the API's.
        detached: true,
      });
    } finally {
      await log.close();
    }
    const pid = child.pid;
    if (pid === undefined) {
      await new Promise((resolve) => child.once("error", resolve));
      await cleanUp(sessionId, uid, cgroup);
      throw new StartError("The sandbox could not be started (bwrap)");
    }
    child.unref();
    let net: ChildProcess | null = null;
    const current = { id: sessionId };
    currentIds.set(sessionId, current);
    child.once("exit", () => {
      net?.kill("SIGKILL");
      currentIds.delete(current.id);
      void reportExit(current.id);
    });
    const pidInSandbox = network[program] ? sandboxPid(child) : null;
    pidInSandbox?.catch(() => {});
    await records.write({
      sessionId,
      uid,
      gid: uid,
      program,
      pid,
      startTicks: startTicksOf(pid) ?? "",
      cgroup,
    });
    try {
      await waitReady(sessionId, program, child, logFile);
      const slirp4netns = pidInSandbox === null ? null : await lookup("slirp4netns");
      if (pidInSandbox !== null && slirp4netns !== null) {
        // Once the launcher runs (bwrap's own network setup is done), then tell it the network is up.
        net = await connectOutboundNetwork(await pidInSandbox, slirp4netns);
        net.unref();
        const record = await records.read(sessionId);
        if (record !== null && net.pid !== undefined) {
          await records.write({ ...record, netPid: net.pid, netTicks: startTicksOf(net.pid) ?? "" });
        }
        await signalNetworkReady(sessionDir);
      }
    } catch (error) {
      net?.kill("SIGKILL");
      await stop(sessionId);
      throw error instanceof StartError
        ? error
        : new StartError(`The workspace's network did not start: ${String(error)}`);
    }
    return endpointOf(sessionId, program);
  }

  async function waitForRecord(sessionId: string): Promise<LocalRecord> {
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      const record = await records.read(sessionId);
      if (record !== null) return record;
      await sleep(20);
    }
    throw new StartError("Another start of this session did not finish");
  }

  /** Fires the exit listeners unless the exit was stop's doing. */
  async function reportExit(sessionId: string): Promise<void> {
    const record = await records.read(sessionId).catch(() => null);
    if (record === null || record.stopping) return;
    const cause = await exitCause(record);
    for (const listener of exitListeners) listener(sessionId, cause);
  }

  /** Past its memory limit the kernel killed one of its processes: the session ends as a whole. */
  async function exitCause(record: LocalRecord): Promise<ExitCause | undefined> {
    if (record.cgroup == null) return undefined;
    return (await oomKills(record.cgroup)) > 0 ? "out_of_memory" : undefined;
  }

  /**
   * A sandbox started ahead back at the host's own weight on the CPU: its cgroup's weight where
   * it has one (one write), else the niceness of every thread of its account (niceness is per
   * thread on Linux), repeated while some are still below it: a program that was starting forks
   * and spawns threads from not yet reniced ones meanwhile.
   */
  async function settlePriority(record: LocalRecord): Promise<void> {
    if (record.cgroup != null) {
      await setCpuWeight(record.cgroup, "normal");
      return;
    }
    const niceness = getPriority();
    const extra = [record.pid, ...(record.netPid === undefined ? [] : [record.netPid])];
    // A desktop still settling starts processes while this runs, and a child takes the niceness
    // of the thread that made it: repeat until two passes in a row find nothing to change (one
    // quiet pass can miss a child made just after it listed), for at most a few seconds.
    const deadline = Date.now() + 5_000;
    for (let quiet = 0; quiet < 2 && Date.now() < deadline; ) {
      const threads = new Set(threadsOf([...extra, ...(processesByUid().get(record.uid) ?? [])]));
      let changed = false;
      for (const tid of threads) {
        const current = threadNiceness(tid);
        if (current === null || current === niceness) continue;
        changed = true;
        try {
          setPriority(tid, niceness);
        } catch {
          // the thread ended meanwhile
        }
      }
      quiet = changed ? 0 : quiet + 1;
    }
  }

  /**
   * Hands a sandbox started ahead to a session. Nothing in it is anyone's yet (a fresh home, an
   * account of its own, no session data), so it becomes the session's by renaming: its folder
   * (the socket inside keeps listening: a unix socket is found by its inode), identity, log and
   * record, and the account's claim. Then back to normal priority.
   */
  async function assign(warmId: string, sessionId: string): Promise<WorkspaceEndpoint | null> {
    safeSessionId(warmId);
    safeSessionId(sessionId);
    const record = await records.read(warmId);
    if (record === null || record.stopping || !alive(record)) return null;
    if ((await records.read(sessionId)) !== null) throw new StartError("The session already has a workspace");
    // The session's record first, so that no sweep takes the renamed folders for orphans.
    await records.write({ ...record, sessionId });
    try {
      await rename(sessionDirOf(warmId), sessionDirOf(sessionId));
    } catch (error) {
      await records.remove(sessionId);
      throw error;
    }
    await rename(path.join(identityRoot, warmId), path.join(identityRoot, sessionId));
    await rename(path.join(logsDir, `${warmId}.log`), path.join(logsDir, `${sessionId}.log`)).catch(() => {});
    await writeFile(path.join(uidClaimsDir, String(record.uid)), claimOf(sessionId), { mode: 0o600 });
    await records.remove(warmId);
    const holder = currentIds.get(warmId);
    if (holder !== undefined) {
      currentIds.delete(warmId);
      holder.id = sessionId;
      currentIds.set(sessionId, holder);
    }
    await settlePriority(record);
    return endpointOf(sessionId, record.program);
  }

  async function cleanUp(
    sessionId: string,
    uid: number | null,
    cgroup?: SessionCgroup | null,
  ): Promise<void> {
    await rm(sessionDirOf(sessionId), { recursive: true, force: true });
    await rm(path.join(identityRoot, sessionId), { recursive: true, force: true });
    await rm(path.join(logsDir, `${sessionId}.log`), { force: true });
    await records.remove(sessionId);
    if (cgroup != null) await removeSessionCgroup(cgroup);
    if (uid !== null) await releaseUid(uid, sessionId);
  }

  /**
   * Removes session folders, identities and logs that no record names and that are over a minute
   * old: what a host that died between creating a session's folder and writing its record left.
   * The reconciler lists sessions regularly, so this needs no timer of its own.
   */
  async function sweepOrphans(known: Set<string>): Promise<void> {
    for (const [folder, suffix] of [
      [workspacesDir, ""],
      [identityRoot, ""],
      [logsDir, ".log"],
    ] as const) {
      const names = await readdir(folder).catch(() => [] as string[]);
      for (const name of names) {
        const sessionId = name.endsWith(suffix) ? name.slice(0, name.length - suffix.length) : name;
        if (known.has(sessionId)) continue;
        const entry = path.join(folder, name);
        const info = await stat(entry).catch(() => null);
        if (info !== null && Date.now() - info.mtimeMs > 60_000)
          await rm(entry, { recursive: true, force: true });
      }
    }
  }

  async function stop(sessionId: string): Promise<void> {
    safeSessionId(sessionId);
    const record = await records.read(sessionId);
    if (record === null) {
      await rm(sessionDirOf(sessionId), { recursive: true, force: true });
      return;
    }
    await records.write({ ...record, stopping: true });
    const ownsUid = await holdsUid(record.uid, sessionId);
    const deadline = Date.now() + 10_000;
    // A full pass over /proc finds everything of the session's; between the signals only what was
    // found is read again, and once that is gone a full pass confirms that nothing new was made
    // meanwhile (else the loop goes on with what it found).
    let watched: number[] | undefined;
    for (;;) {
      const bwrapAlive = alive(record);
      const ownPids = ownsUid ? (processesByUid(watched).get(record.uid) ?? []) : [];
      const netAlive = record.netPid !== undefined && startTicksOf(record.netPid) === record.netTicks;
      if (!bwrapAlive && !netAlive && ownPids.length === 0) {
        if (watched === undefined) break;
        watched = undefined;
        continue;
      }
      if (Date.now() > deadline) throw new Error(`the processes of session ${sessionId} did not end`);
      // bwrap's group first (its sandbox dies with it: --die-with-parent), then anything still
      // running as the session's account, which is this session's alone.
      if (bwrapAlive) signal(-record.pid);
      for (const pid of ownPids) signal(pid);
      if (netAlive && record.netPid !== undefined) signal(record.netPid);
      watched = ownPids;
      await sleep(20);
    }
    await cleanUp(sessionId, record.uid, record.cgroup);
  }

  return {
    async start(spec) {
      const sessionId = safeSessionId(spec.sessionId);
      const program = spec.workspace.program;
      if (spec.workspace.driver !== "local" || program === null) {
        throw new StartError("This workspace names no program for the local driver");
      }
      const existing = await records.read(sessionId);
      if (existing !== null) {
        if (!existing.stopping && alive(existing)) {
          await waitReady(sessionId, existing.program, null, path.join(logsDir, `${sessionId}.log`));
          return endpointOf(sessionId, existing.program);
        }
        // Its processes died (or a stop did not finish): start it afresh.
        await stop(sessionId);
      }
      const state = await health(spec.workspace);
      if (!state.ok) {
        const reasons = [
          ...(state.missing.length > 0 ? [`missing Debian packages: ${state.missing.join(" ")}`] : []),
          ...(state.problem === undefined ? [] : [state.problem]),
        ];
        throw new StartError(`This host cannot start the workspace (${reasons.join("; ")})`, state.missing);
      }
      return launch(sessionId, spec, program);
    },
    async endpoint(sessionId) {
      const record = await records.read(sessionId);
      if (record === null || record.stopping || !alive(record)) return null;
      return endpointOf(sessionId, record.program);
    },
    stop,
    async list() {
      const all = await records.all();
      await sweepOrphans(new Set(all.map((record) => record.sessionId)));
      return Promise.all(
        all.map(async (record) => {
          const cause = await exitCause(record);
          // Past its memory limit a session is over even while some of its processes still run.
          if (cause !== undefined) return { sessionId: record.sessionId, alive: false, cause };
          return { sessionId: record.sessionId, alive: alive(record) };
        }),
      );
    },
    health,
    onExit(listener) {
      exitListeners.push(listener);
    },
    assign,
  };
}

/** Tells the launcher (waiting on its fifo) that the session's outbound network is up. */
async function signalNetworkReady(sessionDir: string): Promise<void> {
  const fifo = await open(
    path.join(sessionDir, "run", "network-ready"),
    constants.O_WRONLY | constants.O_NONBLOCK,
  );
  try {
    await fifo.write("\n");
  } finally {
    await fifo.close();
  }
}

function signal(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/*
 * /proc is read synchronously on purpose. Its files are made by the kernel on read, never wait
 * on a disk, and take microseconds each; through fs/promises every file costs four trips through
 * libuv's four-thread pool (open, fstat, read, close), shared with every other file operation of
 * the process. A pass over a host with a few hundred processes took 70–120 ms that way when idle
 * and 0.6–2.5 s under ten concurrent launches (the pool queued behind the other sessions' starts
 * and stops), while the same pass read synchronously takes 3–5 ms. A pass reads only each
 * process's status (its uid); start times are read for the few processes a record names.
 */

/** Which of `pids` (every process when absent) run, by real uid: one pass over /proc. */
function processesByUid(pids?: Iterable<number>): Map<number, number[]> {
  const byUid = new Map<number, number[]>();
  const candidates =
    pids ??
    readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  for (const pid of candidates) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      continue; // the process ended while being read
    }
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    if (!Number.isInteger(uid)) continue;
    const list = byUid.get(uid);
    if (list === undefined) byUid.set(uid, [pid]);
    else list.push(pid);
  }
  return byUid;
}

function startTicksOf(pid: number): string | null {
  try {
    return parseStartTicks(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

/** The command name in /proc/<pid>/stat may hold spaces and parentheses: fields start after the last ")". */
function parseStartTicks(stat: string): string | null {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Field 22 overall is the 20th after pid and comm.
  return fields[19] ?? null;
}

/** The thread ids of the processes. */
function threadsOf(pids: number[]): number[] {
  const threads: number[] = [];
  for (const pid of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      // the process ended
    }
    for (const tid of tids) threads.push(Number(tid));
  }
  return threads;
}

/** A thread's niceness (field 19 of /proc/<tid>/stat), null once it ended. */
function threadNiceness(tid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${tid}/stat`, "utf8");
  } catch {
    return null;
  }
  const value = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16];
  return value === undefined ? null : Number(value);
}

/** The end of a session's log, for the reason of a failed start. */
async function tail(logFile: string): Promise<string> {
  const text = await readFile(logFile, "utf8").catch(() => "");
  const lines = text.trim().split("\n").slice(-5).join(" | ");
  return lines === "" ? "no output" : lines;
}
