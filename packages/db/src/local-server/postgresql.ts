import { chown, readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { isExecutable, run } from "./binary.ts";

/*
 * PostgreSQL as FerretDB's backend (NEOSC_DB_ENGINE=postgresql): Debian's PostgreSQL server
 * binaries, one cluster per data folder, reached only through a unix socket inside that folder
 * (no TCP listener, so nothing on the machine can connect except through the folder's
 * permissions). PostgreSQL refuses to run as root, so under root the cluster belongs to the
 * system account `neosc-db` (created by scripts/bootstrap.sh, or here on first use); otherwise
 * it runs as the current user.
 */

export const POSTGRES_ACCOUNT = "neosc-db";
/** The database role FerretDB connects as (the cluster's superuser) and the database it uses. */
const ROLE = "neosc";
const DATABASE = "postgres";

export interface PostgresAccount {
  name: string;
  uid: number;
  gid: number;
}

export function missingPostgresMessage(): string {
  return [
    "FerretDB on PostgreSQL needs the PostgreSQL server binaries (initdb, postgres), and there are none here:",
    "  run `bash scripts/bootstrap.sh` as root on Debian (it installs postgresql-15), or `apt-get install postgresql-15`,",
    "  or put a PostgreSQL bin folder on PATH, or choose NEOSC_DB_ENGINE=sqlite.",
  ].join("\n");
}

/**
 * The folder with `initdb` and `postgres`: the one on PATH, else Debian's
 * /usr/lib/postgresql/<major>/bin (the newest major installed); only among `candidates` when given.
 */
export async function findPostgresBinDir(candidates?: readonly string[]): Promise<string> {
  for (const dir of candidates ?? (process.env.PATH ?? "").split(":")) {
    if (dir && (await isExecutable(join(dir, "postgres"))) && (await isExecutable(join(dir, "initdb")))) {
      return dir;
    }
  }
  if (candidates !== undefined) throw new Error(missingPostgresMessage());
  const majors = await readdir("/usr/lib/postgresql").catch(() => [] as string[]);
  for (const major of majors.filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a))) {
    const dir = join("/usr/lib/postgresql", major, "bin");
    if ((await isExecutable(join(dir, "postgres"))) && (await isExecutable(join(dir, "initdb")))) return dir;
  }
  throw new Error(missingPostgresMessage());
}

/** The account the cluster runs as when we are root (created once if missing); null when we are not root. */
export async function postgresAccount(log: (line: string) => void): Promise<PostgresAccount | null> {
  if (process.getuid?.() !== 0) return null;
  const lookup = async () => {
    const entry = await run("getent", ["passwd", POSTGRES_ACCOUNT], { timeoutMs: 10_000 });
    if (entry.code !== 0) return null;
    const [, , uid, gid] = entry.stdout.trim().split(":");
    return { name: POSTGRES_ACCOUNT, uid: Number(uid), gid: Number(gid) };
  };
  const existing = await lookup();
  if (existing) return existing;
  log(`creating the system account ${POSTGRES_ACCOUNT} for PostgreSQL (it refuses to run as root)`);
  const created = await run(
    "useradd",
    [
      "--system",
      "--user-group",
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      "/usr/sbin/nologin",
      "--comment",
      "NeoSC embedded database",
      POSTGRES_ACCOUNT,
    ],
    { timeoutMs: 30_000 },
  );
  // Another launcher may have created it at the same moment.
  const account = await lookup();
  if (account) return account;
  throw new Error(
    `could not create the system account ${POSTGRES_ACCOUNT} for PostgreSQL: ${(created.stderr || created.stdout).trim()}`,
  );
}

/** `file args` run as `account` (setpriv: no new privileges, no supplementary groups), or as is. */
export function asAccount(
  account: PostgresAccount | null,
  file: string,
  args: string[],
): { file: string; args: string[] } {
  if (account === null) return { file, args };
  return {
    file: "setpriv",
    args: [`--reuid=${account.uid}`, `--regid=${account.gid}`, "--clear-groups", "--", file, ...args],
  };
}

/**
 * Hands the folders to the account (the data folder and, in throwaway mode, its temporary
 * parent) and checks that the account can reach them through their parents.
 */
export async function prepareFolders(account: PostgresAccount | null, owned: string[]): Promise<void> {
  if (account === null) return;
  for (const dir of owned) await chown(dir, account.uid, account.gid);
  const first = owned[0];
  if (first === undefined) return;
  for (let dir = dirname(resolve(first)); ; dir = dirname(dir)) {
    const info = await stat(dir);
    const reachable = (info.mode & 0o001) !== 0 || info.uid === account.uid;
    if (!reachable) {
      throw new Error(
        `PostgreSQL runs as ${account.name} and cannot reach ${first}: ${dir} is closed to other users (mode ${(info.mode & 0o777).toString(8)}). Use a data folder outside it (NEOSC_DATA_DIR) or NEOSC_DB_ENGINE=sqlite.`,
      );
    }
    if (dir === dirname(dir)) break;
  }
}

/** Creates the cluster in `pgdata` unless one is there. `durable: false` skips the initial fsync. */
export async function ensureCluster(input: {
  binDir: string;
  account: PostgresAccount | null;
  pgdata: string;
  durable: boolean;
  log: (line: string) => void;
}): Promise<void> {
  const exists = await stat(join(input.pgdata, "PG_VERSION")).then(
    () => true,
    () => false,
  );
  if (exists) return;
  input.log(`creating a PostgreSQL cluster in ${input.pgdata}`);
  const command = asAccount(input.account, join(input.binDir, "initdb"), [
    `--pgdata=${input.pgdata}`,
    `--username=${ROLE}`,
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C",
    ...(input.durable ? [] : ["--no-sync"]),
  ]);
  const result = await run(command.file, command.args, {
    cwd: dirname(input.pgdata),
    timeoutMs: 120_000,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C", LC_ALL: "C" },
  });
  if (result.code !== 0) {
    throw new Error(
      `initdb failed (exit ${result.code}):\n${(result.stderr || result.stdout).trim().slice(-2000)}`,
    );
  }
}

/** The server's command line: no TCP listener, the socket in the data folder. */
export function postgresArgs(pgdata: string): string[] {
  return ["-D", pgdata, "-c", "listen_addresses=", "-c", `unix_socket_directories=${pgdata}`];
}

/** The longest socket path the kernel takes (sun_path is 108 bytes with its terminator). */
const MAX_SOCKET_PATH = 107;

export function checkSocketPath(pgdata: string): void {
  const socket = join(pgdata, ".s.PGSQL.5432");
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new Error(
      `the PostgreSQL socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes: choose a shorter data folder (NEOSC_DATA_DIR)`,
    );
  }
}

/** FerretDB's `--postgresql-url` for the cluster: the socket folder as `host`, trust auth. */
export function ferretDbPostgresUrl(pgdata: string): string {
  return `postgres://${ROLE}@/${DATABASE}?host=${encodeURIComponent(pgdata)}`;
}

/**
 * True once postmaster.pid names `pid` (not a crashed predecessor's file) and says the server
 * accepts connections ("ready" on its 8th line).
 */
export async function isPostgresReady(pgdata: string, pid: number): Promise<boolean> {
  const lines = (await readFile(join(pgdata, "postmaster.pid"), "utf8").catch(() => "")).split("\n");
  return Number(lines[0]) === pid && lines[7]?.trim() === "ready";
}
