import { createServer, type Server } from "node:http";
import type { ApiEvents, LaunchResult } from "@neosc/router/context";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics, served on their own internal port so `/metrics` is never reachable through
 * the public listener. Labels stay low-cardinality: the route is a tRPC procedure path or a fixed
 * route name, never a raw URL.
 */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route" | "status">;
  workspaceLaunches: Counter<"result">;
  workspaceLaunchDuration: Histogram<"result">;
  /** Commands sent to the database (one round trip each), by command name. */
  dbCommands: Counter<"command">;
  events: ApiEvents;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route (tRPC procedure or fixed route name) and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration in seconds",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const workspaceLaunches = new Counter({
    name: "workspace_launches_total",
    help: "Workspace launches by result (success, denied, error)",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  const workspaceLaunchDuration = new Histogram({
    name: "workspace_launch_duration_seconds",
    help: "Time to decide and start a workspace launch, in seconds",
    labelNames: ["result"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const dbCommands = new Counter({
    name: "db_commands_total",
    help: "Commands sent to the database (one round trip each), by command name (find, update, getMore, ...)",
    labelNames: ["command"] as const,
    registers: [registry],
  });
  const events: ApiEvents = {
    workspaceLaunched(result: LaunchResult, seconds: number) {
      workspaceLaunches.inc({ result });
      workspaceLaunchDuration.observe({ result }, seconds);
    },
  };
  return {
    registry,
    httpRequests,
    httpDuration,
    workspaceLaunches,
    workspaceLaunchDuration,
    dbCommands,
    events,
  };
}

/** The internal metrics listener: `GET /metrics` only. */
export function createMetricsServer(metrics: Metrics): Server {
  return createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    metrics.registry
      .metrics()
      .then((body) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(body))
      .catch(() => response.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"));
  });
}
