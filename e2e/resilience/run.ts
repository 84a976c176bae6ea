// `pnpm resilience`: under a bounded load of reads and launches, SIGKILL the database for ~10 s,
// start it again on the same data and port, later restart the API, and show what clients saw.
// Exits non-zero on a lost acknowledged launch, on any 5xx other than 503, on a hung request,
// or when the API does not recover by itself.
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { isRunning } from "@neosc/core/process";
import { connectDatabase } from "@neosc/db/database";
import { type LocalServer, startLocalServer } from "@neosc/db/local-server";
import { signInApi } from "../src/api.ts";
import { freePort } from "../src/ports.ts";
import { type Service, sleep } from "../src/processes.ts";
import { type SeededUser, seedSignedInUsers } from "../src/seed.ts";
import { assertBuilt, baseApiEnv, RESULTS_DIR, startApi } from "../src/stack.ts";
import { batchMutation, batchQueryPath, decodeBatch } from "../src/trpc-wire.ts";

const WORKERS = Number(process.env.RESILIENCE_WORKERS ?? 6);
const PAUSE_MS = 100;
const CLIENT_TIMEOUT_MS = 10_000;
const PHASE_SECONDS = {
  before: Number(process.env.RESILIENCE_BEFORE_SECONDS ?? 8),
  down: Number(process.env.RESILIENCE_DOWN_SECONDS ?? 10),
  afterDatabase: Number(process.env.RESILIENCE_AFTER_SECONDS ?? 12),
  afterApi: 6,
};
const DASHBOARD_PATH = batchQueryPath([["workspace.list"], ["session.active"]]);

type Outcome = number | "timeout" | "refused" | "error";
type Kind = "read" | "launch" | "stop";

interface Sample {
  /** The phase when the request was sent (it may be answered in the next one). */
  phase: string;
  kind: Kind;
  outcome: Outcome;
  ms: number;
  /** Sent and answered, in seconds since the start. */
  at: number;
  end: number;
  /** For failures without an HTTP status: the socket error code. */
  detail?: string;
}

/** Seconds since the script started: one clock for samples, readiness and phase changes. */
const T0 = performance.now();
const elapsed = () => (performance.now() - T0) / 1000;

const log = (line: string) => process.stdout.write(`[resilience] ${line}\n`);

