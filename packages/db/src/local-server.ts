import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MongoClient } from "mongodb";
import { defaultLog, type Engine, resolveServerBinary, type ServerBinary } from "./local-server/binary.ts";
import { lockDataDir } from "./local-server/data-dir-lock.ts";
import { delay, grace } from "./local-server/timers.ts";

/*
 * The local MongoDB launcher (ARCHITECTURE §5): when no MONGO_URL is configured, start a
 * MongoDB-compatible server on 127.0.0.1 and hand back its URL. Which server runs is decided in
 * `local-server/binary.ts` (mongod, else FerretDB, else a clear error).
 *
 * The server process never outlives its owner. It is started through a tiny Node supervisor
 * (`local-server/supervisor.mjs`) in its own process group, whose stdin is a pipe from the owner: the kernel
 * closes that pipe however the owner ends (stop(), exit, SIGINT/SIGTERM, crash, SIGKILL), the
 * supervisor sees end-of-file and stops the server (SIGTERM, SIGKILL after a grace period). As a
 * second line it also polls its parent pid once a second (a reparented supervisor means the
 * owner is gone). The own process group keeps a terminal's Ctrl-C away from the database, so
 * the owner can shut down in order (drain requests, then stop the database).
 */

export interface LocalServerOptions {
  /** `persistent`: data stays in `dataDir` across restarts; `throwaway`: a temp dir removed on stop. */
  mode: "persistent" | "throwaway";
  /** Persistent mode only (default `./.neosc/db`). Each engine keeps its files in a subfolder. */
  dataDir?: string;
  /** Fixed port (default: a free one). */
  port?: number;
  /** Progress and notices (default: standard error). */
  log?: (line: string) => void;
  /** How long to wait until the server answers a ping (default 60 s). */
  startTimeoutMs?: number;
  /** Persistent mode: how long to wait for another server on the same folder to go (default 15 s). */
  lockWaitMs?: number;
}

export interface LocalServer {
  url: string;
  engine: Engine;
  binary: string;
  /** The database process (FerretDB or mongod). */
  pid: number;
  /** The watchdog between owner and database. */
  supervisorPid: number;
  /** Where the data lives (removed on stop in throwaway mode). */
  dataDir: string;
  stop(): Promise<void>;
}

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

function serverArgs(engine: Engine, dir: string, port: number): { args: string[]; logName: string } {
  if (engine === "mongod") {
    return {
      args: ["--dbpath", dir, "--bind_ip", "127.0.0.1", "--port", String(port), "--nounixsocket", "--quiet"],
      logName: "mongod.log",
    };
  }
  return {
    args: [
      "--handler=sqlite",
      `--sqlite-url=file:${dir}/`,
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

/** Starts a local MongoDB-compatible server; see the module comment for the order and the watchdog. */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const log = options.log ?? defaultLog;
  const binary = await resolveServerBinary({ log });
  const throwaway = options.mode === "throwaway";
  const root = throwaway
    ? await mkdtemp(join(tmpdir(), "neosc-db-"))
    : resolve(options.dataDir ?? join(".neosc", "db"));
  const dataDir = throwaway ? root : join(root, binary.engine);
  await mkdir(dataDir, { recursive: true });

  // Two servers on one persistent folder would corrupt it: one owner at a time.
  const lock = throwaway ? null : await lockDataDir(dataDir, options.lockWaitMs ?? 15_000);
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = options.port ?? (await freePort());
    try {
      const server = await launch({ binary, dataDir, root, throwaway, port, deadline });
      if (!lock) return server;
      await lock.hold(server.supervisorPid);
      return {
        ...server,
        stop: async () => {
          await server.stop();
          await lock.release();
        },
      };
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      // Someone took the port between our probe and the server's bind: try another one.
      if (options.port !== undefined || !/address already in use/i.test(lastError)) break;
    }
  }
  await lock?.release();
  if (throwaway) await rm(root, { recursive: true, force: true }).catch(() => {});
  throw new Error(`${binary.engine} (${binary.path}) did not start: ${lastError}`);
}

async function launch(input: {
  binary: ServerBinary;
  dataDir: string;
  root: string;
  throwaway: boolean;
  port: number;
  deadline: number;
}): Promise<LocalServer> {
  const { binary, dataDir, root, throwaway, port, deadline } = input;
  const { args, logName } = serverArgs(binary.engine, dataDir, port);
  // The throwaway folder is removed by the supervisor too, so a crashed owner leaves none.
  const removeDir = throwaway ? root : "-";
  const supervisor: ChildProcess = spawn(
    process.execPath,
    [SUPERVISOR_PATH, binary.path, join(root, logName), String(process.pid), removeDir, "--", ...args],
    { stdio: ["pipe", "pipe", "ignore"], detached: true },
  );
  const exited = new Promise<void>((done) => {
    supervisor.once("exit", () => done());
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
  let supervisorGone = false;
  void exited.then(() => {
    supervisorGone = true;
  });

  const url = `mongodb://127.0.0.1:${port}/`;
  const describeFailure = () => {
    const message = failure as SupervisorMessage | null;
    return message
      ? `exited with code ${message.exit}${message.log ? `:\n${message.log.trim()}` : ""}`
      : "the supervisor exited";
  };
  try {
    for (;;) {
      if (supervisorGone || failure) throw new Error(describeFailure());
      if (Date.now() > deadline) throw new Error(`no answer on ${url} before the start timeout`);
      if (pid && (await canConnect(port))) {
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
    supervisor.stdin?.end();
    await Promise.race([exited, grace(10_000)]);
    throw error;
  }

  // The owner may exit without calling stop(): nothing here keeps its event loop alive, and the
  // closing pipe then stops the server.
  supervisor.unref();
  unrefStream(supervisor.stdin);
  unrefStream(supervisor.stdout);

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      supervisor.ref();
      supervisor.stdin?.end();
      const finished = await Promise.race([exited.then(() => true), grace(15_000)]);
      if (!finished) {
        killQuietly(pid);
        killQuietly(supervisor.pid);
        await Promise.race([exited, grace(2_000)]);
      }
      if (throwaway) await rm(root, { recursive: true, force: true }).catch(() => {});
    })();
    return stopping;
  };

  return {
    url,
    engine: binary.engine,
    binary: binary.path,
    pid,
    supervisorPid: supervisor.pid ?? 0,
    dataDir,
    stop,
  };
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
