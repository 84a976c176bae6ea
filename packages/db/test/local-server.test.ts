import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRunning } from "@neosc/core/process";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { resolveServerBinary, run } from "../src/local-server/binary.ts";
import { asAccount, findPostgresBinDir, postgresAccount } from "../src/local-server/postgresql.ts";
import { startLocalServer } from "../src/local-server.ts";

const packageDir = join(import.meta.dirname, "..");
const scratch: string[] = [];
const owners: ChildProcess[] = [];

afterAll(async () => {
  for (const owner of owners) if (owner.exitCode === null && owner.signalCode === null) owner.kill("SIGKILL");
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "neosc-launcher-test-"));
  scratch.push(dir);
  return dir;
}

async function waitUntilGone(pid: number, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return true;
    await new Promise((done) => setTimeout(done, 100));
  }
  return !isRunning(pid);
}

async function pingable(url: string): Promise<boolean> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
  try {
    await client.db("admin").command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

interface OwnerReport {
  url: string;
  engine: string;
  /** Every process the launcher started (server(s) and supervisors). */
  pids: number[];
  pid: number;
  supervisorPid: number;
  dataDir: string;
}

/** Starts an owner process (test/fixtures/owner.ts) and waits for the server it reports. */
function startOwner(
  mode: "throwaway" | "persistent",
  dataDir?: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ owner: ChildProcess; report: OwnerReport }> {
  const owner = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(packageDir, "test", "fixtures", "owner.ts"),
      mode,
      ...(dataDir ? [dataDir] : []),
      ...extra,
    ],
    { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"], env },
  );
  owners.push(owner);
  return new Promise((done, fail) => {
    let output = "";
    let errors = "";
    owner.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n")[0];
      if (output.includes("\n") && line) done({ owner, report: JSON.parse(line) as OwnerReport });
    });
    owner.stderr?.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    owner.once("exit", (code) => fail(new Error(`owner exited (${code}) before reporting: ${errors}`)));
  });
}

