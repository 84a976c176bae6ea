import path from "node:path";
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
 * The only reader of `process.env`. Every variable is parsed once at start; a bad value stops the
 * process with a message naming the variable. The README (Configuration) documents them.
 */

/** Number of proxy hops in front of the API, or Express trust-proxy addresses/CIDRs. */
const TrustProxySchema = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .default("0")
    .transform((value, ctx) => {
      if (/^\d+$/.test(value)) return Number(value);
      const entries = value
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean);
      const named = new Set(["loopback", "linklocal", "uniquelocal"]);
      for (const entry of entries) {
        if (!named.has(entry) && !/^[0-9a-fA-F:.]+(?:\/\d{1,3})?$/.test(entry)) {
          ctx.addIssue({
            code: "custom",
            message: `"${entry}" is not a hop count, address, CIDR or loopback/linklocal/uniquelocal`,
          });
          return z.NEVER;
        }
      }
      return entries;
    }),
);

export const EnvSchema = z
  .object({
    HOST: z.preprocess(emptyAsUndefined, z.string().optional()),
    PORT: port(8080),
    METRICS_HOST: z.preprocess(emptyAsUndefined, z.string().optional()),
    METRICS_PORT: port(9464),
    METRICS_ENABLED: booleanFlag(true),
    LOG_LEVEL: logLevel,
    /** `auto`: human lines when standard output is a terminal, JSON lines otherwise. */
    LOG_FORMAT: z.preprocess(emptyAsUndefined, z.enum(["auto", "json", "pretty"]).default("auto")),
    MONGO_URL: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(/^mongodb(\+srv)?:\/\//, "a mongodb:// URL")
        .optional(),
    ),
    MONGO_DB_NAME: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,63}$/)
        .optional(),
    ),
    MONGO_POOL_SIZE: positiveInt(20, 500),
    MONGO_SERVER_SELECTION_TIMEOUT_MS: positiveInt(3000, 60_000),
    NEOSC_DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default(".neosc")),
    /** Session recordings (the `recording` policy); default `<NEOSC_DATA_DIR>/recordings`. */
    NEOSC_RECORDINGS_DIR: optionalString,
    NEOSC_PUBLIC_URL: z.preprocess(emptyAsUndefined, httpUrl.default("http://localhost:8080")),
    NEOSC_PORTAL_ORIGINS: commaList.pipe(z.array(httpUrl)),
    NEOSC_PORTAL_DIST: optionalString,
    NEOSC_TRUSTED_PROXIES: TrustProxySchema,
    NEOSC_BODY_LIMIT: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(/^\d+(b|kb|mb)$/i, "e.g. 100kb")
        .default("100kb"),
    ),
    NEOSC_ADMIN_EMAIL: z.preprocess(emptyAsUndefined, z.email().default("admin@neosc.local")),
    NEOSC_ADMIN_PASSWORD: z.preprocess(
      emptyAsUndefined,
      z.string().min(10, "at least 10 characters").max(256).optional(),
    ),
    NEOSC_SESSION_SECRET: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .refine((value) => Buffer.byteLength(value, "utf8") >= 32, "at least 32 bytes")
        .optional(),
    ),
    /**
     * Signs audit checkpoints (base64 of 32 random bytes: `openssl rand -base64 32`); every replica
     * needs the same one. Unset: a key file in NEOSC_DATA_DIR.
     */
    NEOSC_AUDIT_SIGNING_KEY: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .refine((value) => Buffer.from(value.trim(), "base64").length === 32, "base64 of exactly 32 bytes")
        .optional(),
    ),
    /** How often each replica signs a checkpoint of the audit chain's head (when it moved). */
    NEOSC_AUDIT_CHECKPOINT_INTERVAL_SECONDS: positiveInt(300, 24 * 60 * 60),
    NEOSC_SESSION_TTL_SECONDS: positiveInt(8 * 60 * 60, 30 * 24 * 60 * 60),
    NEOSC_LOGIN_MAX_FAILURES: positiveInt(5, 1000),
    NEOSC_LOGIN_MAX_FAILURES_PER_IP: positiveInt(20, 100_000),
    NEOSC_LOGIN_WINDOW_SECONDS: positiveInt(15 * 60, 24 * 60 * 60),
    NEOSC_TOTP_ISSUER: z.preprocess(emptyAsUndefined, z.string().max(64).default("NeoSC")),
    NEOSC_OIDC_ISSUER: z.preprocess(emptyAsUndefined, httpUrl.optional()),
    NEOSC_OIDC_CLIENT_ID: optionalString,
    NEOSC_OIDC_CLIENT_SECRET: optionalString,
    NEOSC_OIDC_SPA_CLIENT_ID: optionalString,
    NEOSC_OIDC_PROJECT_ID: optionalString,
    NEOSC_OIDC_ROLE_CLAIM: z.preprocess(emptyAsUndefined, z.string().default("neosc_roles")),
    NEOSC_OIDC_ALLOW_HTTP: booleanFlag(false),
    /** How long after its `iat` an ID token posted to `auth.sso` is accepted. */
    NEOSC_OIDC_ID_TOKEN_MAX_AGE_SECONDS: positiveInt(300, 3600),
    NEOSC_POMERIUM_JWKS_URL: z.preprocess(emptyAsUndefined, httpUrl.optional()),
    NEOSC_POMERIUM_AUDIENCES: commaList,
    NEOSC_POMERIUM_ISSUERS: commaList,
    NEOSC_SWEEP_INTERVAL_SECONDS: positiveInt(30, 3600),
    NEOSC_GATEWAY_URL: z.preprocess(
      emptyAsUndefined,
      z.url({ protocol: /^wss?$/, error: "a ws:// or wss:// URL" }).optional(),
    ),
    NEOSC_GATEWAY_MAX_CONNECTIONS_PER_SESSION: positiveInt(2, 16),
    /**
     * Web apps' sessions are served on `<sessionId>.<this domain>` (a wildcard DNS name and
     * certificate, e.g. `apps.portal.example.com`), or `path` for `/apps/<sessionId>/` on this
     * origin (development only). Default: `apps.localhost:<port>` when the public URL is on
     * localhost, path mode otherwise.
     */
    NEOSC_APPS_DOMAIN: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(
          /^(?:path|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?)$/i,
          "a domain such as apps.portal.example.com (with :port if not the default), or path",
        )
        .optional(),
    ),
    /** The request inspector, the default catalogue's internal web app, listens on 127.0.0.1 here (0: not started). */
    NEOSC_INSPECTOR_PORT: port(8090),
    /** This process is also a workspace host (the embedded default); off when hosts run apart. */
    NEOSC_WORKSPACE_HOST: booleanFlag(true),
    /** Sessions the in-process workspace host accepts at once. */
    NEOSC_HOST_CAPACITY: positiveInt(8, 1000),
    /**
     * Most sandboxes the workspace host keeps started ahead in all, for workspaces whose catalogue
     * entry asks for some (`warm`); each holds an idle workspace's memory. 0: none.
     */
    NEOSC_HOST_WARM_LIMIT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(100).default(4)),
    /** Shared secret of the workspace hosts' internal API (hosts running as their own processes). */
    NEOSC_HOST_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(32).optional()),
    /** Kubernetes workspaces as pods on this host: `in-cluster` or a kubeconfig path (see env-schema). */
    ...kubernetesVariables,
    NEOSC_SHUTDOWN_TIMEOUT_MS: positiveInt(10_000, 120_000),
  })
  .superRefine((env, ctx) => {
    if (env.NEOSC_OIDC_ISSUER !== undefined && env.NEOSC_OIDC_CLIENT_ID === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["NEOSC_OIDC_CLIENT_ID"],
        message: "required when NEOSC_OIDC_ISSUER is set",
      });
    }
    if (env.NEOSC_OIDC_ISSUER === undefined && env.NEOSC_OIDC_CLIENT_ID !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["NEOSC_OIDC_ISSUER"],
        message: "required when NEOSC_OIDC_CLIENT_ID is set",
      });
    }
    if (env.NEOSC_POMERIUM_JWKS_URL !== undefined && env.NEOSC_POMERIUM_AUDIENCES.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["NEOSC_POMERIUM_AUDIENCES"],
        message: "required when NEOSC_POMERIUM_JWKS_URL is set (the route hosts, comma-separated)",
      });
    }
    if (env.MONGO_URL !== undefined && env.NEOSC_SESSION_SECRET === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["NEOSC_SESSION_SECRET"],
        message: "required with MONGO_URL: every API replica must sign sessions with the same secret",
      });
    }
  })
  .transform((env) => {
    // The embedded default is one person's machine: listen on loopback unless told otherwise.
    // With MONGO_URL it runs as a service (container, pod) and must be reachable from outside.
    const listen = env.MONGO_URL === undefined ? "127.0.0.1" : "0.0.0.0";
    return { ...env, HOST: env.HOST ?? listen, METRICS_HOST: env.METRICS_HOST ?? listen };
  });

export type Env = z.infer<typeof EnvSchema>;

/** Parses a set of variables (tests pass their own); throws EnvError naming each bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const env = parseVariables(EnvSchema, source);
  // Relative folders mean "where the command was started": pnpm/npm scripts run in the
  // package folder but pass the caller's directory as INIT_CWD, so `pnpm start` at the
  // repository root keeps its data in ./.neosc there.
  const base = source.INIT_CWD?.trim() || process.cwd();
  return {
    ...env,
    NEOSC_DATA_DIR: path.resolve(base, env.NEOSC_DATA_DIR),
    NEOSC_RECORDINGS_DIR: path.resolve(
      base,
      env.NEOSC_RECORDINGS_DIR ?? path.join(env.NEOSC_DATA_DIR, "recordings"),
    ),
    NEOSC_PORTAL_DIST:
      env.NEOSC_PORTAL_DIST === undefined ? undefined : path.resolve(base, env.NEOSC_PORTAL_DIST),
  };
}

/** Reads the process environment once; on a bad value prints which variable and exits. */
export function loadEnv(): Env {
  return loadOrExit("neosc-api", () => parseEnv(process.env));
}
