import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MongoClient } from "mongodb";
import { defaultLog, resolveServerBinary, type ServerBinary } from "./local-server/binary.ts";
import { lockDataDir } from "./local-server/data-dir-lock.ts";
import {
  asAccount,
  checkSocketPath,
  ensureCluster,
  ferretDbPostgresUrl,
  findPostgresBinDir,
  installIndexTwins,
  isPostgresReady,
  postgresAccount,
  postgresArgs,
  prepareFolders,
} from "./local-server/postgresql.ts";
import { delay, grace } from "./local-server/timers.ts";

/*
 * The local MongoDB launcher (ARCHITECTURE §5): when no MONGO_URL is configured, start a
 * MongoDB-compatible server on 127.0.0.1 and hand back its URL. Which server runs: `engine`
 * below (mongod, FerretDB on SQLite, FerretDB on PostgreSQL), its binary found by
 * `local-server/binary.ts` (mongod, else FerretDB, else a clear error) and, for PostgreSQL,
 * `local-server/postgresql.ts`.
 *
 * The server process never outlives its owner. It is started through a tiny Node supervisor
 * (`local-server/supervisor.mjs`) in its own process group, whose stdin is a pipe from the owner: the kernel
 * closes that pipe however the owner ends (stop(), exit, SIGINT/SIGTERM, crash, SIGKILL), the
 * supervisor sees end-of-file and stops the server (SIGTERM, SIGKILL after a grace period). As a
 * second line it also polls its parent pid once a second (a reparented supervisor means the
 * owner is gone). The own process group keeps a terminal's Ctrl-C away from the database, so
 * the owner can shut down in order (drain requests, then stop the database).
 */

/**
 * Which server the launcher runs: a real MongoDB (`mongod`) or FerretDB 1.24 on one of its
 * backends. Chosen by `engine`, else NEOSC_DB_ENGINE, else `mongod` when it is on PATH, else
 * DEFAULT_ENGINE. The default falls back to SQLite, with a log line saying why, when PostgreSQL
 * cannot run here (no server binaries, no account for it, a folder it cannot reach, initdb or the
 * server failing), and a persistent folder that holds SQLite data from an earlier version and no
 * PostgreSQL cluster stays on SQLite. An engine asked for by name never falls back.
 */
export type DatabaseEngine = "mongod" | "sqlite" | "postgresql";
export const DATABASE_ENGINES: readonly DatabaseEngine[] = ["mongod", "sqlite", "postgresql"];
/** FerretDB's backend when nothing says otherwise (README "Database engine": the measurements). */
export const DEFAULT_ENGINE: DatabaseEngine = "postgresql";

/**
 * Where each FerretDB backend becomes slow: every query that is not by `_id` (on PostgreSQL: not
 * an equality on an indexed field) reads the whole collection, and past these sizes such a scan (an admin page, the sweeper, statistics) passes
 * ~100 ms. Measured with e2e/bench/probe-ferretdb.ts (README "Database engine"): SQLite about
 * 0.077 ms per document (79 ms at 1,000, 765 ms at 10,000), PostgreSQL about 0.0011 ms per
 * document past a 2–4 ms floor (3.8 ms at 1,000, 14 ms at 10,000). `mongod` uses its indexes.
 */
export const SLOW_SCAN_AT_DOCUMENTS: Readonly<Record<Exclude<DatabaseEngine, "mongod">, number>> = {
  sqlite: 1_300,
  postgresql: 85_000,
};

export interface LocalServerOptions {
  /** `persistent`: data stays in `dataDir` across restarts; `throwaway`: a temp dir removed on stop. */
  mode: "persistent" | "throwaway";
  /** Persistent mode only (default `./.neosc/db`). Each engine keeps its files in a subfolder. */
  dataDir?: string;
  /** Fixed port (default: a free one). */
  port?: number;
  /** Which server (default: NEOSC_DB_ENGINE, else mongod on PATH, else DEFAULT_ENGINE). */
  engine?: DatabaseEngine;
  /** Progress and notices (default: standard error). */
  log?: (line: string) => void;
  /** How long to wait until the server answers a ping (default 60 s). */
  startTimeoutMs?: number;
  /** Persistent mode: how long to wait for another server on the same folder to go (default 15 s). */
  lockWaitMs?: number;
  /** Where to look for PostgreSQL's `initdb` and `postgres` (default: PATH, then Debian's folders). */
  postgresBinDirs?: readonly string[];
}

export interface LocalServer {
  url: string;
  engine: DatabaseEngine;
  binary: string;
  /** The process the URL reaches (FerretDB or mongod). */
  pid: number;
  /** Its watchdog between owner and database. */
  supervisorPid: number;
  /** Every process the launcher started: the above and, on PostgreSQL, its server and watchdog. */
  pids: number[];
  /** Where the data lives (removed on stop in throwaway mode). */
  dataDir: string;
  stop(): Promise<void>;
}