describe("local server launcher", () => {
  it("starts a throwaway server and removes it and its folder on stop", async () => {
    const server = await startLocalServer({ mode: "throwaway", log: () => {} });
    expect(server.url).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await pingable(server.url)).toBe(true);
    expect(isRunning(server.pid)).toBe(true);
    expect(existsSync(server.dataDir)).toBe(true);
    await server.stop();
    await server.stop();
    expect(await waitUntilGone(server.pid)).toBe(true);
    expect(await waitUntilGone(server.supervisorPid)).toBe(true);
    expect(existsSync(server.dataDir)).toBe(false);
  });

  it("reuses a persistent folder across restarts with the data intact", async () => {
    const dataDir = await scratchDir();
    const first = await startLocalServer({ mode: "persistent", dataDir, log: () => {} });
    expect(first.dataDir.startsWith(dataDir)).toBe(true);
    const { connectDatabase } = await import("../src/database.ts");
    const one = await connectDatabase({ url: first.url, dbName: "persist" });
    const user = await one.db.users.create({
      source: "local",
      email: "persist@example.com",
      name: "Persistent",
      role: "admin",
      organizationId: null,
      passwordHash: "hash",
      mustChangePassword: false,
    });
    await one.close();
    await first.stop();
    expect(await waitUntilGone(first.pid)).toBe(true);
    expect(existsSync(first.dataDir)).toBe(true);

    const second = await startLocalServer({ mode: "persistent", dataDir, log: () => {} });
    try {
      expect(second.dataDir).toBe(first.dataDir);
      // Reconnecting re-runs ensureIndexes on existing indexes, as every restart does.
      const two = await connectDatabase({ url: second.url, dbName: "persist" });
      expect(await two.db.users.findByEmail("persist@example.com")).toEqual(user);
      await two.close();
    } finally {
      await second.stop();
    }
  });

  it("refuses a second server on a persistent folder that is in use", async () => {
    const dataDir = await scratchDir();
    const first = await startLocalServer({ mode: "persistent", dataDir, log: () => {} });
    try {
      const error = await startLocalServer({
        mode: "persistent",
        dataDir,
        lockWaitMs: 500,
        log: () => {},
      }).then(
        () => null,
        (caught: unknown) => caught as Error,
      );
      expect(error?.message).toMatch(/in use by another local database/);
    } finally {
      await first.stop();
    }
    const second = await startLocalServer({ mode: "persistent", dataDir, log: () => {} });
    await second.stop();
  });

  for (const signal of ["SIGTERM", "SIGINT", "SIGKILL"] as const) {
    // An owner process starts its own server (PostgreSQL by default): minutes on a loaded machine.
    it(`leaves no database process behind when the owner gets ${signal}`, { timeout: 120_000 }, async () => {
      const { owner, report } = await startOwner("throwaway");
      expect(await pingable(report.url)).toBe(true);
      expect(isRunning(report.pid)).toBe(true);
      const exited = new Promise((done) => owner.once("exit", done));
      owner.kill(signal);
      await exited;
      for (const pid of report.pids) expect(await waitUntilGone(pid)).toBe(true);
      expect(existsSync(report.dataDir)).toBe(false);
    });
  }

  it("stops the server when the owner's event loop runs empty without calling stop()", {
    timeout: 120_000,
  }, async () => {
    const { owner, report } = await startOwner("throwaway", undefined, ["--return"]);
    const code = await new Promise((done) => {
      if (owner.exitCode !== null) done(owner.exitCode);
      else owner.once("exit", done);
    });
    expect(code).toBe(0);
    // Each supervisor stops its server; the last one (PostgreSQL's, on that engine) removes the folder.
    for (const pid of report.pids) expect(await waitUntilGone(pid)).toBe(true);
    expect(existsSync(report.dataDir)).toBe(false);
  });

  it("keeps the data of a persistent server whose owner was killed", async () => {
    const dataDir = await scratchDir();
    const { owner, report } = await startOwner("persistent", dataDir);
    const client = new MongoClient(report.url);
    await client
      .db("crash")
      .collection("things")
      .insertOne({ _id: "kept" } as never);
    await client.close();
    owner.kill("SIGKILL");
    expect(await waitUntilGone(report.pid)).toBe(true);
    const again = await startLocalServer({ mode: "persistent", dataDir, log: () => {} });
    try {
      const reader = new MongoClient(again.url);
      expect(
        await reader
          .db("crash")
          .collection("things")
          .countDocuments({ _id: "kept" } as never),
      ).toBe(1);
      await reader.close();
    } finally {
      await again.stop();
    }
  });

  it("names the three ways to get a server when none is available", async () => {
    const saved = { PATH: process.env.PATH, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
    process.env.PATH = await scratchDir();
    process.env.XDG_CACHE_HOME = await scratchDir();
    try {
      for (const build of [false, true]) {
        const error = await resolveServerBinary({ build, log: () => {} }).then(
          () => null,
          (caught: unknown) => caught as Error,
        );
        expect(error?.message).toMatch(/MONGO_URL/);
        expect(error?.message).toMatch(/`mongod`.*`ferretdb`/);
        expect(error?.message).toMatch(/Go/);
      }
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.XDG_CACHE_HOME === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved.XDG_CACHE_HOME;
    }
  });
});

/*
 * FerretDB on PostgreSQL (NEOSC_DB_ENGINE=postgresql): two servers, each under its supervisor;
 * PostgreSQL as the unprivileged account when we are root, reached only by a unix socket in
 * the data folder. Whatever happens to the owner, all four processes and the folder go.
 */
/** The node types of a PostgreSQL plan as FerretDB's `explain` returns it (`queryPlanner.Plan`). */
function planNodes(planner: unknown): string[] {
  const nodes: string[] = [];
  const walk = (node: unknown) => {
    if (typeof node !== "object" || node === null) return;
    const record = node as { "Node Type"?: unknown; Plan?: unknown; Plans?: unknown };
    if (typeof record["Node Type"] === "string") nodes.push(record["Node Type"]);
    walk(record.Plan);
    if (Array.isArray(record.Plans)) for (const child of record.Plans) walk(child);
  };
  walk(planner);
  return nodes;
}

