import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRunning } from "@neosc/core/process";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { resolveServerBinary } from "../src/local-server/binary.ts";
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
  pid: number;
  supervisorPid: number;
  dataDir: string;
}

/** Starts an owner process (test/fixtures/owner.ts) and waits for the server it reports. */
function startOwner(
  mode: "throwaway" | "persistent",
  dataDir?: string,
  extra: string[] = [],
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
    { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] },
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
    it(`leaves no database process behind when the owner gets ${signal}`, async () => {
      const { owner, report } = await startOwner("throwaway");
      expect(await pingable(report.url)).toBe(true);
      expect(isRunning(report.pid)).toBe(true);
      const exited = new Promise((done) => owner.once("exit", done));
      owner.kill(signal);
      await exited;
      expect(await waitUntilGone(report.pid)).toBe(true);
      expect(await waitUntilGone(report.supervisorPid)).toBe(true);
      expect(existsSync(report.dataDir)).toBe(false);
    });
  }

  it("stops the server when the owner's event loop runs empty without calling stop()", async () => {
    const { owner, report } = await startOwner("throwaway", undefined, ["--return"]);
    const code = await new Promise((done) => {
      if (owner.exitCode !== null) done(owner.exitCode);
      else owner.once("exit", done);
    });
    expect(code).toBe(0);
    expect(await waitUntilGone(report.pid)).toBe(true);
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
