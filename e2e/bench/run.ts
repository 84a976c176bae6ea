// `pnpm bench`: load on the real API (built bundle, real FerretDB, real session tokens and
// Pomerium assertions) next to two ceilings measured in the same run, one table, bench.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import type { Workspace } from "@neosc/core/workspace";
import { connectDatabase } from "@neosc/db/database";
import { signInApi } from "../src/api.ts";
import { freePort } from "../src/ports.ts";
import { type Service, startService } from "../src/processes.ts";
import { type SeededUser, seedActiveSessions, seedSignedInUsers } from "../src/seed.ts";
import { E2E_ROOT, RESULTS_DIR, type RunningStack, startStack, stopAndVerify } from "../src/stack.ts";
import { batchMutation, batchQueryPath, decodeBatch } from "../src/trpc-wire.ts";
import { type Row, runLoad, type Step } from "./load.ts";
import { round } from "./stats.ts";
import { runUserModel } from "./user-model.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const MODEL_SECONDS = Number(process.env.BENCH_MODEL_SECONDS ?? 30);
const MODEL_USERS = (process.env.BENCH_MODEL_USERS ?? "1000,5000").split(",").map(Number);
const SATURATION_CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "100,1000").split(",").map(Number);
const CYCLE_CONNECTIONS = Number(process.env.BENCH_CYCLE_CONNECTIONS ?? 8);
const CEILING_CONNECTIONS = 100;
/** People who have a workspace running before the runs start (their dashboards list it). */
const SEEDED_SESSIONS = Number(process.env.BENCH_SEEDED_SESSIONS ?? 100);
const API_LOG_LEVEL = process.env.BENCH_API_LOG_LEVEL ?? "info";

const DASHBOARD_PATH = batchQueryPath([["workspace.list"], ["session.active"]]);

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function bearer(user: SeededUser) {
  return { authorization: `Bearer ${user.token}` };
}

async function main() {
  const logDir = join(RESULTS_DIR, "bench-logs");
  mkdirSync(logDir, { recursive: true });
  const machine = {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    loadAverageAtStart: loadavg().map((value) => round(value, 2)),
  };
  log(
    `machine: ${machine.cores} × ${machine.cpu}, ${machine.memoryGb} GB, Node ${machine.node}, load ${machine.loadAverageAtStart.join(" ")}`,
  );

  const started = Date.now();
  const stack = await startStack({ logDir, pomerium: true, apiEnv: { LOG_LEVEL: API_LOG_LEVEL } });
  const services: Service[] = [];
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    log("interrupted: stopping everything");
    void shutdown(stack, services).then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    const rows = await scenarios(stack, services, logDir);
    const notes = [
      `${machine.cores} cores shared by everything: the API (one Node process), FerretDB (SQLite backend) and the load generator (autocannon and the user model, in this process) all run on this machine, over loopback.`,
      `Saturation rows are closed-loop (autocannon, ${SECONDS} s each, every connection its own signed-in person, the next request sent when the previous answer arrives). Latency in ms, timeouts counted at 10 s (so "≥10000" means at least that); errors = non-2xx + socket errors + timeouts.`,
      `User model rows are open-loop: each person loads the dashboard every 10 s and launches a workspace once per 5 min, stopping it 15 s later, each on a random phase. Time is not compressed: the arrival rates are those of the real model (N/10 dashboards/s, N/300 launches/s); the run observes a ${MODEL_SECONDS} s slice of that steady state instead of the full 5-minute cycle, so about ${Math.round((MODEL_SECONDS / 300) * 100)}% of the people launch in it. Latency counts from the scheduled send time; a person never has two dashboard loads in flight (as with the portal's query cache). req/s there is the offered rate, not a capacity.`,
      "Before each row the benchmark waits (up to 60 s, column wait s) until the API answers a dashboard within 0.5 s again: after an overload it keeps working through requests whose clients already gave up.",
      `Ceilings: a bare node:http server sending the dashboard's exact response bytes from memory, and a "hello" query on the same Express 5 + tRPC 11 + superjson stack returning the same data from memory (no auth, no database); both at ${CEILING_CONNECTIONS} connections. ×bare and ×hello are req/s divided by each ceiling's req/s.`,
      `The API logs every request at level "${API_LOG_LEVEL}" (pino, to a file), as in production.`,
      "The database is FerretDB 1.24 on SQLite (the local/test engine; production runs MongoDB 7): it pushes only `_id` equality filters down to SQLite, so every other query (session.active by user, users by email or IdP subject, the audit chain head) scans its whole collection; the sessions/audit columns give the sizes at the start of each row.",
    ];
    const report = {
      when: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: loadavg().map((value) => round(value, 2)) },
      durationSeconds: Math.round((Date.now() - started) / 1000),
      settings: {
        saturationSeconds: SECONDS,
        modelSeconds: MODEL_SECONDS,
        modelUsers: MODEL_USERS,
        saturationConnections: SATURATION_CONNECTIONS,
        cycleConnections: CYCLE_CONNECTIONS,
        ceilingConnections: CEILING_CONNECTIONS,
        apiLogLevel: API_LOG_LEVEL,
      },
      notes,
      rows,
    };
    process.stdout.write(`${renderTable(rows)}\n`);
    for (const row of rows) {
      if (row.note) process.stdout.write(`* ${row.scenario} ${row.name}: ${row.note}\n`);
    }
    for (const note of notes) process.stdout.write(`- ${note}\n`);
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, "bench.json"), `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${join(RESULTS_DIR, "bench.json")} (total ${report.durationSeconds} s)`);
  } finally {
    if (!interrupted) await shutdown(stack, services);
  }
}

