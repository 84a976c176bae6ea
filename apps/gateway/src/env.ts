import {
  booleanFlag,
  commaList,
  emptyAsUndefined,
  httpUrl,
  kubernetesVariables,
  loadOrExit,
  logLevel,
  optionalString,
  parseVariables,
  port,
  positiveInt,
} from "@neosc/core/env-schema";
import { z } from "zod";

/*
 * The gateway process's only reader of `process.env`, parsed once at start; a bad value stops the
 * process with a message naming the variable (README, Configuration, lists them).
 */

export const GatewayEnvSchema = z
  .object({
    HOST: z.preprocess(emptyAsUndefined, z.string().default("0.0.0.0")),
    PORT: port(8081),
    LOG_LEVEL: logLevel,
    MONGO_URL: z.string({ error: "required: the gateway shares the API's database" }).min(1),
    MONGO_DB_NAME: optionalString,
    /** The portal's origins: the only pages that may open gateway connections. */
    NEOSC_PORTAL_ORIGINS: commaList.pipe(z.array(httpUrl).min(1, "at least one portal origin")),
    /** The API's session secret, to check a ticket's login cookie where the cookie reaches us. */
    NEOSC_SESSION_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32).optional()),
    /** Web apps' sessions on `<sessionId>.<this domain>` (e.g. `apps.portal.example.com`); unset: none served here. */
    NEOSC_APPS_DOMAIN: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(
          /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?$/i,
          "a domain such as apps.portal.example.com",
        )
        .optional(),
    ),
    NEOSC_POMERIUM_JWKS_URL: z.preprocess(emptyAsUndefined, httpUrl.optional()),
    NEOSC_POMERIUM_AUDIENCES: commaList,
    NEOSC_POMERIUM_ISSUERS: commaList,
    NEOSC_GATEWAY_MAX_CONNECTIONS_PER_SESSION: positiveInt(2, 16),
    NEOSC_SHUTDOWN_TIMEOUT_MS: positiveInt(10_000, 120_000),
    /** This process is also a workspace host: its sandboxes run here and its gateway relays to them. */
    NEOSC_WORKSPACE_HOST: booleanFlag(false),
    /** The host's internal API as the API replicas reach it, e.g. `http://gateway-0.neosc:8081`. */
    NEOSC_HOST_URL: z.preprocess(emptyAsUndefined, httpUrl.optional()),
    NEOSC_HOST_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(32).optional()),
    /** Kubernetes workspaces as pods on this host: `in-cluster` or a kubeconfig path (see env-schema). */
    ...kubernetesVariables,
    NEOSC_HOST_CAPACITY: positiveInt(8, 1000),
    /**
     * Most sandboxes the workspace host keeps started ahead in all, for workspaces whose catalogue
     * entry asks for some (`warm`); each holds an idle workspace's memory. 0: none.
     */
    NEOSC_HOST_WARM_LIMIT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(100).default(4)),
    NEOSC_HOST_NAME: optionalString,
    /** The host's own folder (sandboxes' sessions, driver records); never shown to a sandbox. */
    NEOSC_DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default(".neosc-host")),
    /** Session recordings: the same volume the API reads (default `<NEOSC_DATA_DIR>/recordings`). */
    NEOSC_RECORDINGS_DIR: optionalString,
  })
  .superRefine((env, ctx) => {
    if (env.NEOSC_WORKSPACE_HOST) {
      for (const name of ["NEOSC_HOST_URL", "NEOSC_HOST_TOKEN"] as const) {
        if (env[name] === undefined) {
          ctx.addIssue({
            code: "custom",
            path: [name],
            message: "required when NEOSC_WORKSPACE_HOST is true",
          });
        }
      }
    }
    if (env.NEOSC_POMERIUM_JWKS_URL !== undefined && env.NEOSC_POMERIUM_AUDIENCES.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["NEOSC_POMERIUM_AUDIENCES"],
        message: "required when NEOSC_POMERIUM_JWKS_URL is set (the gateway's route host)",
      });
    }
    if (env.NEOSC_APPS_DOMAIN !== undefined && env.NEOSC_SESSION_SECRET === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["NEOSC_SESSION_SECRET"],
        message: "required when NEOSC_APPS_DOMAIN is set (it signs the web apps' session cookies)",
      });
    }
    if (env.NEOSC_POMERIUM_JWKS_URL === undefined && env.NEOSC_SESSION_SECRET === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["NEOSC_POMERIUM_JWKS_URL"],
        message:
          "set NEOSC_POMERIUM_JWKS_URL (behind Pomerium) or NEOSC_SESSION_SECRET: a ticket alone must not open a workspace",
      });
    }
  });

export type GatewayEnv = z.infer<typeof GatewayEnvSchema>;

/** Parses a set of variables (tests pass their own); throws EnvError naming each bad variable. */
export function parseGatewayEnv(source: Record<string, string | undefined>): GatewayEnv {
  return parseVariables(GatewayEnvSchema, source);
}

/** Reads the process environment once; on a bad value prints which variable and exits. */
export function loadGatewayEnv(): GatewayEnv {
  return loadOrExit("neosc-gateway", () => parseGatewayEnv(process.env));
}
