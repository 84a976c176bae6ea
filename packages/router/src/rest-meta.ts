import { PROCEDURE_ACCESS, type ProcedurePath } from "@neosc/core/permissions";
import { restRouteOf } from "@neosc/core/rest";
import type { OpenApiMeta } from "trpc-to-openapi";

export type OpenApiRouteMeta = NonNullable<OpenApiMeta["openapi"]>;

/** The status codes a caller of each kind of procedure should be ready for (problem+json bodies). */
const COMMON_ERRORS = { 400: "Invalid input", 429: "Too many requests", 503: "Database unavailable" };
const GATED_ERRORS = {
  401: "Not signed in",
  403: "Refused (role, scope or policy)",
  404: "Not found",
  409: "Conflict",
};

/** The REST route of a procedure (from `REST_ROUTES` in @neosc/core), as trpc-to-openapi meta. */
export function openApiMetaFor(path: ProcedurePath): OpenApiRouteMeta | undefined {
  const route = restRouteOf(path);
  if (route === undefined) return undefined;
  const gated = PROCEDURE_ACCESS[path] !== "public";
  const [tag = path] = path.split(".");
  return {
    method: route.method,
    path: route.path,
    summary: route.summary,
    operationId: path,
    tags: [tag],
    protect: gated,
    errorResponses: gated
      ? { ...COMMON_ERRORS, ...GATED_ERRORS }
      : { ...COMMON_ERRORS, 401: "Refused", 403: "Refused" },
  };
}
