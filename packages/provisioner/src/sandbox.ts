import { type ChildProcess, execFile, type SpawnOptions, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

/*
 * The bubblewrap sandbox every local workspace process runs in (the desktop's Xvnc and programs,
 * the terminal helper's shells).
 *
 * bwrap runs as root (the API's user) only to build the mount tree, then `setpriv` switches to
 * the session's own uid/gid with no supplementary groups, no capabilities (bounding set
 * included) and no_new_privs before the first workspace program starts. bwrap is not run as the
 * session's uid because an unprivileged bwrap resolves bind sources as that uid, and the
 * session folders live inside the API's data folder, which that uid may not traverse. For the
 * same reason the user namespace is not unshared: a root-created user namespace would map the
 * sandbox's user onto root. What remains root is bwrap's own reaper (pid 1 of the sandbox's pid
 * namespace, no capabilities), which the session's processes can neither signal nor trace.
 *
 * Inside: /usr (and the /bin, /lib… links) and /etc read-only, with /etc's secrets masked and a
 * passwd/group that name only root, nobody and the session's account; a private /tmp, /dev,
 * /proc, /run; the session folder read-write at /session (HOME is /session/home). Nothing else
 * of the host: not the API's data folder, not other sessions, not /root, not /work or /home.
 * The environment starts empty. The network namespace is always the sandbox's own: a private
 * loopback only, or (`network: true`) also a NAT to the outside that `connectOutboundNetwork`
 * attaches with slirp4netns, from which the host's loopback and abstract sockets (the API, the
 * workspace host, the database, other X servers) stay unreachable.
 */

/** Where the session folder appears inside the sandbox. */
export const sandboxSessionDir = "/session";
export const sandboxHome = `${sandboxSessionDir}/home`;
export const sandboxRuntimeDir = `${sandboxSessionDir}/run`;
export const sandboxPath = "/usr/local/bin:/usr/bin:/bin";
export const sandboxHostname = "workspace";
/** The resolver slirp4netns gives a sandbox. */
const slirpResolver = "10.0.2.3";

/** Host files and folders a workspace must not read even though /etc is shown. */
const maskedFiles = ["/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers"];
const maskedFolders = ["/etc/ssl/private", "/etc/sudoers.d", "/etc/neosc"];
/** Shown read-only when present: the font cache (without it GTK programs rescan every font). */
const optionalReadOnly = ["/var/cache/fontconfig"];

export interface SandboxSpec {
  /** The session's own account; never 0. */
  uid: number;
  gid: number;
  /** The session's folder on the host (see `prepareSessionDir`), read-write at /session. */
  sessionDir: string;
  /** A folder holding `passwd` and `group` for the sandbox's /etc (see `writeSandboxIdentity`). */
  identityDir: string;
  /**
   * Outbound network (true: spawn with a pipe at fd 3, read `sandboxPid`, and once the command
   * runs call `connectOutboundNetwork`), or only a private loopback (false).
   */
  network: boolean;
  /** argv inside the sandbox; the first element is an absolute path or found on `sandboxPath`. */
  command: string[];
  /** Added to the clean environment (DISPLAY, TERM…). */
  env?: Record<string, string>;
  /** The bwrap binary (default: found on PATH by the spawner). */
  bwrap?: string;
  /** The setpriv binary inside the sandbox (default /usr/bin/setpriv). */
  setpriv?: string;
  /**
   * Processes and threads the session's account may run at once (RLIMIT_NPROC, default 2048:
   * Firefox runs a few hundred threads). Counted per uid, and the uid is the session's alone,
   * so a fork bomb stops at the session's own limit instead of the host's.
   */
  maxProcesses?: number;
}

export interface SandboxCommand {
  file: string;
  args: string[];
  /** Spawn options: the clean environment. Add stdio, detached… as the caller needs. */
  options: SpawnOptions & { env: Record<string, string> };
}

/** The environment inside every sandbox: nothing of the API's, only what a session needs. */
export function sandboxEnvironment(spec: Pick<SandboxSpec, "uid" | "env">): Record<string, string> {
  return {
    PATH: sandboxPath,
    HOME: sandboxHome,
    USER: accountName(spec.uid),
    LOGNAME: accountName(spec.uid),
    SHELL: "/bin/bash",
    LANG: "C.UTF-8",
    XDG_RUNTIME_DIR: sandboxRuntimeDir,
    ...spec.env,
  };
}

/** The command that runs `spec.command` in a sandbox as the session's account. */
export function sandboxCommand(spec: SandboxSpec): SandboxCommand {
  if (!Number.isInteger(spec.uid) || spec.uid <= 0 || !Number.isInteger(spec.gid) || spec.gid <= 0) {
    throw new Error(`a sandbox needs an unprivileged uid and gid (got ${spec.uid}:${spec.gid})`);
  }
  if (spec.command.length === 0) throw new Error("a sandbox needs a command");
  if (spec.maxProcesses !== undefined && !(Number.isInteger(spec.maxProcesses) && spec.maxProcesses > 0)) {
    throw new Error(`maxProcesses must be a positive integer (got ${spec.maxProcesses})`);
  }
  const env = sandboxEnvironment(spec);
  const args = [
    // Every namespace but the user namespace (see the top of this file).
    "--unshare-ipc",
    "--unshare-pid",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--unshare-net",
    // bwrap tells the sandbox's pid on fd 3, for slirp4netns to join its network namespace.
    ...(spec.network ? ["--info-fd", "3"] : []),
    "--hostname",
    sandboxHostname,
    "--die-with-parent",
    "--new-session",
    // Only what setpriv needs to become the session's account and drop the rest.
    "--cap-drop",
    "ALL",
    "--cap-add",
    "CAP_SETUID",
    "--cap-add",
    "CAP_SETGID",
    "--cap-add",
    "CAP_SETPCAP",
    "--ro-bind",
    "/usr",
    "/usr",
    ...systemLinks(),
    // Parents bwrap would create for the binds below are root's and 0700: made readable here.
    "--dir",
    "/var",
    "--dir",
    "/var/cache",
    "--symlink",
    "../tmp",
    "/var/tmp",
    ...optionalReadOnly
      .filter((folder) => existsSync(folder))
      .flatMap((folder) => ["--ro-bind", folder, folder]),
    "--ro-bind",
    "/etc",
    "/etc",
    ...maskedFiles.filter((file) => existsSync(file)).flatMap((file) => ["--ro-bind", "/dev/null", file]),
    ...maskedFolders.filter((folder) => existsSync(folder)).flatMap((folder) => ["--tmpfs", folder]),
    "--ro-bind",
    path.join(spec.identityDir, "passwd"),
    "/etc/passwd",
    "--ro-bind",
    path.join(spec.identityDir, "group"),
    "/etc/group",
    "--ro-bind",
    path.join(spec.identityDir, "hosts"),
    "/etc/hosts",
    "--ro-bind",
    path.join(spec.identityDir, "resolv.conf"),
    "/etc/resolv.conf",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--perms",
    "1777",
    "--tmpfs",
    "/dev/shm",
    "--perms",
    "1777",
    "--tmpfs",
    "/tmp",
    // X's socket folder as X wants it (root's, 1777): the session's Xvnc cannot make it so.
    "--perms",
    "1777",
    "--dir",
    "/tmp/.X11-unix",
    "--tmpfs",
    "/run",
    "--bind",
    spec.sessionDir,
    sandboxSessionDir,
    "--clearenv",
    ...Object.entries(env).flatMap(([name, value]) => ["--setenv", name, value]),
    "--",
    spec.setpriv ?? "/usr/bin/setpriv",
    `--reuid=${spec.uid}`,
    `--regid=${spec.gid}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
    "--no-new-privs",
    "--",
    // As the session's account: its process limit, then its home (bwrap cannot enter the home
    // itself: it is the session's, 0700, and bwrap has no capabilities left when it would chdir).
    "/bin/bash",
    "-c",
    'ulimit -u "$0" || exit 126; cd "$HOME" 2>/dev/null; exec "$@"',
    String(spec.maxProcesses ?? 2048),
    ...spec.command,
  ];
  return { file: spec.bwrap ?? "bwrap", args, options: { env: { PATH: "/usr/bin:/bin" } } };
}

/** Debian 12 has merged /usr: /bin, /lib… are links into it, recreated as links in the sandbox. */
function systemLinks(): string[] {
  const links: string[] = [];
  for (const name of ["bin", "sbin", "lib", "lib64"]) {
    if (existsSync(`/usr/${name}`)) links.push("--symlink", `usr/${name}`, `/${name}`);
  }
  return links;
}

/** The account name shown inside the sandbox (the uid is what the kernel checks). */
export function accountName(uid: number): string {
  return `workspace-${uid}`;
}

/**
 * Creates the session folder (mode 0700, owned by the session's account) with `home/` and `run/`
 * (XDG_RUNTIME_DIR). The folder's parent must exist; the folder itself must not (this is the
 * claim of the session id: a second caller gets EEXIST).
 */
export async function prepareSessionDir(sessionDir: string, uid: number, gid: number): Promise<void> {
  await mkdir(sessionDir, { mode: 0o700 });
  for (const folder of [sessionDir, path.join(sessionDir, "home"), path.join(sessionDir, "run")]) {
    if (folder !== sessionDir) await mkdir(folder, { mode: 0o700 });
    await chown(folder, uid, gid);
  }
}

/** Writes the sandbox's passwd, group and hosts (root-owned, outside the session folder so the session cannot edit them). */
export async function writeSandboxIdentity(identityDir: string, uid: number, gid: number): Promise<void> {
  await mkdir(identityDir, { recursive: true, mode: 0o755 });
  const name = accountName(uid);
  await writeFile(
    path.join(identityDir, "passwd"),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n${name}:x:${uid}:${gid}:NeoSC workspace:${sandboxHome}:/bin/bash\n`,
    { mode: 0o644 },
  );
  // The sandbox's host name resolves without asking DNS (a lookup that cannot leave a sandbox
  // without network would wait for the resolver's timeout).
  await writeFile(
    path.join(identityDir, "hosts"),
    `127.0.0.1 localhost ${sandboxHostname}\n::1 localhost ip6-localhost ip6-loopback\n`,
    { mode: 0o644 },
  );
  // slirp4netns's resolver (it forwards to the host's); unused without network.
  await writeFile(path.join(identityDir, "resolv.conf"), `nameserver ${slirpResolver}\n`, { mode: 0o644 });
  await writeFile(path.join(identityDir, "group"), `root:x:0:\nnogroup:x:65534:\n${name}:x:${gid}:\n`, {
    mode: 0o644,
  });
}

/** The pid of a sandbox started with `network: true` (bwrap tells it on the info pipe, fd 3). */
export function sandboxPid(sandbox: ChildProcess): Promise<number> {
  const info = sandbox.stdio[3];
  if (info === null || info === undefined || !("on" in info)) {
    return Promise.reject(new Error("the sandbox has no info pipe on fd 3"));
  }
  // The pipe breaks when the sandbox ends: not an error of anyone's.
  info.on("error", () => {});
  return new Promise<number>((resolve, reject) => {
    let text = "";
    info.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const match = /"child-pid":\s*(\d+)/.exec(text);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    info.once("error", reject);
    info.once("close", () => reject(new Error("the sandbox ended before telling its pid")));
  });
}

/**
 * Gives a sandbox started with `network: true` a NAT to the outside: slirp4netns joins its
 * network namespace with a tap device, the host's loopback disabled, in its own sandbox and
 * seccomp filter (it parses the workspace's packets as root). Call it once the sandbox runs its
 * command (bwrap sets up the namespace's loopback first, and the two must not race); resolves
 * when the tap device is configured. It ends when killed, or when this process ends (exit fd).
 */
export async function connectOutboundNetwork(pid: number, slirp4netns: string): Promise<ChildProcess> {
  const net = spawn(
    slirp4netns,
    [
      "--configure",
      "--mtu=65520",
      "--disable-host-loopback",
      "--enable-sandbox",
      "--enable-seccomp",
      "--ready-fd=3",
      "--exit-fd=4",
      String(pid),
      "tap0",
    ],
    { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], env: { PATH: "/usr/bin:/bin" } },
  );
  const ready = net.stdio[3];
  // Its pipes break when it is killed: not an error of anyone's.
  for (const pipe of net.stdio)
    if (pipe !== null && pipe !== undefined && "on" in pipe) pipe.on("error", () => {});
  let log = "";
  net.stderr?.on("data", (chunk: Buffer) => {
    log += chunk.toString("utf8");
  });
  await new Promise<void>((resolve, reject) => {
    ready?.once("data", () => resolve());
    net.once("exit", () => reject(new Error(`slirp4netns ended: ${log.trim().slice(-300)}`)));
    net.once("error", reject);
  });
  return net;
}

export interface SandboxRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a short command in a sandbox and collects its output (what a check or a test needs, e.g.
 * proving that a file outside the sandbox cannot be read). Never rejects on a non-zero exit.
 */
export function runInSandbox(spec: SandboxSpec, timeoutMs = 10_000): Promise<SandboxRun> {
  const command = sandboxCommand(spec);
  return new Promise((resolve, reject) => {
    execFile(
      command.file,
      command.args,
      { ...command.options, timeout: timeoutMs },
      (error, stdout, stderr) => {
        // A string code is a failure to spawn bwrap at all; a number or a signal is the command's exit.
        if (error !== null && typeof error.code === "string") {
          reject(error);
          return;
        }
        resolve({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
          signal: error?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}
