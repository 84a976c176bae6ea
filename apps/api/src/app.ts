import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { type ErrorData, isDomainError } from "@neosc/core/errors";
import { PROCEDURE_PATHS } from "@neosc/core/permissions";
import { appsSource } from "@neosc/core/web-app";
import type { Database } from "@neosc/db/database";
import type { RouterConfig, Services } from "@neosc/router/context";
import { asDomainError } from "@neosc/router/errors";
import { appRouter } from "@neosc/router/root";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import compression from "compression";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import { createHttpContext } from "./context.ts";
import {
  CSRF_HEADER,
  checkCsrf,
  cors,
  isHttps,
  type SecurityOptions,
  securityHeaders,
} from "./http-security.ts";
import type { Metrics } from "./metrics.ts";
import { createRestApi } from "./rest.ts";

export interface HttpOptions {
  publicUrl: URL;
  /** Browser origins (besides the public URL's) that may call `/trpc` with credentials. */
  portalOrigins: readonly string[];
  /** Express `trust proxy`: hop count or trusted addresses/CIDRs. */
  trustProxy: number | readonly string[];
  bodyLimitBytes: number;
  /** OIDC issuer the SPA talks to directly (CSP connect-src/form-action), if SSO is configured. */
  oidcIssuer: string | null;
  /** Built portal (`apps/portal/dist`); served with SPA fallback when it exists. */
  portalDist: string | null;
}

export interface AppOptions {
  db: Database;
  /** Throws when the database does not answer. */
  ping: () => Promise<void>;
  /** True once shutdown began: /readyz then sends traffic elsewhere. */
  isDraining: () => boolean;
  services: Omit<Services, "events" | "responseCookies">;
  routerConfig: RouterConfig;
  http: HttpOptions;
  logger: Logger;
  metrics: Metrics;
  clock?: () => Date;
}

const KNOWN_PROCEDURES: ReadonlySet<string> = new Set(PROCEDURE_PATHS);
/** The API's version in the OpenAPI document. */
const API_VERSION = "0.1.0";
const REQUEST_ID = /^[\w.-]{1,64}$/;

/** A bounded label for metrics: the procedure path, `trpc.batch`, or a fixed route name. */
function trpcRouteLabel(requestPath: string): string {
  const paths = decodeURIComponent(requestPath.replace(/^\/+/, "")).split(",");
  if (paths.length > 1) return paths.every((p) => KNOWN_PROCEDURES.has(p)) ? "trpc.batch" : "trpc.unknown";
  const single = paths[0] ?? "";
  return KNOWN_PROCEDURES.has(single) ? single : "trpc.unknown";
}

/** A refusal made before the router, in the router's error shape (superjson envelope). */
function jsonError(
  response: Response,
  status: number,
  code: string,
  message: string,
  reason: "csrf_rejected",
) {
  const data: ErrorData = {
    code,
    httpStatus: status,
    domain: { reason, details: null, retryAfterSeconds: null },
    zod: null,
  };
  response.status(status).json({
    error: { json: { message, code: status === 403 ? -32003 : -32000, data } },
  });
}