/** NEOSC_DB_ENGINE when set; a value that names no engine is an error naming the variable. */
export function configuredEngine(): DatabaseEngine | undefined {
  const value = process.env.NEOSC_DB_ENGINE?.trim().toLowerCase();
  if (!value) return undefined;
  if ((DATABASE_ENGINES as readonly string[]).includes(value)) return value as DatabaseEngine;
  throw new Error(
    `NEOSC_DB_ENGINE must be one of ${DATABASE_ENGINES.join(", ")} (got "${process.env.NEOSC_DB_ENGINE}")`,
  );
}

/** The persistent subfolder per engine (`ferretdb` for SQLite: the folder of earlier versions). */
const ENGINE_FOLDERS: Record<DatabaseEngine, string> = {
  mongod: "mongod",
  sqlite: "ferretdb",
  postgresql: "ferretdb-postgresql",
};

/** MONGO_URL when the environment names a server (then no launcher is needed). */
export function configuredMongoUrl(): string | undefined {
  const url = process.env.MONGO_URL?.trim();
  return url ? url : undefined;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.setTimeout(1_000);
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      done(false);
    });
    socket.once("error", () => done(false));
  });
}

async function ping(url: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2_000, connectTimeoutMS: 2_000 });
  try {
    await client.connect();
    await client.db("admin").command({ ping: 1 });
  } finally {
    await client.close().catch(() => {});
  }
}

/*
 * Beside this file in the source tree, and copied beside the bundle by apps/api/build.mjs
 * (dist/local-server/supervisor.mjs), so the same relative URL works in both.
 */
const SUPERVISOR_PATH = fileURLToPath(new URL("./local-server/supervisor.mjs", import.meta.url));

interface SupervisorMessage {
  pid?: number;
  exit?: number;
  signal?: string | null;
  log?: string;
}

function serverArgs(
  engine: DatabaseEngine,
  dir: string,
  port: number,
  postgresqlUrl: string | null,
): { args: string[]; logName: string } {
  if (engine === "mongod") {
    return {
      args: ["--dbpath", dir, "--bind_ip", "127.0.0.1", "--port", String(port), "--nounixsocket", "--quiet"],
      logName: "mongod.log",
    };
  }
  return {
    args: [
      ...(engine === "postgresql"
        ? ["--handler=postgresql", `--postgresql-url=${postgresqlUrl}`]
        : ["--handler=sqlite", `--sqlite-url=file:${dir}/`]),
      `--listen-addr=127.0.0.1:${port}`,
      "--telemetry=disable",
      // No debug HTTP listener (default 127.0.0.1:8088 would collide between instances).
      "--debug-addr=-",
      // state.json (instance UUID) next to the data instead of the working directory.
      `--state-dir=${dir}`,
      "--log-level=warn",
      "--log-format=text",
    ],
    logName: "ferretdb.log",
  };
}

/**
 * PostgreSQL could not be started here (as opposed to FerretDB failing, or another server
 * holding the folder): the default engine then falls back to SQLite.
 */
class PostgresCannotRun extends Error {}

/** True when a persistent root holds FerretDB-on-SQLite data and no PostgreSQL cluster. */
async function holdsOnlySqliteData(root: string): Promise<boolean> {
  const files = await readdir(join(root, ENGINE_FOLDERS.sqlite)).catch(() => [] as string[]);
  if (!files.some((name) => name.endsWith(".sqlite"))) return false;
  return !existsSync(join(root, ENGINE_FOLDERS.postgresql, "pgdata", "PG_VERSION"));
}

