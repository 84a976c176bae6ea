import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import type { Row } from "./load.ts";
import { type ProcedureSummary, round, Samples } from "./stats.ts";

export interface ModelUser {
  /** Headers that identify this person (a bearer token of their own login session). */
  headers: Record<string, string>;
  workspaceId: string;
}

export interface UserModelSpec {
  name: string;
  url: string;
  users: ModelUser[];
  /** Length of the observed window. */
  seconds: number;
  thinkSeconds: number;
  cycleSeconds: number;
  /** How long a launched session stays up before the person stops it. */
  holdSeconds: number;
  dashboard: { path: string };
  launch: (user: ModelUser) => { path: string; body: string };
  stop: (user: ModelUser) => { path: string; body: string };
  timeoutMs?: number;
}

type Kind = "dashboard" | "launch" | "stop";
interface Event {
  at: number;
  user: number;
  kind: Kind;
}

/**
 * Open-loop user model: every person loads the dashboard every `thinkSeconds` (random phase) and
 * launches a workspace once per `cycleSeconds` (random phase), stopping it `holdSeconds` later.
 * Requests go out at their scheduled time whether or not earlier ones were answered, and latency
 * is measured from the scheduled time, so a server that falls behind shows it (no coordinated
 * omission). The window is a slice of the steady state: the arrival rates per second are those of
 * the full model (N/think dashboards, N/cycle launches), only the observation is shorter.
 */
export async function runUserModel(spec: UserModelSpec): Promise<Row> {
  const events: Event[] = [];
  const windowMs = spec.seconds * 1000;
  spec.users.forEach((_user, index) => {
    for (let at = Math.random() * spec.thinkSeconds * 1000; at < windowMs; at += spec.thinkSeconds * 1000) {
      events.push({ at, user: index, kind: "dashboard" });
    }
    const launchAt = Math.random() * spec.cycleSeconds * 1000;
    if (launchAt < windowMs) {
      events.push({ at: launchAt, user: index, kind: "launch" });
      const stopAt = launchAt + spec.holdSeconds * 1000;
      if (stopAt < windowMs) events.push({ at: stopAt, user: index, kind: "stop" });
    }
  });
  events.sort((a, b) => a.at - b.at);

  const agent = new Agent({ keepAlive: true, maxSockets: 2048 });
  const target = new URL(spec.url);
  const samples: Record<Kind, Samples> = {
    dashboard: new Samples(),
    launch: new Samples(),
    stop: new Samples(),
  };
  const inFlight = new Set<Promise<void>>();
  // Like the portal's query cache, a person never has two dashboard loads in flight: a refresh
  // that comes due while the previous one is still pending is skipped (and counted).
  const loading = new Set<number>();
  let skipped = 0;
  const fire = (event: Event, scheduled: number) => {
    const user = spec.users[event.user] as ModelUser;
    if (event.kind === "dashboard") {
      if (loading.has(event.user)) {
        skipped += 1;
        return;
      }
      loading.add(event.user);
    }
    const call =
      event.kind === "dashboard"
        ? { method: "GET", path: spec.dashboard.path, body: undefined }
        : { method: "POST", ...(event.kind === "launch" ? spec.launch(user) : spec.stop(user)) };
    const promise = send(
      agent,
      target,
      call.method,
      call.path,
      call.body,
      user.headers,
      spec.timeoutMs ?? 10_000,
    ).then((status) => {
      samples[event.kind].record(performance.now() - scheduled, status);
      if (event.kind === "dashboard") loading.delete(event.user);
    });
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };

  const started = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now() - started;
      while (next < events.length && (events[next] as Event).at <= now) {
        const event = events[next] as Event;
        fire(event, started + event.at);
        next += 1;
      }
      if (next >= events.length && now >= windowMs) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1000;

  agent.destroy();

  const procedures: Record<string, ProcedureSummary> = {};
  const statuses: Record<string, number> = {};
  let requests = 0;
  let errors = 0;
  for (const [kind, s] of Object.entries(samples)) {
    const summary = s.summary();
    procedures[kind] = summary;
    requests += summary.count;
    errors += summary.errors;
    for (const [status, count] of Object.entries(summary.statuses)) {
      statuses[status] = (statuses[status] ?? 0) + count;
    }
  }
  const dashboard = procedures.dashboard as ProcedureSummary;
  return {
    scenario: "2 user model",
    name: spec.name,
    connections: "pooled",
    seconds: round(elapsed, 1),
    requests,
    rps: round(requests / elapsed, 0),
    p50: dashboard.p50,
    p99: dashboard.p99,
    timeoutMs: spec.timeoutMs ?? 10_000,
    errors,
    statuses,
    procedures,
    ...(skipped > 0
      ? { note: `${skipped} dashboard refreshes skipped: that person's previous load was still pending` }
      : {}),
  };
}

function send(
  agent: Agent,
  target: URL,
  method: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<number | "timeout" | "error"> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: number | "timeout" | "error") => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method,
        path,
        headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      },
      (response) => {
        response.resume();
        response.on("end", () => finish(response.statusCode ?? 0));
        response.on("error", () => finish("error"));
      },
    );
    // An absolute deadline from the moment the person sends it, including any wait for a socket.
    const deadline = setTimeout(() => {
      finish("timeout");
      req.destroy();
    }, timeoutMs);
    req.on("error", () => finish("error"));
    req.end(body);
  });
}
