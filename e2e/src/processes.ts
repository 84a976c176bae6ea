import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

export interface ServiceOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd?: string;
  /** stdout and stderr go here, so a failed start can show what the service said. */
  logFile: string;
  /** Polled until it answers 2xx (or `readyStatus`). */
  readyUrl: string;
  readyStatus?: (status: number) => boolean;
  readyTimeoutMs?: number;
}

export interface Service {
  name: string;
  pid: number;
  logFile: string;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once, no grace: for fault injection. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Starts a long-running child in its own process group (so stopping it also stops anything it
 * spawned), sends its output to a log file, and waits until its ready URL answers.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const log = openSync(options.logFile, "a");
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  if (child.pid === undefined) {
    throw new Error(`${options.name}: could not start ${options.command}`);
  }
  const service = wrap(options.name, child, options.logFile);
  try {
    await waitForUrl(options.readyUrl, {
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      accept: options.readyStatus ?? ((status) => status >= 200 && status < 300),
      exited: service.exited,
    });
  } catch (error) {
    await service.stop(2_000);
    throw new Error(
      `${options.name} did not become ready at ${options.readyUrl}: ${(error as Error).message}\n--- last lines of ${options.logFile} ---\n${tail(options.logFile, 40)}`,
    );
  }
  return service;
}

function wrap(name: string, child: ChildProcess, logFile: string): Service {
  const pid = child.pid as number;
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone.
    }
  };
  return {
    name,
    pid,
    logFile,
    exited,
    async stop(graceMs = 10_000) {
      if (done) return;
      signalGroup("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      // Anything the child left in its group (it should leave nothing) goes too.
      signalGroup("SIGKILL");
    },
    async kill() {
      signalGroup("SIGKILL");
      await exited;
    },
  };
}

export async function waitForUrl(
  url: string,
  options: { timeoutMs: number; accept: (status: number) => boolean; exited?: Promise<unknown> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let gone = false;
  void options.exited?.then(() => {
    gone = true;
  });
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (gone) throw new Error("the process exited");
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (options.accept(response.status)) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(150);
  }
  throw new Error(`timed out after ${options.timeoutMs} ms (${last})`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
