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
    "FerretDB on PostgreSQL needs the PostgreSQL server binaries (initdb, postgres, psql), and there are none here:",
    "  run `bash scripts/bootstrap.sh` as root on Debian (it installs postgresql-15), or `apt-get install postgresql-15`,",
    "  or put a PostgreSQL bin folder on PATH, or choose NEOSC_DB_ENGINE=sqlite.",
  ].join("\n");
}

async function hasServerBinaries(dir: string): Promise<boolean> {
  for (const name of ["postgres", "initdb", "psql"]) if (!(await isExecutable(join(dir, name)))) return false;
  return true;
}

/**
 * The folder with `initdb`, `postgres` and `psql`: the one on PATH, else Debian's
 * /usr/lib/postgresql/<major>/bin (the newest major installed); only among `candidates` when given.
 */
export async function findPostgresBinDir(candidates?: readonly string[]): Promise<string> {
  for (const dir of candidates ?? (process.env.PATH ?? "").split(":")) {
    if (dir && (await hasServerBinaries(dir))) {
      return dir;
    }
  }
  if (candidates !== undefined) throw new Error(missingPostgresMessage());
  const majors = await readdir("/usr/lib/postgresql").catch(() => [] as string[]);
  for (const major of majors.filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a))) {
    const dir = join("/usr/lib/postgresql", major, "bin");
    if (await hasServerBinaries(dir)) return dir;
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
  await runTool("initdb", command, input.pgdata, 120_000);
}

/**
 * Runs one of PostgreSQL's programs next to the cluster (from the folder above it, which the
 * account can reach) in the C locale; a failure throws with the end of its output.
 */
async function runTool(
  what: string,
  command: { file: string; args: string[] },
  pgdata: string,
  timeoutMs: number,
): Promise<void> {
  const result = await run(command.file, command.args, {
    cwd: dirname(pgdata),
    timeoutMs,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C", LC_ALL: "C" },
  });
  if (result.code !== 0) {
    throw new Error(
      `${what} failed (exit ${result.code}):\n${(result.stderr || result.stdout).trim().slice(-2000)}`,
    );
  }
}

/**
 * The server's command line: no TCP listener, the socket in the data folder. Every statement is
 * planned with its values (`plan_cache_mode`): FerretDB prepares `WHERE _jsonb->$1 @> $2` once
 * per connection, and only a plan that sees the field name can use that field's index (below); a
 * generic plan chosen while a collection was small would scan it for the rest of the connection.
 *
 * Autovacuum looks every second instead of every minute (`autovacuum_naptime`). FerretDB rewrites
 * the whole `_jsonb` column on every update, so no update is HOT: each one leaves a dead version
 * behind in the table and an entry in every index, and a GIN lookup (below) visits every version
 * of its key until a vacuum removes them. The documents written on every launch and stop (a
 * person's document, the audit head, the revocation signal, a person's lock) otherwise gather
 * thousands of versions a minute, more the longer the last vacuum of their busy tables took.
 */
export function postgresArgs(pgdata: string): string[] {
  return [
    "-D",
    pgdata,
    "-c",
    "listen_addresses=",
    "-c",
    `unix_socket_directories=${pgdata}`,
    "-c",
    "plan_cache_mode=force_custom_plan",
    "-c",
    "autovacuum_naptime=1s",
  ];
}

/*
 * FerretDB 1.24 filters a top-level equality (`{_id: x}`, `{userId: x}`) as
 * `_jsonb->'field' @> 'x'` (containment), but indexes each field, `_id` included, as a btree on
 * `(_jsonb -> 'field')`, which containment cannot use (FerretDB issue 4646): every lookup read
 * the whole table, about 1 µs per document (a bench with 5,000 people: 34 million rows read by
 * 7,000 `_id` lookups of login sessions, 12 ms of PostgreSQL CPU per dashboard). So each such
 * btree index gets a GIN twin on the same expression, which containment uses: an event trigger
 * adds it whenever FerretDB creates an index, and indexes from before the trigger get theirs here
 * at start. A compound index gets one GIN index over all its fields, which serves a filter on any
 * of them. The server's own catalogues are left alone.
 *
 * The twins are built without GIN's pending list (`fastupdate = off`): with it, new entries wait
 * in an unsorted list (up to 4 MB) that every lookup reads whole until a vacuum merges it, so an
 * `_id` lookup after a few thousand writes read dozens of pages instead of three. Twins from
 * before this setting are switched over (and their list merged) at start.
 */
const INDEX_TWINS_SQL = `
CREATE OR REPLACE FUNCTION neosc_gin_twin(btree regclass) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  index record;
BEGIN
  SELECT i.indrelid::regclass AS tbl, c.relname AS name, pg_get_expr(i.indexprs, i.indrelid) AS expr
    INTO index
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
   WHERE i.indexrelid = btree AND a.amname = 'btree' AND i.indexprs IS NOT NULL;
  -- One or more top-level fields, e.g. (_jsonb -> 'userId'::text), (_jsonb -> 'status'::text).
  IF FOUND AND index.expr ~ '^[(]_jsonb -> ''[^'']+''::text[)](, [(]_jsonb -> ''[^'']+''::text[)])*$' THEN
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin (%s) WITH (fastupdate = off)', left(index.name, 59) || '_gin', index.tbl, index.expr);
  END IF;
END $fn$;

CREATE OR REPLACE FUNCTION neosc_gin_twin_on_create() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
DECLARE
  command record;
BEGIN
  FOR command IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' LOOP
    PERFORM neosc_gin_twin(command.objid::regclass);
  END LOOP;
END $fn$;

DO $do$
DECLARE
  btree oid;
  gin oid;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'neosc_gin_twin') THEN
    CREATE EVENT TRIGGER neosc_gin_twin ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
      EXECUTE FUNCTION neosc_gin_twin_on_create();
  END IF;
  FOR btree IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'i' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') LOOP
    PERFORM neosc_gin_twin(btree);
  END LOOP;
  -- Twins made before fastupdate = off: switched, and what waits in their pending list merged.
  FOR gin IN SELECT c.oid FROM pg_class c JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE a.amname = 'gin' AND right(c.relname, 4) = '_gin' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                AND NOT coalesce(c.reloptions @> ARRAY['fastupdate=off'], false) LOOP
    EXECUTE format('ALTER INDEX %s SET (fastupdate = off)', gin::regclass);
    PERFORM gin_clean_pending_list(gin::regclass);
  END LOOP;
END $do$;
`;

/** Installs the index twins (above) in a running cluster; safe to run at every start. */
export async function installIndexTwins(input: {
  binDir: string;
  account: PostgresAccount | null;
  pgdata: string;
}): Promise<void> {
  const command = asAccount(input.account, join(input.binDir, "psql"), [
    "--no-psqlrc",
    "--quiet",
    "--set=ON_ERROR_STOP=1",
    `--host=${input.pgdata}`,
    `--username=${ROLE}`,
    `--dbname=${DATABASE}`,
    `--command=${INDEX_TWINS_SQL}`,
  ]);
  await runTool("PostgreSQL: installing the index twins", command, input.pgdata, 600_000);
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