/** Starts a local MongoDB-compatible server; see the module comment for the order and the watchdog. */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const log = options.log ?? defaultLog;
  const asked = options.engine ?? configuredEngine();
  const binary = await resolveServerBinary({ log, mongod: asked === undefined || asked === "mongod" });
  if (asked === "mongod" && binary.engine !== "mongod") {
    throw new Error("NEOSC_DB_ENGINE=mongod, but there is no `mongod` on PATH");
  }
  const throwaway = options.mode === "throwaway";
  const persistentRoot = resolve(options.dataDir ?? join(".neosc", "db"));
  let engine: DatabaseEngine = binary.engine === "mongod" ? "mongod" : (asked ?? DEFAULT_ENGINE);
  if (
    asked === undefined &&
    engine === "postgresql" &&
    !throwaway &&
    (await holdsOnlySqliteData(persistentRoot))
  ) {
    log(
      `the data in ${join(persistentRoot, ENGINE_FOLDERS.sqlite)} is on SQLite (an earlier version's default), so the database stays on FerretDB with SQLite; NEOSC_DB_ENGINE=sqlite says so and silences this, NEOSC_DB_ENGINE=postgresql starts an empty PostgreSQL one`,
    );
    engine = "sqlite";
  }
  const root = throwaway ? await mkdtemp(join(tmpdir(), "neosc-db-")) : persistentRoot;
  const dataDir = throwaway ? root : join(root, ENGINE_FOLDERS[engine]);
  await mkdir(dataDir, { recursive: true });

  // Two servers on one persistent folder would corrupt it: one owner at a time.
  const lock = throwaway ? null : await lockDataDir(dataDir, options.lockWaitMs ?? 15_000);
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let backend: Supervised | null = null;
  let lastError = "";
  let cannotRun = false;
  const pgdata = join(dataDir, "pgdata");
  const hadCluster = engine === "postgresql" && existsSync(join(pgdata, "PG_VERSION"));
  try {
    // PostgreSQL under FerretDB: started first, kept across FerretDB's port retries.
    if (engine === "postgresql") {
      backend = await startPostgres({
        dataDir,
        pgdata,
        root,
        throwaway,
        deadline,
        log,
        binDirs: options.postgresBinDirs,
      }).catch((error: unknown) => {
        throw new PostgresCannotRun(error instanceof Error ? error.message : String(error), { cause: error });
      });
      if (lock) await lock.hold(backend.supervisorPid);
    }
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const port = options.port ?? (await freePort());
      try {
        const postgresqlUrl = engine === "postgresql" ? ferretDbPostgresUrl(pgdata) : null;
        const { args, logName } = serverArgs(engine, dataDir, port, postgresqlUrl);
        const server = await launch({
          binary,
          args,
          logFile: join(root, logName),
          // The supervisor of the last process to stop removes the throwaway folder.
          removeDir: throwaway && backend === null ? root : "-",
          port,
          deadline,
        });
        const started = backend;
        const stop = async () => {
          await server.stop();
          await started?.stop();
          await lock?.release();
          if (throwaway) await rm(root, { recursive: true, force: true }).catch(() => {});
        };
        if (lock) await lock.hold(server.supervisorPid);
        // FerretDB gone on its own (killed, crashed): PostgreSQL under it goes too and the folder
        // is free, so a new server can start on it at once (as on SQLite).
        const stopOnce = once(stop);
        if (started !== null) void server.exited.then(() => stopOnce());
        return {
          url: server.url,
          engine,
          binary: binary.path,
          pid: server.pid,
          supervisorPid: server.supervisorPid,
          pids: [server.pid, server.supervisorPid, ...(started ? [started.pid, started.supervisorPid] : [])],
          dataDir,
          stop: stopOnce,
        };
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        // Someone took the port between our probe and the server's bind: try another one.
        if (options.port !== undefined || !/address already in use/i.test(lastError)) break;
      }
    }
  } catch (error) {
    lastError = error instanceof Error ? error.message : String(error);
    cannotRun = error instanceof PostgresCannotRun;
  }
  await backend?.stop();
  await lock?.release();
  if (throwaway) await rm(root, { recursive: true, force: true }).catch(() => {});
  // A cluster that holds data and does not start is an error to fix, not a reason to start empty.
  if (cannotRun && asked === undefined && !hadCluster) {
    const why = (lastError.split("\n")[0] ?? "").replace(/[:.]\s*$/, "");
    log(
      `PostgreSQL cannot run here, so the database runs on FerretDB with SQLite instead (slower as history grows; README "Database engine"). Why: ${why}. To use PostgreSQL, install it (bash scripts/bootstrap.sh installs postgresql-15); NEOSC_DB_ENGINE=sqlite chooses SQLite and silences this.`,
    );
    return startLocalServer({ ...options, engine: "sqlite" });
  }
  const name = engine === "mongod" ? "mongod" : `FerretDB on ${engine}`;
  throw new Error(`${name} (${binary.path}) did not start: ${lastError}`);
}

function once(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => {
    running ??= run();
    return running;
  };
}

/**
 * A PostgreSQL cluster in `<dataDir>/pgdata` (created on first use), as the `neosc-db` account
 * when we are root, listening only on a unix socket in that folder. Fast shutdown (SIGINT) when
 * its owner goes, like any server here.
 */
