// @ts-check
/*
 * The watchdog between the launcher's owner and the database process (see local-server.ts).
 * Runs as `node supervisor.mjs <binary> <logFile> <ownerPid> <removeDir|-> <stopSignal> -- <args...>`
 * (stopSignal: how to ask the server to stop, e.g. SIGTERM; PostgreSQL's fast shutdown is SIGINT).
 * Prints `{"pid":n}` once the server is spawned, and `{"exit":code,"log":tail}` if it ends by
 * itself. Plain JavaScript because Node runs it directly (no TypeScript loader in a child
 * process); `// @ts-check` and the db package's tsconfig type-check it all the same.
 */
import { spawn } from "node:child_process";
import { openSync, readFileSync, rmSync } from "node:fs";

process.title = "neosc-db-supervisor";
const [binary = "", logFile = "", ownerPid, removeDir, stopSignal = "SIGTERM", , ...args] =
  process.argv.slice(2);

/** @param {{ pid?: number; exit?: number; signal?: string | null; log?: string }} message */
const say = (message) => {
  try {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  } catch {
    // the owner is gone; nobody to tell
  }
};
process.stdout.on("error", () => {});

const logFd = openSync(logFile, "w");
const child = spawn(binary, args, { stdio: ["ignore", logFd, logFd] });
let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  if (child.exitCode === null && child.signalCode === null)
    child.kill(/** @type {NodeJS.Signals} */ (stopSignal));
  setTimeout(() => child.kill("SIGKILL"), 5000).unref();
}
child.on("spawn", () => say({ pid: child.pid }));
child.on("error", (error) => {
  say({ exit: 127, log: String(error?.message) });
  process.exit(127);
});
child.on("exit", (code, signal) => {
  if (!stopping) {
    let tail = "";
    try {
      tail = readFileSync(logFile, "utf8").slice(-4000);
    } catch {
      // no log yet
    }
    say({ exit: code === null ? 1 : code, signal, log: tail });
  }
  if (removeDir !== "-" && removeDir !== undefined) {
    try {
      rmSync(removeDir, { recursive: true, force: true });
    } catch {
      // best effort: a throwaway folder in the temp dir
    }
  }
  process.exit(code === null ? 1 : code);
});
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.on("error", stop);
process.stdin.resume();
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, stop);
setInterval(() => {
  if (process.ppid !== Number(ownerPid)) stop();
}, 1000);
