import { createRequire } from "node:module";
import path from "node:path";
import type { DomainErrorData, ErrorData, RestProblem } from "@neosc/core/errors";
import type { InnerContext } from "@neosc/router/context";
import { describeInputErrors } from "@neosc/router/errors";
import { openApiDocument } from "@neosc/router/openapi-document";
import { appRouter } from "@neosc/router/root";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import { createOpenApiExpressMiddleware } from "trpc-to-openapi";

/*
 * The REST face of the procedures under `/api` (paths and verbs in @neosc/core `REST_ROUTES`),
 * served by trpc-to-openapi from the same router as `/trpc`: one implementation, plain JSON
 * (dates as ISO strings, no superjson). Also the OpenAPI document and its reference page.
 *
 * REST never reads the portal's session cookie: callers authenticate with a bearer token (an API
 * token or a session token from POST /api/auth/login), so there is no cookie for a cross-site page
 * to ride on and no CSRF check to make.
 */

export interface RestOptions {
  createContext: (req: Request, res: Response) => Promise<InnerContext>;
  bodyLimitBytes: number;
  logger: Logger;
  version: string;
}

const STATUS_TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** An error answer of trpc-to-openapi (our error formatter's shape), or a stand-in for one. */
interface ErrorBody {
  message?: unknown;
  code?: unknown;
  data?: Partial<Pick<ErrorData, "zod" | "domain">>;
}

/** A reason for answers that carry none (body-parser refusals, unknown routes). */
function fallbackReason(status: number): DomainErrorData {
  const reason =
    status === 400 || status === 413 || status === 415
      ? "invalid_input"
      : status === 401
        ? "not_authenticated"
        : status === 404
          ? "not_found"
          : status === 503
            ? "database_unavailable"
            : "conflict";
  return { reason, details: null, retryAfterSeconds: null };
}

export function problemOf(status: number, body: ErrorBody, requestId: string | null): RestProblem {
  const zod = body.data?.zod ?? null;
  const domain =
    body.data?.domain ??
    (zod !== null
      ? { reason: "invalid_input", details: null, retryAfterSeconds: null }
      : fallbackReason(status));
  // Written out in the documented key order (README); reason and details come from one
  // DomainErrorData, so the pair stays one member of the union.
  return {
    type: `urn:neosc:problem:${domain.reason}`,
    title: STATUS_TITLES[status] ?? "Error",
    status,
    detail:
      status >= 500 && status !== 503
        ? "Internal server error"
        : zod !== null
          ? describeInputErrors(zod)
          : String(body.message ?? "Error"),
    code: typeof body.code === "string" ? body.code : "INTERNAL_SERVER_ERROR",
    reason: domain.reason,
    details: domain.details,
    fieldErrors: zod?.fieldErrors ?? {},
    formErrors: zod?.formErrors ?? [],
    retryAfterSeconds: domain.retryAfterSeconds,
    requestId,
  } as RestProblem;
}

function sendProblem(response: Response, problem: RestProblem) {
  response.locals.problemSent = true;
  response.status(problem.status);
  response.setHeader("Content-Type", "application/problem+json");
  response.end(JSON.stringify(problem));
}

/**
 * trpc-to-openapi writes errors as `{ message, code, data }` (our error formatter's shape) with
 * `application/json`; this turns every error answer into problem+json before it leaves.
 */
function problemJson(_request: Request, response: Response, next: NextFunction) {
  const end = response.end.bind(response) as (chunk?: unknown) => Response;
  response.end = ((chunk?: unknown) => {
    if (
      response.statusCode < 400 ||
      typeof chunk !== "string" ||
      response.headersSent ||
      response.locals.problemSent === true
    )
      return end(chunk);
    let body: ErrorBody = {};
    try {
      body = JSON.parse(chunk) as ErrorBody;
    } catch {
      // keep the empty body: the status still says what happened
    }
    const problem = problemOf(response.statusCode, body, String(response.locals.requestId ?? "") || null);
    response.setHeader("Content-Type", "application/problem+json");
    if (problem.retryAfterSeconds !== null)
      response.setHeader("Retry-After", String(problem.retryAfterSeconds));
    return end(JSON.stringify(problem));
  }) as Response["end"];
  next();
}

const REFERENCE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NeoSC API reference</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

// A separate script, not an inline one: the CSP allows only 'self' scripts.
const REFERENCE_INIT = `window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  tryItOutEnabled: false,
});
`;

function swaggerUiAssets(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve("swagger-ui-dist/package.json"));
}

export function createRestApi(options: RestOptions): express.Router {
  const rest = express.Router();
  const document = JSON.stringify(openApiDocument({ baseUrl: "/api", version: options.version }));

  rest.get("/openapi.json", (_request, response) => {
    response.locals.route = "rest.openapi";
    response.setHeader("Content-Type", "application/json");
    response.setHeader("Cache-Control", "no-cache");
    response.end(document);
  });
  rest.get(["/docs", "/docs/"], (_request, response) => {
    response.locals.route = "rest.docs";
    response.setHeader("Content-Type", "text/html; charset=utf-8");
    response.setHeader("Cache-Control", "no-cache");
    response.end(REFERENCE_PAGE);
  });
  rest.get("/docs/init.js", (_request, response) => {
    response.locals.route = "rest.docs";
    response.setHeader("Content-Type", "text/javascript; charset=utf-8");
    response.end(REFERENCE_INIT);
  });
  rest.use(
    "/docs/assets",
    (_request, response, next) => {
      response.locals.route = "rest.docs";
      next();
    },
    express.static(swaggerUiAssets(), { index: false, maxAge: "1d", fallthrough: false }),
  );

  rest.use(
    (request, response, next) => {
      response.locals.route = "rest";
      response.setHeader("Cache-Control", "no-store");
      delete request.headers.cookie;
      // A bodiless POST (launch, disconnect) needs no Content-Type; the input is in the path.
      const length = request.headers["content-length"];
      if (request.headers["content-type"] === undefined && (length === undefined || length === "0")) {
        request.headers["content-type"] = "application/json";
      }
      next();
    },
    problemJson,
    express.json({ limit: options.bodyLimitBytes, strict: false }),
    createOpenApiExpressMiddleware({
      router: appRouter,
      maxBodySize: options.bodyLimitBytes,
      createContext: ({ req, res }) => options.createContext(req, res),
      onError({ error, path: procedure, req }) {
        if (error.code === "INTERNAL_SERVER_ERROR") {
          options.logger.error(
            { err: error.cause ?? error, procedure, reqId: (req as Request).res?.locals.requestId },
            "procedure failed",
          );
        }
      },
    }),
  );

  // Body-parser refusals (malformed JSON, too large) arrive here as errors with a status.
  rest.use((error: unknown, _request: Request, response: Response, next: NextFunction) => {
    const requestId = String(response.locals.requestId ?? "") || null;
    const status =
      typeof error === "object" && error !== null && "status" in error && typeof error.status === "number"
        ? error.status
        : 500;
    if (status >= 500 || response.headersSent) {
      next(error);
      return;
    }
    const message =
      status === 413 ? "Request body too large" : status === 400 ? "Malformed JSON body" : "Request refused";
    sendProblem(
      response,
      problemOf(status, { message, code: status === 413 ? "PAYLOAD_TOO_LARGE" : "PARSE_ERROR" }, requestId),
    );
  });
  return rest;
}