async function main() {
  assertBuilt();
  const dir = join(RESULTS_DIR, "resilience");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dataDir = join(dir, "db");
  const dbPort = await freePort();
  let database: LocalServer = await startLocalServer({
    mode: "persistent",
    dataDir,
    port: dbPort,
    log: () => {},
  });
  log(`database: ${database.engine} (${database.dataDir})`);
  const apiPort = await freePort();
  const dbName = "neosc_resilience";
  const admin = { email: "admin@neosc.test", password: `admin-${randomBytes(9).toString("base64url")}` };
  const sessionSecret = randomBytes(32).toString("base64url");
  const env = {
    ...baseApiEnv({
      port: apiPort,
      metricsPort: await freePort(),
      mongoUrl: database.url,
      dbName,
      sessionSecret,
      admin,
      dataDir: join(dir, "api-data"),
      inspectorPort: 0,
    }),
    LOG_LEVEL: "warn",
  };
  let api: Service | null = null;
  const cleanup = async () => {
    await api?.stop().catch(() => {});
    await database.stop().catch(() => {});
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));

  try {
    api = await startApi("api", env, dir);
    const url = `http://127.0.0.1:${apiPort}`;
    const adminApi = await signInApi(url, admin.email, admin.password);
    await adminApi.api.workspace.reset.mutate();
    await adminApi.api.policy.update.mutate({ key: "max-concurrent-sessions", settings: { limit: 50 } });
    const workspace = (await adminApi.api.workspace.list.query()).find(
      // A web workspace: this run is about the database and the API, not about starting sandboxes.
      (candidate) => candidate.enabled && candidate.kind === "web" && candidate.allowedRoles.includes("user"),
    );
    if (!workspace) throw new Error("no web workspace for users in the default catalogue");
    const users = await seedSignedInUsers({
      mongoUrl: database.url,
      dbName,
      sessionSecret,
      count: WORKERS,
      prefix: "resilience",
    });
    log(`API pid ${api.pid} on ${url}, FerretDB pid ${database.pid} on ${database.url} (${dataDir})`);
    log(
      `${WORKERS} people each loop: dashboard read, launch, read, stop (client timeout ${CLIENT_TIMEOUT_MS / 1000} s)`,
    );

    const samples: Sample[] = [];
    const acknowledged = new Map<string, string>();
    let phase = "before";
    let running = true;

    const readiness: { at: number; ready: boolean | "refused" }[] = [];
    const readinessLoop = (async () => {
      while (running) {
        let ready: boolean | "refused";
        try {
          const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
          await response.arrayBuffer();
          ready = response.status === 200;
        } catch {
          ready = "refused";
        }
        // Stamped when the answer arrived: a check sent while the database was down may be
        // answered "ready" once it is back.
        const at = elapsed();
        const last = readiness.at(-1);
        if (!last || last.ready !== ready) readiness.push({ at, ready });
        await sleep(250);
      }
    })();

    const workerLoops = users.map((user) =>
      (async () => {
        const headers = { authorization: `Bearer ${user.token}` };
        while (running) {
          await call(url, "read", phase, headers, samples);
          const launched = await call(url, "launch", phase, headers, samples, workspace.id);
          if (launched) acknowledged.set(launched, user.email);
          await call(url, "read", phase, headers, samples);
          await call(url, "stop", phase, headers, samples, workspace.id);
          await sleep(PAUSE_MS);
        }
      })(),
    );

    await sleep(PHASE_SECONDS.before * 1000);

    phase = "database down";
    const killedAt = elapsed();
    log(`t=${killedAt.toFixed(1)} s: SIGKILL FerretDB (pid ${database.pid})`);
    process.kill(database.pid, "SIGKILL");
    await waitUntil(() => !isRunning(database.pid), 5_000);
    await sleep(PHASE_SECONDS.down * 1000);

    phase = "database restarted";
    const restartedAt = elapsed();
    database = await startLocalServer({ mode: "persistent", dataDir, port: dbPort, log: () => {} });
    const databaseUpAt = elapsed();
    log(
      `t=${restartedAt.toFixed(1)} s: FerretDB started again (pid ${database.pid}, same port and data), answering after ${(databaseUpAt - restartedAt).toFixed(1)} s`,
    );
    await sleep(PHASE_SECONDS.afterDatabase * 1000);

    phase = "API restarting";
    const apiRestartAt = elapsed();
    log(`t=${apiRestartAt.toFixed(1)} s: restarting the API (SIGTERM, then start on the same port)`);
    await api.stop();
    api = await startApi("api", env, dir);
    phase = "API restarted";
    const apiUpAt = elapsed();
    log(`t=${apiUpAt.toFixed(1)} s: API ready again (pid ${api.pid})`);
    await sleep(PHASE_SECONDS.afterApi * 1000);

    running = false;
    await Promise.all(workerLoops);
    await readinessLoop;

    // Every launch the client saw acknowledged must be stored.
    const connection = await connectDatabase({ url: database.url, dbName, ensureIndexes: false });
    const missing: string[] = [];
    try {
      for (const sessionId of acknowledged.keys()) {
        if ((await connection.db.sessions.findById(sessionId)) === null) missing.push(sessionId);
      }
    } finally {
      await connection.close();
    }
    // And the API agrees, read back as the admin.
    const adminAfter = await signInApi(url, admin.email, admin.password);
    const listed = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await adminAfter.api.session.list.query({ limit: 200, ...(cursor ? { cursor } : {}) });
      for (const session of page.items) listed.add(session.id);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const missingFromApi = [...acknowledged.keys()].filter((id) => !listed.has(id));

    const verdict = report({
      samples,
      readiness,
      acknowledged: acknowledged.size,
      missing,
      missingFromApi,
      killedAt,
      restartedAt,
      databaseUpAt,
      apiRestartAt,
      apiUpAt,
      users,
    });
    process.exitCode = verdict ? 0 : 1;
  } finally {
    await cleanup();
  }
}

