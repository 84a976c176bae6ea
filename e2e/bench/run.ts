// `pnpm bench`: load on the real API (built bundle, real FerretDB, real session tokens and
// Pomerium assertions) next to two ceilings measured in the same run, one table, bench.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import type { Workspace } from "@neosc/core/workspace";
import { connectDatabase, type DatabaseConnection } from "@neosc/db/database";
import { DATABASE_ENGINES, type DatabaseEngine } from "@neosc/db/local-server";
import { signInApi } from "../src/api.ts";
import { freePort } from "../src/ports.ts";
import { type Service, startService } from "../src/processes.ts";
import { type SeededUser, seedActiveSessions, seedSessionHistory, seedSignedInUsers } from "../src/seed.ts";
import { E2E_ROOT, RESULTS_DIR, type RunningStack, startStack, stopAndVerify } from "../src/stack.ts";
import { batchMutation, batchQueryPath, decodeBatch } from "../src/trpc-wire.ts";
import { cpuSeconds, dbCommands, treeCpuSeconds } from "./costs.ts";
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
/** A comma-separated variable's names, each one of `allowed` (an error names the variable). */
function namesFrom<T extends string>(variable: string, allowed: readonly T[], fallback: string): T[] {
  return (process.env[variable] ?? fallback)
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => {
      if (!(allowed as readonly string[]).includes(name)) {
        throw new Error(`${variable}: "${name}" is not one of ${allowed.join(", ")}`);
      }
      return name as T;
    });
}

/**
 * BENCH_ENGINES=sqlite,postgresql runs everything once per database engine, each on its own
 * stack, and prints the engines side by side; unset: the launcher's default engine only.
 */
const ENGINES: (DatabaseEngine | undefined)[] = namesFrom("BENCH_ENGINES", DATABASE_ENGINES, "");
if (ENGINES.length === 0) ENGINES.push(undefined);
/** The history rows run with this many times the sessions and audit entries of the small-data rows. */
const HISTORY_FACTOR = Number(process.env.BENCH_HISTORY_FACTOR ?? 10);
/**
 * Seconds of unmeasured load each server gets before its first measured row, so rows compare
 * compiled code with compiled code: the first seconds of a fresh Node process run its JavaScript
 * interpreted, which cost the first dashboard row about twice its steady CPU per request.
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const ROW_KINDS = ["dashboard", "pomerium", "launch", "model"] as const;
/**
 * BENCH_ROWS=launch (comma-separated, of ROW_KINDS) runs only those rows (a kind's history row
 * with it) after the ceilings, on the same data; unset: every row. The people seeded stay the
 * same, so the history has the same shape as in the whole run.
 */
