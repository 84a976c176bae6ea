// The watchdog between a test process and the control plane it starts (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok). Its stdin is a pipe from the owner: every line
// is one process to start, `{"name","file","args","log"}`; it answers `{"name","pid"}` once the
// process runs and `{"name","exit","signal","log"}` when one ends by itself. When the pipe closes
// (the owner stopped, exited or was killed, however) or the owner's pid goes away, it stops every
// process (SIGTERM, SIGKILL after a grace period), removes the working folder and exits. So no
// process outlives the test that started it.
//
//   node supervisor.mjs <ownerPid> <workDir to remove>
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";

process.title = "neosc-k8s-supervisor";
const [ownerPid, workDir] = process.argv.slice(2);
const GRACE_MS = 5000;
const children = new Map();
let stopping = false;

const say = (message) => {
  try {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  } catch {}
};
process.stdout.on("error", () => {});

function tail(file) {
  try {
    return readFileSync(file, "utf8").slice(-4000);
  } catch {
    return "";
  }
}

function start({ name, file, args, log }) {
  if (stopping) return;
  const fd = openSync(log, "a");
  const child = spawn(file, args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  children.set(name, child);
  child.on("spawn", () => say({ name, pid: child.pid }));
  child.on("error", (error) => say({ name, exit: 127, signal: null, log: String(error?.message) }));
  child.on("exit", (code, signal) => {
    children.delete(name);
    if (!stopping) say({ name, exit: code, signal, log: tail(log) });
    if (stopping && children.size === 0) finish();
  });
}

function finish() {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  process.exit(0);
}

function stop() {
  if (stopping) return;
  stopping = true;
  if (children.size === 0) finish();
  // Reverse start order: the clients (kwok, scheduler, controller-manager) before the API server
  // and etcd, so that none of them logs a storm of connection errors on the way down.
  for (const child of [...children.values()].reverse()) child.kill("SIGTERM");
  setTimeout(() => {
    for (const child of children.values()) child.kill("SIGKILL");
  }, GRACE_MS).unref();
  setTimeout(finish, GRACE_MS + 2000).unref();
}

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim()) start(JSON.parse(line));
});
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.on("error", stop);
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, stop);
setInterval(() => {
  if (process.ppid !== Number(ownerPid)) stop();
}, 1000);