async function startPostgres(input: {
  dataDir: string;
  pgdata: string;
  root: string;
  throwaway: boolean;
  deadline: number;
  log: (line: string) => void;
  binDirs: readonly string[] | undefined;
}): Promise<Supervised> {
  const { dataDir, pgdata, root, throwaway, deadline, log } = input;
  const binDir = await findPostgresBinDir(input.binDirs);
  checkSocketPath(pgdata);
  const account = await postgresAccount(log);
  await prepareFolders(account, throwaway ? [root] : [dataDir]);
  // A throwaway cluster skips initdb's fsync; a persistent one is written safely.
  await ensureCluster({ binDir, account, pgdata, durable: !throwaway, log });
  const command = asAccount(account, join(binDir, "postgres"), postgresArgs(pgdata));
  const server = supervise({
    binary: command.file,
    args: command.args,
    logFile: join(root, "postgresql.log"),
    removeDir: throwaway ? root : "-",
    stopSignal: "SIGINT",
  });
  try {
    for (;;) {
      const failure = server.failure();
      if (failure !== null) throw new Error(`PostgreSQL ${failure}`);
      if (Date.now() > deadline) throw new Error("PostgreSQL was not ready before the start timeout");
      const pid = server.pid();
      if (pid && (await isPostgresReady(pgdata, pid))) break;
      await delay(100);
    }
    await installIndexTwins({ binDir, account, pgdata });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server.started();
}

interface Supervised {
  pid: number;
  supervisorPid: number;
  stop(): Promise<void>;
  /** Settles when the supervisor is gone (its server stopped or died). */
  exited: Promise<void>;
}

/**
 * Runs `binary args` under the supervisor (see the module comment). The owner's end of the pipe
 * is the server's lifeline; `stop()` closes it and waits for the supervisor to go.
 */
function supervise(input: {
  binary: string;
  args: string[];
  logFile: string;
  removeDir: string;
  stopSignal: NodeJS.Signals;
}): {
  pid(): number;
  failure(): string | null;
  stop(): Promise<void>;
  /** Once the server is up: nothing here keeps the owner's event loop alive any more. */
  started(): Supervised;
} {
  const supervisor: ChildProcess = spawn(
    process.execPath,
    [
      SUPERVISOR_PATH,
      input.binary,
      input.logFile,
      String(process.pid),
      input.removeDir,
      input.stopSignal,
      "--",
      ...input.args,
    ],
    { stdio: ["pipe", "pipe", "ignore"], detached: true },
  );
  const exited = new Promise<void>((done) => {
    supervisor.once("exit", () => done());
  });
  let supervisorGone = false;
  void exited.then(() => {
    supervisorGone = true;
  });

  let pid = 0;
  let failure: SupervisorMessage | null = null;
  let buffered = "";
  supervisor.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
      try {
        const message = JSON.parse(line) as SupervisorMessage;
        if (typeof message.pid === "number") pid = message.pid;
        if (typeof message.exit === "number") failure = message;
      } catch {
        // not a supervisor message
      }
    }
  });

  const stop = once(async () => {
    supervisor.ref();
    supervisor.stdin?.end();
    const finished = await Promise.race([exited.then(() => true), grace(15_000)]);
    if (!finished) {
      killQuietly(pid);
      killQuietly(supervisor.pid);
      await Promise.race([exited, grace(2_000)]);
    }
  });

  return {
    pid: () => pid,
    failure: () => {
      const message = failure as SupervisorMessage | null;
      if (message) return `exited with code ${message.exit}${message.log ? `:\n${message.log.trim()}` : ""}`;
      return supervisorGone ? "exited (its supervisor is gone)" : null;
    },
    stop,
    started: () => {
      // The owner may exit without calling stop(): nothing here keeps its event loop alive, and
      // the closing pipe then stops the server.
      supervisor.unref();
      unrefStream(supervisor.stdin);
      unrefStream(supervisor.stdout);
      return { pid, supervisorPid: supervisor.pid ?? 0, stop, exited };
    },
  };
}

/** FerretDB or mongod under its supervisor, once it answers a ping on `port`. */
async function launch(input: {
  binary: ServerBinary;
  args: string[];
  logFile: string;
  removeDir: string;
  port: number;
  deadline: number;
}): Promise<Supervised & { url: string }> {
  const { binary, port, deadline } = input;
  const server = supervise({
    binary: binary.path,
    args: input.args,
    logFile: input.logFile,
    removeDir: input.removeDir,
    stopSignal: "SIGTERM",
  });
  const url = `mongodb://127.0.0.1:${port}/`;
  try {
    for (;;) {
      const failure = server.failure();
      if (failure !== null) throw new Error(failure);
      if (Date.now() > deadline) throw new Error(`no answer on ${url} before the start timeout`);
      if (server.pid() && (await canConnect(port))) {
        try {
          await ping(url);
          break;
        } catch {
          // listening but not ready yet
        }
      }
      await delay(100);
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { ...server.started(), url };
}

function unrefStream(stream: unknown): void {
  const handle = stream as { unref?: () => void } | null;
  handle?.unref?.();
}

function killQuietly(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
