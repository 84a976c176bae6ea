import { domainErrorData, type ErrorData } from "@neosc/core/errors";
import { PROCEDURE_ACCESS, type ProcedurePath } from "@neosc/core/permissions";
import { initTRPC } from "@trpc/server";
import type { TRPCErrorShape } from "@trpc/server/rpc";
import superjson from "superjson";
import type { InnerContext } from "./context.ts";
import { describeInputErrors, domainErrorOf, flattenInputErrors, toTRPCError } from "./errors.ts";
import { requireIdentity } from "./middleware/require-identity.ts";
import { enforceRole } from "./middleware/require-role.ts";
import { withApiTokenScope } from "./middleware/require-token-scope.ts";
import { type OpenApiRouteMeta, openApiMetaFor } from "./rest-meta.ts";

// A type alias, not an interface: trpc-to-openapi needs meta assignable to Record<string, unknown>.
export type ProcedureMeta = {
  /** The permission-table entry the procedure was built from. */
  path?: ProcedurePath;
  /** Its REST route (`REST_ROUTES`), read by trpc-to-openapi. */
  openapi?: OpenApiRouteMeta;
};

const t = initTRPC
  .context<InnerContext>()
  .meta<ProcedureMeta>()
  .create({
    transformer: superjson,
    isDev: false,
    // `TRPCErrorShape<ErrorData>` is @neosc/core's `ErrorShape` with tRPC's own JSON-RPC codes.
    errorFormatter({ shape, error }): TRPCErrorShape<ErrorData> {
      const domain = domainErrorOf(error);
      const zod = error.code === "BAD_REQUEST" && domain === null ? flattenInputErrors(error.cause) : null;
      let message = shape.message;
      if (error.code === "INTERNAL_SERVER_ERROR") message = "Internal server error";
      else if (zod !== null) message = describeInputErrors(zod);
      return {
        message,
        code: shape.code,
        data: {
          code: shape.data.code,
          httpStatus: shape.data.httpStatus,
          path: shape.data.path,
          zod,
          domain: domain === null ? null : domainErrorData(domain),
        },
      };
    },
  });

export const router = t.router;
export const middleware = t.middleware;
export const createCallerFactory = t.createCallerFactory;

/**
 * Any caller. Errors leave every procedure through the one adapter in `errors.ts`. The clock is
 * read once per call: every check, deadline and timestamp of one procedure agrees on "now".
 */
export const publicProcedure = t.procedure.use(async ({ ctx, next }) => {
  const now = ctx.clock().getTime();
  const result = await next({ ctx: { clock: () => new Date(now) } });
  if (!result.ok) throw toTRPCError(result.error);
  return result;
});

/** Signed-in callers; handlers get a non-null `ctx.identity`. */
export const authedProcedure = publicProcedure.use(({ ctx, next }) =>
  next({ ctx: { identity: requireIdentity(ctx) } }),
);

type PublicPath = {
  [P in ProcedurePath]: (typeof PROCEDURE_ACCESS)[P] extends "public" ? P : never;
}[ProcedurePath];
type GatedPath = Exclude<ProcedurePath, PublicPath>;

/**
 * The builder for one procedure, gated by its entry in `PROCEDURE_ACCESS`: public paths need no
 * identity; the others need a signed-in caller with at least the listed role.
 */
export function procedureFor(path: PublicPath): typeof publicProcedure;
export function procedureFor(path: GatedPath): typeof authedProcedure;
export function procedureFor(path: ProcedurePath): typeof publicProcedure | typeof authedProcedure {
  const access = PROCEDURE_ACCESS[path];
  const openapi = openApiMetaFor(path);
  const meta: ProcedureMeta = openapi === undefined ? { path } : { path, openapi };
  if (access === "public") return publicProcedure.meta(meta);
  return authedProcedure.meta(meta).use(async ({ ctx, next, type }) => {
    const gate = async () => {
      await enforceRole(ctx, path, access);
      return next();
    };
    const token = ctx.identity.apiToken;
    return token === undefined ? gate() : withApiTokenScope(ctx, token, { path, type }, gate);
  });
}
