// The database costs under the benchmark's numbers, per engine and collection size, independent
// of the API:
//   1. FerretDB 1.24 on SQLite pushes only `_id` equality filters down; any other filter or sort
//      scans and decodes the whole collection, so its cost grows with the collection. On
//      PostgreSQL equalities on top-level fields are pushed down, and the launcher's GIN twins of
//      the indexes let them use an index; sorts, ranges and counts still scan;
//   2. audit.append under concurrent writers on one chain, and with history already stored.
// Run: pnpm --filter @neosc/e2e exec tsx bench/probe-ferretdb.ts
// Knobs: PROBE_ENGINES (sqlite,postgresql), PROBE_SIZES (10,1000,10000).
import { loadavg } from "node:os";
import type { AuditEvent } from "@neosc/core/audit";
import { connectDatabase } from "@neosc/db/database";
import { DATABASE_ENGINES, type DatabaseEngine, startLocalServer } from "@neosc/db/local-server";

const ENGINES = (process.env.PROBE_ENGINES ?? "sqlite,postgresql").split(",").map((engine) => {
  if (!(DATABASE_ENGINES as readonly string[]).includes(engine)) throw new Error(`PROBE_ENGINES: ${engine}?`);
  return engine as DatabaseEngine;
});
const SIZES = (process.env.PROBE_SIZES ?? "10,1000,10000").split(",").map(Number);

interface ProbeDoc {
  _id: string;
  userId: string;
  status: string;
  seq: number;
  startedAt: Date;
}

/** Mean ms per call: at least 3 calls, then until 20 calls or 1.5 s. */
async function timed(call: () => Promise<unknown>): Promise<number> {
  await call();
  const started = performance.now();
  let calls = 0;
  while (calls < 3 || (calls < 20 && performance.now() - started < 1500)) {
    await call();
    calls += 1;
  }
  return (performance.now() - started) / calls;
}

const results: Record<string, Record<string, Record<number, number>>> = {};
const audit: Record<string, Record<string, number>> = {};
console.log(
  `load average at start: ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")}`,
);
for (const engine of ENGINES) {
  const server = await startLocalServer({ mode: "throwaway", engine, log: () => {} });
  const connection = await connectDatabase({ url: server.url, dbName: "probe" });
  results[engine] = {};
  try {
    const raw = connection.client.db("probe");
    for (const size of SIZES) {
      const sessions = raw.collection<ProbeDoc>(`probe_sessions_${size}`);
      await sessions.createIndex({ userId: 1, status: 1 });
      const docs = Array.from({ length: size }, (_, i) => ({
        _id: `s${i}`,
        userId: `u${i % Math.max(1, Math.floor(size / 3))}`,
        status: i % 3 === 0 ? "active" : "ended",
        seq: i,
        startedAt: new Date(Date.now() - i * 1000),
      }));
      for (let i = 0; i < docs.length; i += 500) await sessions.insertMany(docs.slice(i, i + 500));
      const plans: [string, () => Promise<unknown>][] = [
        ["find { _id }", () => sessions.find({ _id: "s5" }).toArray()],
        ["find { userId }", () => sessions.find({ userId: "u5" }).toArray()],
        ["find { userId, status }", () => sessions.find({ userId: "u5", status: "active" }).toArray()],
        ["find().sort({ seq: -1 }).limit(1)", () => sessions.find().sort({ seq: -1 }).limit(1).toArray()],
        ["updateOne { _id } $set", () => sessions.updateOne({ _id: "s5" }, { $set: { status: "active" } })],
        ["countDocuments { status }", () => sessions.countDocuments({ status: "active" })],
      ];
      for (const [name, call] of plans) {
        results[engine][name] ??= {};
        (results[engine][name] as Record<number, number>)[size] = await timed(call);
      }
    }

    const event: AuditEvent = {
      actor: { id: null, email: null, role: null },
      action: "probe",
      resource: { type: "probe", id: null },
      clientIp: null,
      userAgent: null,
      result: "success",
      reason: null,
      details: {},
    };
    audit[engine] = {};
    for (const writers of [1, 4, 16]) {
      const total = 48;
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: writers }, async () => {
          while (next++ < total) await connection.db.audit.append(event);
        }),
      );
      (audit[engine] as Record<string, number>)[`${writers} concurrent writer(s)`] =
        total / ((performance.now() - started) / 1000);
    }
    const size = await connection.db.audit.count();
    const started = performance.now();
    for (let i = 0; i < 10; i += 1) await connection.db.audit.append(event);
    (audit[engine] as Record<string, number>)[`one writer, ${size} entries stored`] =
      10 / ((performance.now() - started) / 1000);
    if (!(await connection.db.audit.verify()).ok)
      throw new Error(`${engine}: the audit chain does not verify`);
  } finally {
    await connection.close();
    await server.stop();
  }
}

const pad = (text: string, width: number) => text.padStart(width);
const columns = ENGINES.flatMap((engine) => SIZES.map((size) => `${engine} ${size}`));
const width = Math.max(...columns.map((column) => column.length)) + 2;
console.log(`\nms per query (mean), by engine and documents in the collection`);
console.log(`${"query".padEnd(36)}${columns.map((column) => pad(column, width)).join("")}`);
for (const name of Object.keys(results[ENGINES[0] as string] ?? {})) {
  const cells = ENGINES.flatMap((engine) =>
    SIZES.map((size) => pad((results[engine]?.[name]?.[size] ?? Number.NaN).toFixed(1), width)),
  );
  console.log(`${name.padEnd(36)}${cells.join("")}`);
}
console.log(`\naudit.append per second (chain verified afterwards)`);
console.log(`${"writers".padEnd(36)}${ENGINES.map((engine) => pad(engine, width)).join("")}`);
for (const name of Object.keys(audit[ENGINES[0] as string] ?? {})) {
  const label = name.replace(/\d+ entries/, "N entries");
  const cells = ENGINES.map((engine) => {
    const key = Object.keys(audit[engine] ?? {}).find(
      (other) => other.replace(/\d+ entries/, "N entries") === label,
    );
    return pad((key ? (audit[engine]?.[key] ?? Number.NaN) : Number.NaN).toFixed(1), width);
  });
  console.log(`${label.padEnd(36)}${cells.join("")}`);
}
console.log(
  `load average at end: ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")}`,
);
