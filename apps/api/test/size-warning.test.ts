import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { connectDatabase } from "@neosc/db/database";
import { SLOW_SCAN_AT_DOCUMENTS, startLocalServer } from "@neosc/db/local-server";
import pino from "pino";
import { afterAll, describe, expect, it, vi } from "vitest";
import { parseEnv } from "../src/env.ts";
import { startServer } from "../src/server.ts";

/*
 * The embedded default says at start when a growing collection has passed the size where its
 * engine's scans get slow, and names the way on (MongoDB). On SQLite, whose threshold a test can
 * reach in seconds, and PostgreSQL, whose threshold is 65 times higher.
 */

const dataDirs: string[] = [];

afterAll(async () => {
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

type Engine = keyof typeof SLOW_SCAN_AT_DOCUMENTS;

async function warningsAtStart(dataDir: string, engine: Engine): Promise<{ msg: string; engine?: string }[]> {
  const lines: string[] = [];
  const logger = pino(
    { level: "warn" },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  // The launcher reads its engine from the process environment, as `npm start` gives it.
  vi.stubEnv("NEOSC_DB_ENGINE", engine);
  const running = await startServer(
    parseEnv({
      HOST: "127.0.0.1",
      PORT: "0",
      METRICS_ENABLED: "false",
      NEOSC_DATA_DIR: dataDir,
      NEOSC_ADMIN_EMAIL: "owner@neosc.test",
      NEOSC_ADMIN_PASSWORD: "correct horse battery",
    }),
    { logger, announce: () => {} },
  );
  await running.close();
  vi.unstubAllEnvs();
  return lines.map((line) => JSON.parse(line) as { msg: string; engine?: string });
}

describe.each(["sqlite", "postgresql"] as const)("the embedded database's size warning on %s", (engine) => {
  it("is silent on a small database and names the collection, the engine and MongoDB past the threshold", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "neosc-size-"));
    dataDirs.push(dataDir);
    // PostgreSQL runs as its own account, which must reach the folder (mkdtemp makes it 0700).
    await chmod(dataDir, 0o755);
    const slow = (warnings: { msg: string; engine?: string }[]) =>
      warnings.filter((line) => line.msg.includes("scans slowly"));
    expect(slow(await warningsAtStart(dataDir, engine))).toEqual([]);

    // History written meanwhile: as many refused sign-ins as the SQLite threshold.
    const server = await startLocalServer({ mode: "persistent", dataDir: path.join(dataDir, "db"), engine });
    const connection = await connectDatabase({ url: server.url, ensureIndexes: false });
    try {
      const at = new Date();
      const attempts = connection.client.db(connection.dbName).collection("login_attempts");
      for (let from = 0; from < SLOW_SCAN_AT_DOCUMENTS[engine]; from += 5_000) {
        const count = Math.min(5_000, SLOW_SCAN_AT_DOCUMENTS[engine] - from);
        await attempts.insertMany(
          Array.from({ length: count }, (_, index) => ({ _id: `size-test-${from + index}` as never, at })),
        );
      }
    } finally {
      await connection.close();
      await server.stop();
    }

    const warned = slow(await warningsAtStart(dataDir, engine));
    expect(warned).toHaveLength(1);
    expect(warned[0]?.engine).toBe(engine);
    expect(warned[0]?.msg).toContain(`${SLOW_SCAN_AT_DOCUMENTS[engine]} login_attempts`);
    expect(warned[0]?.msg).toContain("MONGO_URL");
  });
});