async function shutdown(stack: RunningStack, services: Service[]) {
  for (const service of services) await service.stop(2_000).catch(() => {});
  await stopAndVerify(stack);
}

async function scenarios(stack: RunningStack, services: Service[], logDir: string): Promise<Row[]> {
  const { info } = stack;
  const api = info.api.url;
  const admin = await signInApi(api, info.admin.email, info.admin.password);
  await admin.api.workspace.reset.mutate();
  const launchable = (await admin.api.workspace.list.query()).filter(
    (workspace) => workspace.enabled && workspace.allowedRoles.includes("user"),
  );
  // Launches go to a web workspace: this benchmark measures the control plane; starting real
  // desktops (a sandbox each) is measured by `pnpm bench:gateway`.
  const target = launchable.find((workspace) => workspace.kind === "web");
  const other = launchable.find((workspace) => workspace !== target);
  if (!target || !other)
    throw new Error("the default catalogue needs a web workspace and another one for users");

  const people = Math.max(...MODEL_USERS, ...SATURATION_CONNECTIONS, CYCLE_CONNECTIONS);
  let clock = Date.now();
  const users = await seedSignedInUsers({
    mongoUrl: info.db.url,
    dbName: info.dbNames.main,
    sessionSecret: info.sessionSecret,
    count: people,
    prefix: "bench",
  });
  log(`seeded ${users.length} signed-in people in ${Math.round((Date.now() - clock) / 1000)} s`);

  // Everyone the saturation runs use has one workspace running, so session.active has content.
  clock = Date.now();
  const withSession = users.slice(0, SEEDED_SESSIONS);
  await seedActiveSessions({
    mongoUrl: info.db.url,
    dbName: info.dbNames.main,
    users: withSession,
    workspace: other,
  });
  log(`started ${withSession.length} sessions in ${Math.round((Date.now() - clock) / 1000)} s`);

  // The dashboard answer, byte for byte, for the ceilings.
  const sample = await fetch(api + DASHBOARD_PATH, { headers: bearer(users[0] as SeededUser) });
  const sampleBody = await sample.text();
  if (sample.status !== 200) throw new Error(`dashboard sample failed: ${sample.status} ${sampleBody}`);
  const [list, active] = decodeBatch(sampleBody);
  if (!list?.ok || !active?.ok) throw new Error("dashboard sample did not decode");
  const bodyFile = join(logDir, "dashboard-body.json");
  writeFileSync(bodyFile, sampleBody);
  const payloadFile = join(logDir, "dashboard-payload.superjson");
  const superjson = (await import("superjson")).default;
  writeFileSync(payloadFile, superjson.stringify({ workspaces: list.data, sessions: active.data }));
  log(
    `dashboard: ${(list.data as Workspace[]).length} workspaces + ${(active.data as unknown[]).length} session, ${sampleBody.length} bytes`,
  );

  const bare = await startCeiling(services, logDir, "ceiling-bare", "bare-server.mjs", bodyFile, "/");
  const hello = await startCeiling(
    services,
    logDir,
    "ceiling-hello",
    "hello-server.mjs",
    payloadFile,
    "/healthz",
  );

  const rows: Row[] = [];
  const counts = await connectDatabase({ url: info.db.url, dbName: info.dbNames.main, ensureIndexes: false });
  const dataSize = async () => {
    const collection = (name: string) =>
      counts.client.db(info.dbNames.main).collection(name).countDocuments();
    const [users, sessions, audit] = await Promise.all([
      collection("users"),
      collection("sessions"),
      collection("audit_logs"),
    ]);
    return { users, sessions, audit };
  };
  // After an overload the API still works through requests whose clients gave up: wait until it
  // answers a dashboard promptly again, so one row's backlog does not land in the next.
  const settle = async () => {
    const begun = Date.now();
    const deadline = begun + 60_000;
    while (Date.now() < deadline) {
      const started = Date.now();
      const response = await fetch(api + DASHBOARD_PATH, { headers: bearer(users[0] as SeededUser) }).catch(
        () => null,
      );
      await response?.arrayBuffer();
      if (response?.status === 200 && Date.now() - started < 500) break;
      await new Promise((done) => setTimeout(done, 1_000));
    }
    return round((Date.now() - begun) / 1000, 1);
  };
  const run = async (row: () => Promise<Row>) => {
    const waitedForApiSeconds = await settle();
    const dataAtStart = await dataSize();
    const result = { ...(await row()), dataAtStart, waitedForApiSeconds };
    rows.push(result);
    log(
      `${result.scenario} ${result.name}: ${result.rps} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, errors ${result.errors}`,
    );
    return result;
  };

  const bareRow = await run(() =>
    runLoad({
      scenario: "ceiling",
      name: "node:http, same bytes from memory",
      url: bare,
      connections: CEILING_CONNECTIONS,
      durationSeconds: SECONDS,
      stepsFor: () => [{ procedure: "bare", method: "GET", path: "/" }],
    }),
  );
  const helloRow = await run(() =>
    runLoad({
      scenario: "ceiling",
      name: "hello on Express+tRPC+superjson",
      url: hello,
      connections: CEILING_CONNECTIONS,
      durationSeconds: SECONDS,
      stepsFor: () => [{ procedure: "hello", method: "GET", path: batchQueryPath([["hello"]]) }],
    }),
  );

  for (const connections of SATURATION_CONNECTIONS) {
    await run(() =>
      runLoad({
        scenario: "1 dashboard",
        name: "workspace.list + session.active, batched",
        url: api,
        connections,
        durationSeconds: SECONDS,
        stepsFor: (connection) => [
          {
            procedure: "dashboard",
            method: "GET",
            path: DASHBOARD_PATH,
            headers: bearer(users[connection % users.length] as SeededUser),
          },
        ],
      }),
    );
  }

  await run(() => pomeriumRow(stack));

  const cycleUsers = users.slice(users.length - CYCLE_CONNECTIONS);
  await run(() =>
    runLoad({
      scenario: "3 launch+stop",
      name: "launch then stop, back to back",
      url: api,
      connections: CYCLE_CONNECTIONS,
      durationSeconds: SECONDS,
      stepsFor: (connection) => {
        const headers = bearer(cycleUsers[connection % cycleUsers.length] as SeededUser);
        const launch = batchMutation("workspace.launch", { workspaceId: target.id });
        const stop = batchMutation("workspace.stop", { workspaceId: target.id });
        return [
          { procedure: "launch", method: "POST", path: launch.path, body: launch.body, headers },
          { procedure: "stop", method: "POST", path: stop.path, body: stop.body, headers },
        ] satisfies Step[];
      },
    }),
  );

  for (const count of MODEL_USERS) {
    const launch = batchMutation("workspace.launch", { workspaceId: target.id });
    const stop = batchMutation("workspace.stop", { workspaceId: target.id });
    await run(() =>
      runUserModel({
        name: `N = ${count} people`,
        url: api,
        users: users.slice(0, count).map((user) => ({ headers: bearer(user), workspaceId: target.id })),
        seconds: MODEL_SECONDS,
        thinkSeconds: 10,
        cycleSeconds: 300,
        holdSeconds: 15,
        dashboard: { path: DASHBOARD_PATH },
        launch: () => launch,
        stop: () => stop,
      }),
    );
  }

  await counts.close();
  const bareRps = bareRow.rps;
  const helloRps = helloRow.rps;
  for (const row of rows) {
    row.ratioToBare = round(row.rps / bareRps, 3);
    row.ratioToHello = round(row.rps / helloRps, 3);
  }
  return rows;
}