/** One statement through psql on the launcher's cluster (as its account), the rows unaligned. */
async function sql(dataDir: string, statement: string): Promise<string> {
  const pgdata = join(dataDir, "pgdata");
  const command = asAccount(await postgresAccount(() => {}), join(await findPostgresBinDir(), "psql"), [
    "--no-psqlrc",
    "--tuples-only",
    "--no-align",
    `--host=${pgdata}`,
    "--username=neosc",
    "--dbname=postgres",
    `--command=${statement}`,
  ]);
  const result = await run(command.file, command.args, { cwd: dataDir, timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`psql failed: ${result.stderr}`);
  return result.stdout;
}

describe("local server launcher, PostgreSQL backend", () => {
  it("starts FerretDB on PostgreSQL, not as root, and removes every process and the folder on stop", async () => {
    const server = await startLocalServer({ mode: "throwaway", engine: "postgresql", log: () => {} });
    try {
      expect(server.engine).toBe("postgresql");
      expect(server.pids).toHaveLength(4);
      for (const pid of server.pids) expect(isRunning(pid)).toBe(true);
      const { connectDatabase } = await import("../src/database.ts");
      const connection = await connectDatabase({ url: server.url, dbName: "pg" });
      await connection.db.users.create({
        source: "local",
        email: "pg@example.com",
        name: "On PostgreSQL",
        role: "admin",
        organizationId: null,
        passwordHash: "hash",
        mustChangePassword: false,
      });
      expect((await connection.db.users.findByEmail("pg@example.com"))?.name).toBe("On PostgreSQL");
      await connection.close();

      // The PostgreSQL server: its data folder, a socket and no TCP listener, not root.
      const postgres = server.pids.find((pid) =>
        readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("postgres\0-D"),
      );
      expect(postgres).toBeDefined();
      const status = readFileSync(`/proc/${postgres}/status`, "utf8");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (process.getuid?.() === 0) expect(uid).not.toBe(0);
      expect(existsSync(join(server.dataDir, "pgdata", ".s.PGSQL.5432"))).toBe(true);
      expect(readFileSync(`/proc/${postgres}/cmdline`, "utf8")).toContain("listen_addresses=\0");
    } finally {
      await server.stop();
    }
    for (const pid of server.pids) expect(await waitUntilGone(pid)).toBe(true);
    expect(existsSync(server.dataDir)).toBe(false);
  });

  it("finds a document by _id and by an indexed field through an index, not by reading the whole table", async () => {
    const server = await startLocalServer({ mode: "throwaway", engine: "postgresql", log: () => {} });
    const client = new MongoClient(server.url);
    try {
      // The repositories' own indexes, created through FerretDB as on any install.
      const { connectDatabase } = await import("../src/database.ts");
      const connection = await connectDatabase({ url: server.url, dbName: "plans" });
      await connection.close();
      const db = client.db("plans");
      await db.collection<{ _id: string; userId: string; about: string }>("sessions").insertMany(
        Array.from({ length: 20_000 }, (_, i) => ({
          _id: `session-${i}`,
          userId: `person-${i % 500}`,
          about: "x".repeat(200),
        })),
      );
      const plan = async (filter: { _id: string } | { userId: string }) => {
        const explained = await db.command({ explain: { find: "sessions", filter } });
        return planNodes(explained.queryPlanner);
      };
      for (const filter of [{ _id: "session-7" }, { userId: "person-7" }] as const) {
        const nodes = await plan(filter);
        expect(nodes, JSON.stringify(filter)).not.toContain("Seq Scan");
        expect(nodes.join(" "), JSON.stringify(filter)).toMatch(/Index Scan/);
      }
      expect(await db.collection("sessions").countDocuments({ userId: "person-7" })).toBe(40);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it("an _id lookup reads a few pages however many documents were inserted one by one before it", {
    timeout: 120_000,
  }, async () => {
    const server = await startLocalServer({ mode: "throwaway", engine: "postgresql", log: () => {} });
    const client = new MongoClient(server.url);
    try {
      const db = client.db("writes");
      const docs = db.collection<{ _id: string; n: number }>("docs");
      await docs.insertOne({ _id: "doc-0", n: 0 });
      const table = (
        await sql(
          server.dataDir,
          "SELECT relname FROM pg_class WHERE relname LIKE 'docs\\_%' AND relkind = 'r'",
        )
      ).trim();
      expect(table).toMatch(/^docs_/);
      // No vacuum merges anything behind the test's back: the lookup must be cheap without one.
      await sql(server.dataDir, `ALTER TABLE writes.${table} SET (autovacuum_enabled = false)`);
      /** Buffers PostgreSQL touches to answer FerretDB's `_id` equality (containment, served by the twin). */
      const buffers = async (id: string) => {
        const plan = await sql(
          server.dataDir,
          `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT _jsonb FROM writes.${table} WHERE _jsonb->'_id' @> '"${id}"'`,
        );
        const top = (JSON.parse(plan) as { Plan: Record<string, number> }[])[0]?.Plan ?? {};
        return (top["Shared Hit Blocks"] ?? 0) + (top["Shared Read Blocks"] ?? 0);
      };
      // One statement each, as the API writes: without the twins' fastupdate = off each entry
      // waits in GIN's pending list, which every lookup reads whole until a vacuum merges it.
      for (let i = 1; i < 3_000; i += 1) await docs.insertOne({ _id: `doc-${i}`, n: i });
      expect(await buffers("doc-7")).toBeLessThanOrEqual(6);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it("keeps a persistent cluster's data across restarts", async () => {
    const dataDir = await scratchDir();
    if (process.getuid?.() === 0) {
      // mkdtemp makes the folder 0700: the unprivileged account could not reach its cluster.
      await expect(
        startLocalServer({ mode: "persistent", dataDir, engine: "postgresql", log: () => {} }),
      ).rejects.toThrow(/cannot reach .*closed to other users/);
      await chmod(dataDir, 0o711);
    }
    const first = await startLocalServer({
      mode: "persistent",
      dataDir,
      engine: "postgresql",
      log: () => {},
    });
    expect(first.dataDir).toBe(join(dataDir, "ferretdb-postgresql"));
    const client = new MongoClient(first.url);
    await client
      .db("crash")
      .collection("things")
      .insertOne({ _id: "kept" } as never);
    await client.close();
    await first.stop();
    for (const pid of first.pids) expect(await waitUntilGone(pid)).toBe(true);
    const again = await startLocalServer({
      mode: "persistent",
      dataDir,
      engine: "postgresql",
      log: () => {},
    });
    try {
      const reader = new MongoClient(again.url);
      expect(
        await reader
          .db("crash")
          .collection("things")
          .countDocuments({ _id: "kept" } as never),
      ).toBe(1);
      await reader.close();
    } finally {
      await again.stop();
    }
  });

  it("when FerretDB dies, PostgreSQL under it stops and a new server starts on the folder at once", async () => {
    const dataDir = await scratchDir();
    await chmod(dataDir, 0o711);
    const first = await startLocalServer({
      mode: "persistent",
      dataDir,
      engine: "postgresql",
      log: () => {},
    });
    process.kill(first.pid, "SIGKILL");
    for (const pid of first.pids) expect(await waitUntilGone(pid)).toBe(true);
    const again = await startLocalServer({
      mode: "persistent",
      dataDir,
      engine: "postgresql",
      lockWaitMs: 2_000,
      log: () => {},
    });
    try {
      expect(await pingable(again.url)).toBe(true);
    } finally {
      await again.stop();
    }
  });

  it("leaves no process behind when the owner gets SIGKILL", async () => {
    const { owner, report } = await startOwner("throwaway", undefined, [], {
      ...process.env,
      NEOSC_DB_ENGINE: "postgresql",
    });
    expect(report.engine).toBe("postgresql");
    expect(report.pids).toHaveLength(4);
    expect(await pingable(report.url)).toBe(true);
    const exited = new Promise((done) => owner.once("exit", done));
    owner.kill("SIGKILL");
    await exited;
    for (const pid of report.pids) expect(await waitUntilGone(pid)).toBe(true);
    expect(existsSync(report.dataDir)).toBe(false);
  });

  /** Runs `run` with NEOSC_DB_ENGINE unset (the default engine), whatever the suite runs on. */
  async function withDefaultEngine<T>(run: () => Promise<T>): Promise<T> {
    const saved = process.env.NEOSC_DB_ENGINE;
    delete process.env.NEOSC_DB_ENGINE;
    try {
      return await run();
    } finally {
      if (saved !== undefined) process.env.NEOSC_DB_ENGINE = saved;
    }
  }

  it("is the default engine where PostgreSQL can run", async () => {
    const server = await withDefaultEngine(() => startLocalServer({ mode: "throwaway", log: () => {} }));
    try {
      expect(server.engine).toBe("postgresql");
      expect(server.pids).toHaveLength(4);
    } finally {
      await server.stop();
    }
  });

  it("the default falls back to SQLite, saying why, when PostgreSQL's binaries are missing; asked for by name it fails", async () => {
    const empty = await scratchDir();
    const lines: string[] = [];
    const server = await withDefaultEngine(() =>
      startLocalServer({ mode: "throwaway", postgresBinDirs: [empty], log: (line) => lines.push(line) }),
    );
    try {
      expect(server.engine).toBe("sqlite");
      expect(await pingable(server.url)).toBe(true);
      expect(lines.join("\n")).toMatch(
        /PostgreSQL cannot run here, so the database runs on FerretDB with SQLite/,
      );
      expect(lines.join("\n")).toMatch(/server binaries \(initdb, postgres, psql\)/);
    } finally {
      await server.stop();
    }
    await expect(
      startLocalServer({ mode: "throwaway", engine: "postgresql", postgresBinDirs: [empty], log: () => {} }),
    ).rejects.toThrow(/initdb, postgres, psql/);
  });

  it("the default falls back to SQLite when PostgreSQL's binaries are there but cannot run", async () => {
    const bin = await scratchDir();
    await chmod(bin, 0o755);
    for (const name of ["initdb", "postgres", "psql"]) {
      const file = join(bin, name);
      await writeFile(file, `#!/bin/sh\necho "${name}: cannot run on this machine" >&2\nexit 1\n`);
      await chmod(file, 0o755);
    }
    const lines: string[] = [];
    const server = await withDefaultEngine(() =>
      startLocalServer({ mode: "throwaway", postgresBinDirs: [bin], log: (line) => lines.push(line) }),
    );
    try {
      expect(server.engine).toBe("sqlite");
      expect(lines.join("\n")).toMatch(/PostgreSQL cannot run here.*Why: initdb failed/);
    } finally {
      await server.stop();
    }
  });

  it("a persistent folder with an earlier version's SQLite data stays on SQLite, data intact", async () => {
    const dataDir = await scratchDir();
    await chmod(dataDir, 0o711);
    const before = await startLocalServer({ mode: "persistent", dataDir, engine: "sqlite", log: () => {} });
    const client = new MongoClient(before.url);
    await client
      .db("upgrade")
      .collection("things")
      .insertOne({ _id: "kept" } as never);
    await client.close();
    await before.stop();
    const lines: string[] = [];
    const after = await withDefaultEngine(() =>
      startLocalServer({ mode: "persistent", dataDir, log: (line) => lines.push(line) }),
    );
    try {
      expect(after.engine).toBe("sqlite");
      expect(lines.join("\n")).toMatch(/is on SQLite .*stays on FerretDB with SQLite/);
      const reader = new MongoClient(after.url);
      expect(
        await reader
          .db("upgrade")
          .collection("things")
          .countDocuments({ _id: "kept" } as never),
      ).toBe(1);
      await reader.close();
    } finally {
      await after.stop();
    }
  });

  it("refuses an engine name it does not know, naming the variable", async () => {
    const saved = process.env.NEOSC_DB_ENGINE;
    process.env.NEOSC_DB_ENGINE = "oracle";
    try {
      await expect(startLocalServer({ mode: "throwaway", log: () => {} })).rejects.toThrow(/NEOSC_DB_ENGINE/);
    } finally {
      if (saved === undefined) delete process.env.NEOSC_DB_ENGINE;
      else process.env.NEOSC_DB_ENGINE = saved;
    }
  });
});