const ROWS = new Set(namesFrom("BENCH_ROWS", ROW_KINDS, ROW_KINDS.join(",")));

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
  const benches: EngineBench[] = [];
  const services: Service[] = [];
  let interrupted = false;
  const shutdown = async () => {
    for (const service of services) await service.stop(2_000).catch(() => {});
    for (const bench of benches) {
      await bench.counts.close().catch(() => {});
      await stopAndVerify(bench.stack);
    }
  };
  const onSignal = () => {
    interrupted = true;
    log("interrupted: stopping everything");
    void shutdown().then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    // Every engine's stack runs at once and each row runs on one engine after the other, so a
    // change in the machine's load (shared with other work) falls on both alike.
    for (const engine of ENGINES) benches.push(await prepareEngine(engine, logDir));
    const first = benches[0] as EngineBench;
    const ceilings = await startCeilings(first, services, logDir);
    const bareLoad = (durationSeconds: number) =>
      runLoad({
        scenario: "ceiling",
        name: "node:http, same bytes from memory",
        url: ceilings.bare.url,
        connections: CEILING_CONNECTIONS,
        durationSeconds,
        stepsFor: () => [{ procedure: "bare", method: "GET", path: "/" }],
      });
    const helloLoad = (durationSeconds: number) =>
      runLoad({
        scenario: "ceiling",
        name: "hello on Express+tRPC+superjson",
        url: ceilings.hello.url,
        connections: CEILING_CONNECTIONS,
        durationSeconds,
        stepsFor: () => [{ procedure: "hello", method: "GET", path: batchQueryPath([["hello"]]) }],
      });
    await warmUp("ceilings", () => Promise.all([bareLoad(WARMUP_SECONDS), helloLoad(WARMUP_SECONDS)]));
    for (const bench of benches) await warmUp(`${bench.engine} API`, () => bench.warmUp());
    const bareRow = await first.run(ceilings.bare.serving, () => bareLoad(SECONDS));
    const helloRow = await first.run(ceilings.hello.serving, () => helloLoad(SECONDS));
    for (const bench of benches) bench.rows.push(bareRow, helloRow);

    const historyVariant = `, history ×${HISTORY_FACTOR}`;
    const steps: ((bench: EngineBench) => Promise<Row | null>)[] = [
      ...(!ROWS.has("dashboard")
        ? []
        : [
            ...SATURATION_CONNECTIONS.map((connections) => async (bench: EngineBench) => {
              const row = await bench.dashboard(connections, "");
              bench.small.push(row);
              return row;
            }),
          ]),
      ...(!ROWS.has("pomerium") ? [] : [(bench: EngineBench) => bench.pomerium()]),
      ...(!ROWS.has("launch")
        ? []
        : [
            async (bench: EngineBench) => {
              const row = await bench.launchStop("");
              bench.small.push(row);
              return row;
            },
          ]),
      ...(!ROWS.has("model") ? [] : MODEL_USERS.map((count) => (bench: EngineBench) => bench.model(count))),
      ...(ROWS.has("dashboard") || ROWS.has("launch")
        ? [
            async (bench: EngineBench) => {
              await bench.storeHistory();
              return null;
            },
          ]
        : []),
      ...(!ROWS.has("dashboard")
        ? []
        : [
            (bench: EngineBench) =>
              bench.dashboard(SATURATION_CONNECTIONS[0] ?? CEILING_CONNECTIONS, historyVariant),
          ]),
      ...(!ROWS.has("launch") ? [] : [(bench: EngineBench) => bench.launchStop(historyVariant)]),
    ];
    for (const step of steps) {
      for (const bench of benches) {
        const row = await step(bench);
        if (row === null) continue;
        row.engine = bench.engine;
        bench.rows.push(row);
        log(
          `${bench.engine}: ${row.scenario} ${row.name}: ${row.rps} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, errors ${row.errors}, CPU ms/req API ${row.apiCpuMsPerRequest} FerretDB ${row.ferretDbCpuMsPerRequest ?? "-"} PG ${row.backendCpuMsPerRequest ?? "-"} (CPU ceiling ${row.cpuCeilingRps ?? "-"} req/s), ${row.dbRoundTripsPerRequest ?? "-"} db round trips/req (load ${loadavg()[0]?.toFixed(1)})`,
        );
      }
    }

    const runs: EngineRun[] = benches.map((bench) => {
      for (const row of bench.rows) {
        row.ratioToBare = round(row.rps / bareRow.rps, 3);
        row.ratioToHello = round(row.rps / helloRow.rps, 3);
      }
      return {
        engine: bench.engine,
        loadAverageAtStart: bench.loadAverageAtStart,
        loadAverageAtEnd: loadavg().map((value) => round(value, 2)),
        rows: bench.rows,
      };
    });
    writeReport({ machine, started, runs });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (!interrupted) await shutdown();
  }
}

async function warmUp(what: string, load: () => Promise<unknown>) {
  if (WARMUP_SECONDS <= 0) return;
  log(`warming up ${what} for ${WARMUP_SECONDS} s (not measured)`);
  await load();
}