/** Scenario 4: the dashboard behind Pomerium, every request verified from its signed assertion. */
async function pomeriumRow(stack: RunningStack): Promise<Row> {
  const { info, signer } = stack;
  if (!info.pomeriumApi || !signer) throw new Error("no Pomerium-mode API");
  const url = info.pomeriumApi.url;
  const admin = await signInApi(url, info.admin.email, info.admin.password);
  await admin.api.workspace.reset.mutate();
  const connections = CEILING_CONNECTIONS;
  const assertions: string[] = [];
  for (let index = 0; index < connections; index += 1) {
    assertions.push(
      await signer.signAssertion({
        email: `proxied-${index}@bench.test`,
        name: `Proxied Person ${index}`,
        neosc_roles: "user",
      }),
    );
  }
  // First sight creates each person (just-in-time); the measured run sees returning people.
  await inBatches(assertions, 16, async (assertion) => {
    const response = await fetch(url + DASHBOARD_PATH, {
      headers: { "x-pomerium-jwt-assertion": assertion },
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`Pomerium warm-up failed: ${response.status}`);
  });
  return runLoad({
    scenario: "4 pomerium",
    name: "dashboard, identity from the signed assertion",
    url,
    connections,
    durationSeconds: SECONDS,
    stepsFor: (connection) => [
      {
        procedure: "dashboard",
        method: "GET",
        path: DASHBOARD_PATH,
        headers: { "x-pomerium-jwt-assertion": assertions[connection % assertions.length] as string },
      },
    ],
  });
}

async function startCeiling(
  services: Service[],
  logDir: string,
  name: string,
  script: string,
  dataFile: string,
  readyPath: string,
): Promise<string> {
  const port = await freePort();
  const service = await startService({
    name,
    command: process.execPath,
    args: [join(E2E_ROOT, "bench", script), dataFile, String(port)],
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" },
    cwd: E2E_ROOT,
    logFile: join(logDir, `${name}.log`),
    readyUrl: `http://127.0.0.1:${port}${readyPath}`,
  });
  services.push(service);
  return `http://127.0.0.1:${port}`;
}

async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let index = next++; index < items.length; index = next++) await each(items[index] as T);
    }),
  );
}

