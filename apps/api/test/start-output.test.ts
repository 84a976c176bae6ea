import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatLogLine } from "../src/log-format.ts";

/*
 * What `pnpm start` prints: the real entry point as a child process, once behind a terminal
 * (`script` gives it a pty, as a person's shell would) and once behind a pipe (a container, a log
 * collector). A terminal gets human lines and a banner; a pipe keeps JSON lines and no banner.
 */

const apiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tsx = path.join(apiDir, "node_modules/.bin/tsx");

let database: TestDatabase | undefined;
let dataDir = "";
const children: ChildProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  dataDir = await mkdtemp(path.join(tmpdir(), "neosc-start-output-"));
});

afterAll(async () => {
  for (const child of children) stopGroup(child, "SIGKILL");
  await database?.drop();
  if (dataDir !== "") await rm(dataDir, { recursive: true, force: true });
});

function stopGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid !== undefined && child.exitCode === null) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Runs the API until `ready` matches its output, then stops it; resolves with all it printed. */
function runApi(withTerminal: boolean, ready: RegExp): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: "127.0.0.1",
    PORT: "0",
    METRICS_ENABLED: "false",
    NEOSC_INSPECTOR_PORT: "0",
    NEOSC_WORKSPACE_HOST: "false",
    MONGO_URL: inject("mongoUrl"),
    MONGO_DB_NAME: database?.dbName ?? "",
    NEOSC_SESSION_SECRET: "start-output-session-secret-0123456789abcdef",
    NEOSC_ADMIN_EMAIL: "owner@neosc.test",
    NEOSC_ADMIN_PASSWORD: "owner-password-for-tests",
    NEOSC_DATA_DIR: dataDir,
    NEOSC_PORTAL_DIST: "/nonexistent/portal/dist",
  };
  const command = `${tsx} src/main.ts`;
  // `script -qec CMD /dev/null` runs CMD on a new pty and copies what it prints to our pipe.
  const child = withTerminal
    ? spawn("script", ["-qec", command, "/dev/null"], { cwd: apiDir, env, detached: true })
    : spawn(tsx, ["src/main.ts"], { cwd: apiDir, env, detached: true });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      stopGroup(child, "SIGKILL");
      reject(new Error(`not ready within 45 s; printed:\n${output}`));
    }, 45_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (ready.test(output)) stopGroup(child, "SIGTERM");
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

describe("npm start's output", () => {
  it("behind a terminal: human log lines and a ready banner with the URL, sign-in, data and stop", async () => {
    const output = await runApi(true, /Stop\s+Ctrl\+C/);
    const plain = stripVTControlCharacters(output).replace(/\r/g, "");
    expect(plain).toMatch(/^\d\d:\d\d:\d\d INFO {2}neosc api listening {2}url=http:\/\/127\.0\.0\.1:\d+/m);
    expect(plain).not.toMatch(/^\{"level"/m);
    expect(plain).toContain("NeoSC is ready");
    expect(plain).toMatch(/Open\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(plain).toMatch(/Sign in\s+owner@neosc\.test with the password in NEOSC_ADMIN_PASSWORD/);
    expect(plain).toMatch(/Data\s+the MongoDB in MONGO_URL \(database /);
    expect(plain).toMatch(/Stop\s+Ctrl\+C/);
    expect(plain).not.toContain("owner-password-for-tests");
  });

  it("behind a pipe: JSON lines as before, and no banner", async () => {
    const output = await runApi(false, /"msg":"neosc api listening"/);
    const lines = output.split("\n").filter((line) => line.trim() !== "");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(output).not.toContain("NeoSC is ready");
  });
});

describe("human log lines", () => {
  it("put the time, level and message first, then the fields; errors with their stack", () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 11, 2, 5, 41, 29),
      pid: 1,
      hostname: "h",
      service: "neosc-api",
      msg: "session sweep failed",
      component: "gateway",
      why: "two words",
      err: { message: "boom", stack: "Error: boom\n    at here" },
    });
    const text = formatLogLine(line, false);
    expect(text).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}session sweep failed {2}component=gateway why="two words"\n {4}Error: boom/,
    );
    expect(text).not.toContain("hostname");
    expect(formatLogLine("not json", false)).toBe("not json");
  });
});
