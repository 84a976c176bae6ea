import { performance } from "node:perf_hooks";
import autocannon, { type Client, type Request, type RequestParams } from "autocannon";
import { type ProcedureSummary, round, Samples } from "./stats.ts";

/** One request of a connection's loop, tagged with the procedure(s) it calls. */
export interface Step {
  procedure: string;
  method: "GET" | "POST";
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadSpec {
  scenario: string;
  name: string;
  url: string;
  connections: number;
  durationSeconds: number;
  /** The loop each connection runs; index = connection number (each can carry its own token). */
  stepsFor: (connection: number) => Step[];
  timeoutSeconds?: number;
}

export interface Row {
  /** The database engine of the stack that answered (ceilings: none). */
  engine?: string;
  scenario: string;
  name: string;
  connections: number | string;
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  statuses: Record<string, number>;
  procedures?: Record<string, ProcedureSummary>;
  /** Percentiles at this value are lower bounds: those requests hit the client timeout. */
  timeoutMs?: number;
  ratioToBare?: number;
  ratioToHello?: number;
  /**
   * Documents in the main collections when the row started: on FerretDB (SQLite) any query not
   * by `_id` scans its whole collection, so these sizes explain much of the latency.
   */
  dataAtStart?: { users: number; sessions: number; audit: number };
  /** How long the API needed, before this row, to answer a dashboard promptly again. */
  waitedForApiSeconds?: number;
  /** CPU (utime + stime) of the serving process during the row, per request, in ms. */
  apiCpuMsPerRequest?: number;
  /** CPU of the database processes (FerretDB and, on PostgreSQL, its server and backends), per request, in ms. */
  dbCpuMsPerRequest?: number;
  /** Of which FerretDB (or mongod), per request, in ms. */
  ferretDbCpuMsPerRequest?: number;
  /** Of which PostgreSQL's postmaster and backends (on the postgresql engine), per request, in ms. */
  backendCpuMsPerRequest?: number;
  /** cores × 1000 ms ÷ (API + database CPU ms per request): req/s if CPU were all that limited it. */
  cpuCeilingRps?: number;
  /** Database commands the API sent (its `db_commands_total`) per request: round trips. */
  dbRoundTripsPerRequest?: number;
  note?: string;
}

/**
 * Closed-loop saturation with autocannon: `connections` keep-alive connections, each sending its
 * next request as soon as the previous one is answered. Latency per procedure is measured from
 * the moment autocannon builds a request (just before it writes it) to its response.
 */
export async function runLoad(spec: LoadSpec): Promise<Row> {
  const perProcedure = new Map<string, Samples>();
  const samplesOf = (procedure: string) => {
    let samples = perProcedure.get(procedure);
    if (!samples) {
      samples = new Samples();
      perProcedure.set(procedure, samples);
    }
    return samples;
  };
  const all = new Samples();
  let connection = 0;
  // Per-procedure timing rebuilds every request in the load generator (it shares the CPU), so it
  // is only switched on for loops of several procedures.
  const perStep = spec.stepsFor(0).length > 1;
  const toRequests = (steps: Step[]): Request[] =>
    steps.map((step, index) => ({
      method: step.method,
      path: step.path,
      ...(step.body === undefined ? {} : { body: step.body }),
      headers: {
        ...(step.body === undefined ? {} : { "content-type": "application/json" }),
        ...step.headers,
      },
      ...(perStep
        ? {
            setupRequest: (request: RequestParams, context: Record<string, unknown>) => {
              context[`t${index}`] = performance.now();
              return request;
            },
            onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
              const started = context[`t${index}`];
              if (typeof started === "number")
                samplesOf(step.procedure).record(performance.now() - started, status);
            },
          }
        : {}),
    }));

  const instance = autocannon({
    url: spec.url,
    title: `${spec.scenario} ${spec.name}`,
    connections: spec.connections,
    duration: spec.durationSeconds,
    timeout: spec.timeoutSeconds ?? 10,
    requests: toRequests(spec.stepsFor(0)),
    setupClient: (client: Client) => {
      client.setRequests(toRequests(spec.stepsFor(connection)));
      connection += 1;
    },
  });
  instance.on("response", (_client: Client, status: number, _bytes: number, ms: number) => {
    all.record(ms, status);
  });
  const result = await instance;
  const statuses: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) statuses[status] = count;
  if (result.timeouts > 0) statuses.timeout = result.timeouts;
  const otherErrors = result.errors - result.timeouts;
  if (otherErrors > 0) statuses.error = otherErrors;
  const requests = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  // A request that timed out took at least the timeout: count it there, so the percentiles of
  // an overloaded row are not computed from its few lucky answers only.
  const timeoutMs = (spec.timeoutSeconds ?? 10) * 1000;
  for (let index = 0; index < result.timeouts; index += 1) all.record(timeoutMs, "timeout");
  const overall = all.summary();
  const procedures: Record<string, ProcedureSummary> = {};
  for (const [name, samples] of perProcedure) procedures[name] = samples.summary();
  return {
    scenario: spec.scenario,
    name: spec.name,
    connections: spec.connections,
    seconds: round(result.duration, 1),
    requests,
    rps: round(requests / result.duration, 0),
    p50: overall.p50,
    p99: overall.p99,
    timeoutMs,
    errors: result.non2xx + result.errors,
    statuses,
    ...(perProcedure.size > 1 ? { procedures } : {}),
  };
}