/** Milliseconds, or "≥timeout" when the percentile fell on requests that timed out. */
function latency(ms: number, timeoutMs: number | undefined): string {
  if (timeoutMs !== undefined && ms >= timeoutMs) return `≥${timeoutMs}`;
  return String(round(ms, 1));
}

function renderTable(rows: Row[]): string {
  const header = [
    "scenario",
    "variant",
    "conns",
    "s",
    "requests",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "×bare",
    "×hello",
    "sessions",
    "audit",
    "wait s",
  ];
  const lines: string[][] = [header];
  for (const row of rows) {
    lines.push([
      row.scenario,
      row.name,
      String(row.connections),
      String(row.seconds),
      String(row.requests),
      String(row.rps),
      latency(row.p50, row.timeoutMs),
      latency(row.p99, row.timeoutMs),
      String(row.errors),
      row.ratioToBare === undefined ? "" : row.ratioToBare.toFixed(3),
      row.ratioToHello === undefined ? "" : row.ratioToHello.toFixed(3),
      String(row.dataAtStart?.sessions ?? ""),
      String(row.dataAtStart?.audit ?? ""),
      String(row.waitedForApiSeconds ?? ""),
    ]);
    for (const [procedure, summary] of Object.entries(row.procedures ?? {})) {
      lines.push([
        "",
        `  ${procedure}`,
        "",
        "",
        String(summary.count),
        "",
        latency(summary.p50, row.timeoutMs),
        latency(summary.p99, row.timeoutMs),
        String(summary.errors),
        "",
        "",
        "",
        "",
        "",
      ]);
    }
  }
  const widths = header.map((_, column) => Math.max(...lines.map((line) => (line[column] ?? "").length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  const format = (line: string[]) =>
    line
      .map((cell, column) =>
        numeric.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join("  ");
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [format(header), rule, ...lines.slice(1).map(format)].join("\n");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