/** One request with a client-side timeout; returns the session id of an acknowledged launch. */
async function call(
  url: string,
  kind: Kind,
  phase: string,
  headers: Record<string, string>,
  samples: Sample[],
  workspaceId?: string,
): Promise<string | null> {
  const at = elapsed();
  const clock = performance.now();
  let outcome: Outcome;
  let sessionId: string | null = null;
  let detail: string | undefined;
  try {
    let response: Response;
    if (kind === "read") {
      response = await fetch(url + DASHBOARD_PATH, {
        headers,
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
    } else {
      const { path, body } = batchMutation(kind === "launch" ? "workspace.launch" : "workspace.stop", {
        workspaceId,
      });
      response = await fetch(url + path, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
    }
    const text = await response.text();
    outcome = response.status;
    if (kind === "launch" && response.status === 200) {
      const [result] = decodeBatch(text);
      if (result?.ok) sessionId = (result.data as { id: string }).id;
    }
  } catch (error) {
    const name = (error as Error).name;
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    detail = cause ?? name;
    outcome =
      name === "TimeoutError" || name === "AbortError"
        ? "timeout"
        : cause === "ECONNREFUSED"
          ? "refused"
          : "error";
    if (outcome !== "refused") await sleep(50);
    else await sleep(200);
  }
  samples.push({
    phase,
    kind,
    outcome,
    ms: performance.now() - clock,
    at,
    end: elapsed(),
    ...(detail ? { detail } : {}),
  });
  return sessionId;
}

async function waitUntil(condition: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(50);
}

function report(input: {
  samples: Sample[];
  readiness: { at: number; ready: boolean | "refused" }[];
  acknowledged: number;
  missing: string[];
  missingFromApi: string[];
  killedAt: number;
  restartedAt: number;
  databaseUpAt: number;
  apiRestartAt: number;
  apiUpAt: number;
  users: SeededUser[];
}): boolean {
  const { samples } = input;
  const phases = ["before", "database down", "database restarted", "API restarting", "API restarted"];
  const columns = ["200", "503", "4xx", "5xx≠503", "timeout", "refused", "other"];
  const bucket = (outcome: Outcome) => {
    if (outcome === 200) return "200";
    if (outcome === 503) return "503";
    if (typeof outcome === "number" && outcome >= 400 && outcome < 500) return "4xx";
    if (typeof outcome === "number" && outcome >= 500) return "5xx≠503";
    if (outcome === "timeout" || outcome === "refused") return outcome;
    return "other";
  };
  const lines: string[][] = [["phase", "kind", "requests", ...columns, "max ms"]];
  for (const phase of phases) {
    for (const kind of ["read", "launch", "stop"] as const) {
      const rows = samples.filter((sample) => sample.phase === phase && sample.kind === kind);
      if (rows.length === 0) continue;
      const counts = Object.fromEntries(columns.map((column) => [column, 0]));
      for (const row of rows) counts[bucket(row.outcome)] = (counts[bucket(row.outcome)] ?? 0) + 1;
      const max = Math.max(...rows.map((row) => row.ms));
      lines.push([
        phase,
        kind,
        String(rows.length),
        ...columns.map((c) => String(counts[c])),
        String(Math.round(max)),
      ]);
    }
  }
  const widths =
    lines[0]?.map((_, column) => Math.max(...lines.map((line) => (line[column] ?? "").length))) ?? [];
  const table = lines
    .map((line) =>
      line
        .map((cell, column) =>
          column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
        )
        .join("  "),
    )
    .join("\n");
  process.stdout.write(`\n${table}\n\n`);

  const seconds = (at: number) => `t=${at.toFixed(1)} s`;
  process.stdout.write(
    `/readyz: ${input.readiness.map((entry) => `${seconds(entry.at)} ${entry.ready === "refused" ? "no answer" : entry.ready ? "ready" : "NOT ready"}`).join(" → ")}\n`,
  );

  const afterRestart = samples.filter(
    (sample) => sample.phase === "database restarted" && sample.outcome === 200,
  );
  const firstRead = afterRestart.find((sample) => sample.kind === "read");
  const firstLaunch = afterRestart.find((sample) => sample.kind === "launch");
  const sinceStart = (sample: Sample | undefined) =>
    sample ? `${(sample.at - input.restartedAt).toFixed(1)} s` : "never";
  const notReadyWhileDown = input.readiness.some(
    (entry) => entry.ready === false && entry.at >= input.killedAt && entry.at <= input.restartedAt + 0.5,
  );
  const readyAgain = input.readiness.some(
    (entry) => entry.ready === true && entry.at >= input.restartedAt && entry.at < input.apiRestartAt,
  );
  const readyAgainAt = input.readiness.find((entry) => entry.ready === true && entry.at >= input.restartedAt);
  const down = samples.filter((sample) => sample.phase === "database down");
  const fiveHundreds = samples.filter(
    (sample) => typeof sample.outcome === "number" && sample.outcome >= 500 && sample.outcome !== 503,
  );
  const hangs = samples.filter((sample) => sample.outcome === "timeout");
  const unavailable = down.filter((sample) => sample.outcome === 503).length;
  const early503 = samples.filter((sample) => sample.outcome === 503 && sample.end < input.killedAt);
  const otherErrors = [
    ...new Set(samples.filter((sample) => sample.outcome === "error").map((s) => `${s.phase}: ${s.detail}`)),
  ];
  const refusedWhileApiUp = samples.filter(
    (sample) => sample.outcome === "refused" && sample.phase !== "API restarting",
  );

  const facts = [
    `database down for ${(input.databaseUpAt - input.killedAt).toFixed(1)} s (killed at ${seconds(input.killedAt)}, restarted at ${seconds(input.restartedAt)}, answering at ${seconds(input.databaseUpAt)})`,
    `recovery without restarting the API: /readyz ready ${readyAgainAt ? `${(readyAgainAt.at - input.restartedAt).toFixed(1)} s` : "never"} after the database restart; first 200 read ${sinceStart(firstRead)}, first 200 launch ${sinceStart(firstLaunch)} after it`,
    `API restart took ${(input.apiUpAt - input.apiRestartAt).toFixed(1)} s (clients saw connection refused meanwhile, as expected)`,
    `503s answered while the database was still up: ${early503.length} (a 503 sent "before" was answered after the kill)`,
    `socket errors other than refused/timeout: ${otherErrors.length === 0 ? "none" : otherErrors.join("; ")}`,
    `acknowledged launches: ${input.acknowledged}; missing from the database: ${input.missing.length}; missing from session.list (admin): ${input.missingFromApi.length}`,
  ];
  for (const fact of facts) process.stdout.write(`- ${fact}\n`);
  process.stdout.write("\n");

  const checks: [string, boolean][] = [
    [
      `while the database was down, requests failed fast with 503 (${unavailable} of ${down.length})`,
      unavailable > 0,
    ],
    [
      `no request hung past the ${CLIENT_TIMEOUT_MS / 1000} s client timeout (${hangs.length})`,
      hangs.length === 0,
    ],
    [`no 5xx other than 503 (${fiveHundreds.length})`, fiveHundreds.length === 0],
    [
      `no connection refused while the API process was up (${refusedWhileApiUp.length})`,
      refusedWhileApiUp.length === 0,
    ],
    ["/readyz said not ready while the database was down", notReadyWhileDown],
    ["/readyz said ready again before the API was restarted", readyAgain],
    ["reads and launches succeeded again before the API was restarted", Boolean(firstRead && firstLaunch)],
    [
      `every acknowledged launch exists afterwards (${input.acknowledged - input.missing.length}/${input.acknowledged})`,
      input.missing.length === 0 && input.missingFromApi.length === 0 && input.acknowledged > 0,
    ],
  ];
  for (const [label, ok] of checks) process.stdout.write(`${ok ? "PASS" : "FAIL"}  ${label}\n`);
  if (input.missing.length > 0) process.stdout.write(`lost session ids: ${input.missing.join(", ")}\n`);
  const passed = checks.every(([, ok]) => ok);
  process.stdout.write(`\nresilience: ${passed ? "passed" : "FAILED"}\n`);
  return passed;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