function writeReport(input: { machine: Record<string, unknown>; started: number; runs: EngineRun[] }) {
  const { machine, started, runs } = input;
  const notes = [
    `${machine.cores} cores shared by everything: the API (one Node process), the database (FerretDB, and on PostgreSQL its server) and the load generator (autocannon and the user model, in this process) all run on this machine, over loopback.`,
    `Saturation rows are closed-loop (autocannon, ${SECONDS} s each, every connection its own signed-in person, the next request sent when the previous answer arrives). Latency in ms, timeouts counted at 10 s (so "≥10000" means at least that); errors = non-2xx + socket errors + timeouts.`,
    `User model rows are open-loop: each person loads the dashboard every 10 s and launches a workspace once per 5 min, stopping it 15 s later, each on a random phase. Time is not compressed: the arrival rates are those of the real model (N/10 dashboards/s, N/300 launches/s); the run observes a ${MODEL_SECONDS} s slice of that steady state instead of the full 5-minute cycle, so about ${Math.round((MODEL_SECONDS / 300) * 100)}% of the people launch in it. Latency counts from the scheduled send time; a person never has two dashboard loads in flight (as with the portal's query cache). req/s there is the offered rate, not a capacity.`,
    `Before the first measured row every server (the ceilings and each engine's API) gets ${WARMUP_SECONDS} s of the same load unmeasured (the API: dashboards, then launches and stops), so no row pays for Node's JIT warm-up.`,
    "Before each row the benchmark waits (up to 60 s, column wait s) until the API answers a dashboard within 0.5 s again: after an overload it keeps working through requests whose clients already gave up.",
    `Ceilings: a bare node:http server sending the dashboard's exact response bytes from memory, and a "hello" query on the same Express 5 + tRPC 11 + superjson stack returning the same data from memory (no auth, no database); both at ${CEILING_CONNECTIONS} connections, once per run. ×bare and ×hello are req/s divided by each ceiling's req/s.`,
    `The API logs every request at level "${API_LOG_LEVEL}" (pino, to a file), as in production.`,
    `API ms/req: CPU (utime + stime from /proc/<pid>/stat) of the process answering the row (the API, or the ceiling's server) during the row ÷ requests answered. FerretDB ms/req and PG ms/req: the same for the FerretDB process and for PostgreSQL's postmaster with all its backends and helpers (children, including ended ones), on the postgresql engine. CPU ceiling req/s: ${cpus().length} cores × 1000 ms ÷ (API + FerretDB + PG ms/req), what the row could reach if these processes' CPU were the only limit (the load generator's own CPU comes on top). trips/req: database commands the API sent during the row (its db_commands_total metric, from the driver's command monitoring) ÷ requests answered; requests still in flight when a row ends add their work to the answered ones, so rows with few answers overstate both.`,
    `History rows ("history ×${HISTORY_FACTOR}"): the same load after storing ${HISTORY_FACTOR}× the sessions and audit entries the small-data rows started with, as past sessions of the same people (created, audited, stopped and audited through the repositories); the sessions/audit columns give the sizes.`,
    "Engines: sqlite = FerretDB 1.24 on SQLite, postgresql = FerretDB 1.24 on Debian's PostgreSQL 15 (unix socket, default settings), mongod = a real MongoDB; production runs MongoDB 7. With several engines, all stacks run at once and every row runs on each engine in turn. FerretDB pushes only some filters down to its backend (on SQLite only `_id` equality), so other queries scan their collection; the sessions/audit columns give the sizes at the start of each row.",
  ];
  const first = runs[0];
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
      historyFactor: HISTORY_FACTOR,
      warmUpSeconds: WARMUP_SECONDS,
      apiLogLevel: API_LOG_LEVEL,
      engines: runs.map((run) => run.engine),
    },
    notes,
    /** The first engine's rows (as in earlier reports); every engine's run is in `engines`. */
    engine: first?.engine,
    rows: first?.rows ?? [],
    engines: runs,
    history: runs.map((run) => ({ engine: run.engine, rows: historyComparison(run.rows) })),
  };
  for (const run of runs) {
    process.stdout.write(
      `\nengine: ${run.engine} (load average ${run.loadAverageAtStart.join(" ")} at its start, ${run.loadAverageAtEnd.join(" ")} at the end)\n`,
    );
    process.stdout.write(`${renderTable(run.rows)}\n`);
    for (const row of run.rows) {
      if (row.note) process.stdout.write(`* ${row.scenario} ${row.name}: ${row.note}\n`);
    }
  }
  for (const run of runs) {
    for (const line of historyComparison(run.rows)) process.stdout.write(`${run.engine}: ${line.text}\n`);
  }
  if (runs.length > 1) process.stdout.write(`\n${renderComparison(runs)}\n`);
  for (const note of notes) process.stdout.write(`- ${note}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, "bench.json"), `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${join(RESULTS_DIR, "bench.json")} (total ${report.durationSeconds} s)`);
}

/**
 * Each history row against its small-data row: throughput (the target: within 1.3×) and CPU per
 * request of API + FerretDB + PostgreSQL. Rows run minutes apart, so a change in the machine's
 * other load moves their req/s; the CPU per request is what the stored history itself costs.
 */
function historyComparison(rows: readonly Row[]) {
  const cpu = (row: Row) =>
    (row.apiCpuMsPerRequest ?? 0) + (row.ferretDbCpuMsPerRequest ?? 0) + (row.backendCpuMsPerRequest ?? 0);
  return rows.flatMap((row) => {
    const suffix = `, history ×${HISTORY_FACTOR}`;
    if (!row.name.endsWith(suffix)) return [];
    const small = rows.find(
      (other) =>
        other.scenario === row.scenario &&
        other.connections === row.connections &&
        other.name === row.name.slice(0, -suffix.length),
    );
    if (!small || small.rps === 0 || row.rps === 0) return [];
    const slower = round(small.rps / row.rps, 2);
    const costlier = cpu(small) > 0 ? round(cpu(row) / cpu(small), 2) : null;
    return [
      {
        scenario: row.scenario,
        slowerBy: slower,
        cpuPerRequestRatio: costlier,
        text: `history ×${HISTORY_FACTOR} against small data, ${row.scenario}: ${slower}× slower in req/s (${small.rps} → ${row.rps}; target ≤ 1.3×), ${costlier ?? "-"}× the CPU per request (${round(cpu(small), 2)} → ${round(cpu(row), 2)} ms API + FerretDB + PG)`,
      },
    ];
  });
}

interface EngineRun {
  engine: DatabaseEngine;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  rows: Row[];
}

/** One line per row: each engine's req/s, p99, ratio to hello, CPU and round trips. */
function renderComparison(runs: EngineRun[]): string {
  const [base, ...others] = runs;
  if (!base) return "";
  const header = ["scenario", "variant"];
  for (const run of runs)
    header.push(
      `${run.engine} req/s`,
      "p99 ms",
      "×hello",
      "API ms/req",
      "FerretDB ms/req",
      "PG ms/req",
      "CPU ceiling req/s",
      "trips",
    );
  for (const run of others) header.push(`${run.engine}/${base.engine}`);
  const lines: string[][] = [header];
  base.rows.forEach((row, index) => {
    if (row.scenario === "ceiling") return;
    const line = [row.scenario, row.name];
    const same = runs.map((run) => run.rows[index]);
    for (const other of same) {
      line.push(
        String(other?.rps ?? ""),
        other ? latency(other.p99, other.timeoutMs) : "",
        other?.ratioToHello === undefined ? "" : other.ratioToHello.toFixed(3),
        other?.apiCpuMsPerRequest === undefined ? "" : other.apiCpuMsPerRequest.toFixed(2),
        other?.ferretDbCpuMsPerRequest === undefined ? "" : other.ferretDbCpuMsPerRequest.toFixed(2),
        other?.backendCpuMsPerRequest === undefined ? "" : other.backendCpuMsPerRequest.toFixed(2),
        String(other?.cpuCeilingRps ?? ""),
        other?.dbRoundTripsPerRequest === undefined ? "" : other.dbRoundTripsPerRequest.toFixed(2),
      );
    }
    for (const other of same.slice(1)) {
      line.push(other && row.rps > 0 ? `${round(other.rps / row.rps, 2)}×` : "");
    }
    lines.push(line);
  });
  return `engines side by side (req/s ratio in the last column${others.length > 1 ? "s" : ""})\n${formatTable(lines, 2)}`;
}

/** The process that answers a row's requests, and where its database round trips are counted. */
interface Serving {
  pid: number;
  metricsUrl: string | null;
}

/** One engine's stack with its people and workspaces, and the rows it can run. */
interface EngineBench {
  engine: DatabaseEngine;
  stack: RunningStack;
  counts: DatabaseConnection;
  loadAverageAtStart: number[];
  /** The dashboard answer, byte for byte, and its payload (for the ceilings). */
  sample: { body: string; payload: string; description: string };
  rows: Row[];
  /** The small-data rows the history rows compare with. */
  small: Row[];
  /** Measures one row: waits until the API is responsive, then records sizes and costs around it. */
  run(serving: Serving, row: () => Promise<Row>): Promise<Row>;
  dashboard(connections: number, variant: string): Promise<Row>;
  pomerium(): Promise<Row>;
  launchStop(variant: string): Promise<Row>;
  model(count: number): Promise<Row>;
  storeHistory(): Promise<void>;
  /** Unmeasured dashboards and launch+stop cycles, before the first row. */
  warmUp(): Promise<void>;
}

async function prepareEngine(engine: DatabaseEngine | undefined, logDir: string): Promise<EngineBench> {
  const loadAverageAtStart = loadavg().map((value) => round(value, 2));
  const stack = await startStack({
    logDir: join(logDir, engine ?? "default"),
    pomerium: true,
    apiEnv: { LOG_LEVEL: API_LOG_LEVEL },
    ...(engine === undefined ? {} : { databaseEngine: engine }),
  });
  const { info } = stack;
  const name = info.db.engine;
  log(`${name}: stack started (load ${loadAverageAtStart.join(" ")})`);
  try {
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
    log(`${name}: seeded ${users.length} signed-in people in ${Math.round((Date.now() - clock) / 1000)} s`);

    // Everyone the saturation runs use has one workspace running, so session.active has content.
    clock = Date.now();
    const withSession = users.slice(0, SEEDED_SESSIONS);
    await seedActiveSessions({
      mongoUrl: info.db.url,
      dbName: info.dbNames.main,
      users: withSession,
      workspace: other,
    });
    log(`${name}: started ${withSession.length} sessions in ${Math.round((Date.now() - clock) / 1000)} s`);

    const response = await fetch(api + DASHBOARD_PATH, { headers: bearer(users[0] as SeededUser) });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`dashboard sample failed: ${response.status} ${body}`);
    const [list, active] = decodeBatch(body);
    if (!list?.ok || !active?.ok) throw new Error("dashboard sample did not decode");
    const superjson = (await import("superjson")).default;
    const sample = {
      body,
      payload: superjson.stringify({ workspaces: list.data, sessions: active.data }),
      description: `${(list.data as Workspace[]).length} workspaces + ${(active.data as unknown[]).length} session, ${body.length} bytes`,
    };

    const counts = await connectDatabase({
      url: info.db.url,
      dbName: info.dbNames.main,
      ensureIndexes: false,
    });
    return engineRows({ engine: name, stack, users, target, other, counts, sample, loadAverageAtStart });
  } catch (error) {
    await stopAndVerify(stack).catch(() => {});
    throw error;
  }
}

function engineRows(input: {
  engine: DatabaseEngine;
  stack: RunningStack;
  users: SeededUser[];
  target: Workspace;
  other: Workspace;
  counts: DatabaseConnection;
  sample: EngineBench["sample"];
  loadAverageAtStart: number[];
}): EngineBench {
  const { engine, stack, users, target, other, counts } = input;
  const { info } = stack;
  const api = info.api.url;
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
  const apiServing: Serving = { pid: stack.api.pid, metricsUrl: info.api.metricsUrl };
  // info.db.pids is [FerretDB (or mongod), its supervisor, PostgreSQL's postmaster, its supervisor]:
  // the servers and their children (PostgreSQL's backends), without the Node supervisors.
  const [databasePid = info.db.pid, , postmasterPid] = info.db.pids;
  const ferretDbPids = [databasePid];
  const backendPids = postmasterPid === undefined ? [] : [postmasterPid];
  const cores = cpus().length;
  const run = async (serving: Serving, row: () => Promise<Row>): Promise<Row> => {
    const waitedForApiSeconds = await settle();
    const dataAtStart = await dataSize();
    const commandsBefore = serving.metricsUrl === null ? 0 : await dbCommands(serving.metricsUrl);
    const cpuBefore = cpuSeconds(serving.pid);
    const ferretCpuBefore = treeCpuSeconds(ferretDbPids);
    const backendCpuBefore = treeCpuSeconds(backendPids);
    const measured = await row();
    const cpu = cpuSeconds(serving.pid) - cpuBefore;
    const ferretCpu = treeCpuSeconds(ferretDbPids) - ferretCpuBefore;
    const backendCpu = treeCpuSeconds(backendPids) - backendCpuBefore;
    const commands =
      serving.metricsUrl === null ? null : (await dbCommands(serving.metricsUrl)) - commandsBefore;
    const perRequest = (value: number) => value / measured.requests;
    // No answered request: no cost per request to give (the row shows its errors instead).
    if (measured.requests === 0) return { ...measured, dataAtStart, waitedForApiSeconds };
    return {
      ...measured,
      dataAtStart,
      waitedForApiSeconds,
      apiCpuMsPerRequest: round(perRequest(cpu * 1000), 2),
      ...(serving.metricsUrl === null
        ? {}
        : {
            dbCpuMsPerRequest: round(perRequest((ferretCpu + backendCpu) * 1000), 2),
            ferretDbCpuMsPerRequest: round(perRequest(ferretCpu * 1000), 2),
            ...(backendPids.length === 0
              ? {}
              : { backendCpuMsPerRequest: round(perRequest(backendCpu * 1000), 2) }),
            // What the machine could answer if these three were all it ran: every core busy
            // with nothing but this request's API, FerretDB and PostgreSQL CPU.
            cpuCeilingRps: Math.round((cores * 1000) / perRequest((cpu + ferretCpu + backendCpu) * 1000)),
            dbRoundTripsPerRequest: round(perRequest(commands ?? 0), 2),
          }),
    };
  };
  const cycleUsers = users.slice(users.length - CYCLE_CONNECTIONS);
  const launch = batchMutation("workspace.launch", { workspaceId: target.id });
  const stop = batchMutation("workspace.stop", { workspaceId: target.id });
  const dashboardLoad = (connections: number, variant: string, durationSeconds: number) =>
    runLoad({
      scenario: "1 dashboard",
      name: `workspace.list + session.active, batched${variant}`,
      url: api,
      connections,
      durationSeconds,
      stepsFor: (connection) => [
        {
          procedure: "dashboard",
          method: "GET",
          path: DASHBOARD_PATH,
          headers: bearer(users[connection % users.length] as SeededUser),
        },
      ],
    });
  const launchStopLoad = (variant: string, durationSeconds: number) =>
    runLoad({
      scenario: "3 launch+stop",
      name: `launch then stop, back to back${variant}`,
      url: api,
      connections: CYCLE_CONNECTIONS,
      durationSeconds,
      stepsFor: (connection) => {
        const headers = bearer(cycleUsers[connection % cycleUsers.length] as SeededUser);
        return [
          { procedure: "launch", method: "POST", path: launch.path, body: launch.body, headers },
          { procedure: "stop", method: "POST", path: stop.path, body: stop.body, headers },
        ] satisfies Step[];
      },
    });
  const bench: EngineBench = {
    engine,
    stack,
    counts,
    loadAverageAtStart: input.loadAverageAtStart,
    sample: input.sample,
    rows: [],
    small: [],
    run,
    dashboard: (connections, variant) => run(apiServing, () => dashboardLoad(connections, variant, SECONDS)),
    pomerium: async () => {
      const prepared = await preparePomerium(stack);
      return run(prepared.serving, () => prepared.row());
    },
    launchStop: (variant) => run(apiServing, () => launchStopLoad(variant, SECONDS)),
    model: (count) =>
      run(apiServing, () =>
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
      ),
    warmUp: async () => {
      await dashboardLoad(CEILING_CONNECTIONS, "", WARMUP_SECONDS);
      await launchStopLoad("", WARMUP_SECONDS);
    },
    // HISTORY_FACTOR times the sessions and audit entries the small-data rows started with, as
    // past sessions (launched, stopped, both audited) of the same people.
    storeHistory: async () => {
      const base = {
        sessions: Math.max(...bench.small.map((row) => row.dataAtStart?.sessions ?? 0)),
        audit: Math.max(...bench.small.map((row) => row.dataAtStart?.audit ?? 0)),
      };
      const now = await dataSize();
      const pastSessions = Math.max(
        0,
        HISTORY_FACTOR * base.sessions - now.sessions,
        Math.ceil((HISTORY_FACTOR * base.audit - now.audit) / 2),
      );
      const clock = Date.now();
      await seedSessionHistory({
        mongoUrl: info.db.url,
        dbName: info.dbNames.main,
        users,
        workspace: other,
        count: pastSessions,
      });
      log(
        `${engine}: stored ${pastSessions} past sessions (and twice as many audit entries) in ${Math.round((Date.now() - clock) / 1000)} s`,
      );
    },
  };
  return bench;
}

async function startCeilings(
  first: EngineBench,
  services: Service[],
  logDir: string,
): Promise<{ bare: Ceiling; hello: Ceiling }> {
  const bodyFile = join(logDir, "dashboard-body.json");
  writeFileSync(bodyFile, first.sample.body);
  const payloadFile = join(logDir, "dashboard-payload.superjson");
  writeFileSync(payloadFile, first.sample.payload);
  log(`dashboard: ${first.sample.description}`);
  const bare = await startCeiling(services, logDir, "ceiling-bare", "bare-server.mjs", bodyFile, "/");
  const hello = await startCeiling(
    services,
    logDir,
    "ceiling-hello",
    "hello-server.mjs",
    payloadFile,
    "/healthz",
  );
  return { bare, hello };
}

/**
 * Scenario 4: the dashboard behind Pomerium, every request verified from its signed assertion.
 * The people are created (first sight, just in time) before the row; the row sees returning ones.
 */
async function preparePomerium(
  stack: RunningStack,
): Promise<{ serving: { pid: number; metricsUrl: string }; row: () => Promise<Row> }> {
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
  await inBatches(assertions, 16, async (assertion) => {
    const response = await fetch(url + DASHBOARD_PATH, {
      headers: { "x-pomerium-jwt-assertion": assertion },
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`Pomerium warm-up failed: ${response.status}`);
  });
  return {
    serving: { pid: info.pomeriumApi.pid, metricsUrl: info.pomeriumApi.metricsUrl },
    row: () =>
      runLoad({
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
      }),
  };
}

interface Ceiling {
  url: string;
  serving: { pid: number; metricsUrl: null };
}

async function startCeiling(
  services: Service[],
  logDir: string,
  name: string,
  script: string,
  dataFile: string,
  readyPath: string,
): Promise<Ceiling> {
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
  return { url: `http://127.0.0.1:${port}`, serving: { pid: service.pid, metricsUrl: null } };
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
    "API ms/req",
    "FerretDB ms/req",
    "PG ms/req",
    "CPU ceiling req/s",
    "trips/req",
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
      row.apiCpuMsPerRequest === undefined ? "" : row.apiCpuMsPerRequest.toFixed(2),
      row.ferretDbCpuMsPerRequest === undefined ? "" : row.ferretDbCpuMsPerRequest.toFixed(2),
      row.backendCpuMsPerRequest === undefined ? "" : row.backendCpuMsPerRequest.toFixed(2),
      String(row.cpuCeilingRps ?? ""),
      row.dbRoundTripsPerRequest === undefined ? "" : row.dbRoundTripsPerRequest.toFixed(2),
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
        "",
        "",
        "",
        "",
        "",
      ]);
    }
  }
  return formatTable(lines, 2);
}

/** Columns padded to their widest cell; from `firstNumeric` on, right-aligned. */
function formatTable(lines: string[][], firstNumeric: number): string {
  const [header = []] = lines;
  const widths = header.map((_, column) => Math.max(...lines.map((line) => (line[column] ?? "").length)));
  const format = (line: string[]) =>
    line
      .map((cell, column) =>
        column >= firstNumeric ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join("  ");
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [format(header), rule, ...lines.slice(1).map(format)].join("\n");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
