// A repro for the two costs that dominate the benchmark on the local engine (FerretDB 1.24 with
// SQLite), independent of the API:
//   1. only `_id` equality filters are pushed down to SQLite; any other filter or sort scans and
//      decodes the whole collection, so its cost grows with the collection;
//   2. audit.append reads the chain head with find().sort({ seq: -1 }).limit(1) (a full scan and
//      sort there) and retries on a seq conflict, so concurrent appends mostly redo that scan.
// Run: pnpm --filter @neosc/e2e exec tsx bench/probe-ferretdb.ts
import type { AuditEvent } from "@neosc/core/audit";
import { connectDatabase } from "@neosc/db/database";
import { startLocalServer } from "@neosc/db/local-server";

const server = await startLocalServer({ mode: "throwaway", log: () => {} });
const connection = await connectDatabase({ url: server.url, dbName: "probe" });
try {
  const raw = connection.client.db("probe");
  const sessions = raw.collection<{ _id: string; userId: string; status: string; startedAt: Date }>(
    "probe_sessions",
  );
  const docs = Array.from({ length: 3000 }, (_, i) => ({
    _id: `s${i}`,
    userId: `u${i % 1000}`,
    status: i % 3 === 0 ? "active" : "ended",
    startedAt: new Date(Date.now() - i * 1000),
  }));
  for (let i = 0; i < docs.length; i += 500) await sessions.insertMany(docs.slice(i, i + 500));

  console.log("query on 3,000 documents                 ms/query  pushed down");
  const plans: [string, Record<string, unknown>][] = [
    ["{ _id }", { _id: "s5" }],
    ["{ _id, status, startedAt: { $gt } }", { _id: "s5", status: "active", startedAt: { $gt: new Date(0) } }],
    ["{ userId }", { userId: "u5" }],
    ["{ userId, status }", { userId: "u5", status: "active" }],
  ];
  for (const [name, filter] of plans) {
    const explained = JSON.stringify(await sessions.find(filter).explain());
    const started = performance.now();
    for (let i = 0; i < 20; i += 1) await sessions.find(filter).toArray();
    const ms = (performance.now() - started) / 20;
    const pushed = /"filterPushdown":true/.test(explained);
    console.log(`  ${name.padEnd(40)} ${ms.toFixed(1).padStart(8)}  ${pushed}`);
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
  console.log("audit.append                              appends/s");
  for (const writers of [1, 4, 16]) {
    const total = 48;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (next++ < total) await connection.db.audit.append(event);
      }),
    );
    const perSecond = total / ((performance.now() - started) / 1000);
    console.log(`  ${`${writers} concurrent writer(s)`.padEnd(40)} ${perSecond.toFixed(1).padStart(8)}`);
  }
  const size = await connection.db.audit.count();
  const started = performance.now();
  for (let i = 0; i < 10; i += 1) await connection.db.audit.append(event);
  console.log(
    `  one writer with ${size} entries already      ${(10 / ((performance.now() - started) / 1000)).toFixed(1).padStart(8)}`,
  );
  console.log(`chain still verifies: ${(await connection.db.audit.verify()).ok}`);
} finally {
  await connection.close();
  await server.stop();
}