export function createApp(options: AppOptions): express.Express {
  const { db, services, routerConfig, http, logger, metrics } = options;
  const clock = options.clock ?? (() => new Date());
  const secure = isHttps(http);
  const security: SecurityOptions = {
    publicUrl: http.publicUrl,
    allowedOrigins: new Set([
      http.publicUrl.origin,
      ...http.portalOrigins.map((origin) => new URL(origin).origin),
    ]),
    connectOrigins: http.oidcIssuer === null ? [] : [new URL(http.oidcIssuer).origin],
    appOrigins: routerConfig.apps === undefined ? [] : [appsSource(routerConfig.apps)],
  };

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", typeof http.trustProxy === "number" ? http.trustProxy : [...http.trustProxy]);
  app.set("etag", false);

  // While shutting down, every answer — also to requests already in flight — tells a keep-alive
  // client to reconnect (to another replica) instead of holding this process to the force timeout.
  app.use((_request, response, next) => {
    const writeHead = response.writeHead;
    response.writeHead = function writeHeadDraining(
      this: Response,
      ...args: Parameters<Response["writeHead"]>
    ) {
      if (options.isDraining()) this.setHeader("Connection", "close");
      return writeHead.apply(this, args);
    } as Response["writeHead"];
    next();
  });

  app.use((request, response, next) => {
    const incoming = request.get("x-request-id");
    const id = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    response.locals.requestId = id;
    response.locals.route = "not_found";
    response.setHeader("X-Request-Id", id);
    const started = process.hrtime.bigint();
    response.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = {
        method: request.method,
        route: String(response.locals.route),
        status: String(response.statusCode),
      };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
      const entry = {
        reqId: id,
        method: request.method,
        path: request.originalUrl.split("?")[0],
        route: labels.route,
        status: response.statusCode,
        ms: Math.round(seconds * 1000),
        ip: request.ip,
      };
      if (response.statusCode >= 500) logger.warn(entry, "request failed");
      else logger.info(entry, "request");
    });
    next();
  });
  app.use(securityHeaders(security));

  app.get("/healthz", (_request, response) => {
    response.locals.route = "healthz";
    response.json({ status: "ok" });
  });

  app.get("/readyz", async (_request, response) => {
    response.locals.route = "readyz";
    if (options.isDraining()) {
      response.status(503).json({ status: "unavailable", reason: "shutting_down" });
      return;
    }
    try {
      await options.ping();
      response.json({ status: "ready" });
    } catch (error) {
      logger.warn({ err: error }, "readiness check failed");
      response.status(503).json({ status: "unavailable", reason: "database_unavailable" });
    }
  });

  const createContext = (req: Request, res: Response) =>
    createHttpContext(
      { db, clock, config: routerConfig, services: { ...services, events: metrics.events }, secure },
      req,
      res,
    );

  app.use(
    "/api",
    createRestApi({ createContext, bodyLimitBytes: http.bodyLimitBytes, logger, version: API_VERSION }),
  );

  app.use(
    "/trpc",
    (request, response, next) => {
      response.locals.route = trpcRouteLabel(request.path);
      response.setHeader("Cache-Control", "no-store");
      next();
    },
    cors(security),
    (request, response, next) => {
      const verdict = checkCsrf(request, security);
      if (verdict.ok) {
        next();
        return;
      }
      logger.info({ reqId: response.locals.requestId, why: verdict.why }, "csrf rejected");
      jsonError(
        response,
        403,
        "FORBIDDEN",
        `Request refused (send JSON from an allowed origin, or the ${CSRF_HEADER} header)`,
        "csrf_rejected",
      );
    },
    createExpressMiddleware({
      router: appRouter,
      maxBodySize: http.bodyLimitBytes,
      createContext: ({ req, res }) => createContext(req, res),
      responseMeta({ errors }) {
        const retryAfter = errors
          .map((error) => asDomainError(error.cause)?.retryAfterSeconds)
          .find((seconds): seconds is number => seconds !== undefined);
        return retryAfter === undefined ? {} : { headers: { "Retry-After": String(retryAfter) } };
      },
      onError({ error, path: procedure, req }) {
        const cause = error.cause;
        if (error.code === "INTERNAL_SERVER_ERROR") {
          logger.error(
            { err: cause ?? error, procedure, reqId: req.res?.locals.requestId },
            "procedure failed",
          );
        } else if (error.code === "SERVICE_UNAVAILABLE") {
          logger.warn(
            { procedure, reason: isDomainError(cause) ? cause.reason : null },
            "procedure unavailable",
          );
        }
      },
    }),
  );

  if (http.portalDist !== null && existsSync(path.join(http.portalDist, "index.html"))) {
    const dist = http.portalDist;
    // Only the portal's files are compressed (the sign-in page shrinks about 3x); API answers
    // are small and latency-bound, so they skip the CPU cost.
    const compressPortal = compression();
    app.use(
      "/assets",
      compressPortal,
      (_request, response, next) => {
        response.locals.route = "static";
        next();
      },
      express.static(path.join(dist, "assets"), {
        immutable: true,
        maxAge: "1y",
        fallthrough: false,
        index: false,
      }),
    );
    app.use(
      compressPortal,
      (_request, response, next) => {
        response.locals.route = "static";
        next();
      },
      express.static(dist, { index: false, maxAge: "1h" }),
    );
    app.get(/.*/, (request, response, next) => {
      if (!request.accepts("html")) {
        next();
        return;
      }
      response.locals.route = "spa";
      response.setHeader("Cache-Control", "no-cache");
      response.sendFile(path.join(dist, "index.html"));
    });
  }

  app.use((_request, response) => {
    response.locals.route = "not_found";
    response.status(404).json({ error: "not_found" });
  });

  app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    const status =
      typeof error === "object" && error !== null && "status" in error && typeof error.status === "number"
        ? error.status
        : 500;
    if (status >= 500) logger.error({ err: error }, "unhandled error");
    if (!response.headersSent)
      response.status(status).json({ error: status >= 500 ? "internal_error" : "bad_request" });
  });

  return app;
}
