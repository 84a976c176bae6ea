import { z } from "zod";

/*
 * The gateway process's only reader of `process.env`, parsed once at start; a bad value stops the
 * process with a message naming the variable (README, Configuration, lists them).
 */

const emptyAsUndefined = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value;
const optionalString = z.preprocess(emptyAsUndefined, z.string().trim().optional());
const port = (fallback: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65_535).default(fallback));
const positiveInt = (fallback: number, max: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(max).default(fallback));
const httpUrl = z.url({ protocol: /^https?$/ });
const commaList = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .optional()
    .transform((value) =>
      (value ?? "")
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== ""),
    ),
);

export const GatewayEnvSchema = z
  .object({
    HOST: z.preprocess(emptyAsUndefined, z.string().default("0.0.0.0")),
    PORT: port(8081),
    LOG_LEVEL: z.preprocess(
      emptyAsUndefined,
      z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    ),
    MONGO_URL: z.string({ error: "required: the gateway shares the API's database" }).min(1),
    MONGO_DB_NAME: optionalString,
    /** The portal's origins: the only pages that may open gateway connections. */
    NEOSC_PORTAL_ORIGINS: commaList.pipe(z.array(httpUrl).min(1, "at least one portal origin")),
    /** The API's session secret, to check a ticket's login cookie where the cookie reaches us. */
    NEOSC_SESSION_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32).optional()),
    NEOSC_POMERIUM_JWKS_URL: z.preprocess(emptyAsUndefined, httpUrl.optional()),
    NEOSC_POMERIUM_AUDIENCES: commaList,
    NEOSC_POMERIUM_ISSUERS: commaList,
    NEOSC_GATEWAY_MAX_CONNECTIONS_PER_SESSION: positiveInt(2, 16),
    NEOSC_SHUTDOWN_TIMEOUT_MS: positiveInt(10_000, 120_000),
    /** This process is also a workspace host: its sandboxes run here and its gateway relays to them. */
    NEOSC_WORKSPACE_HOST: z.preprocess(
      emptyAsUndefined,
      z
        .enum(["true", "false", "1", "0"])
        .default("false")
        .transform((value) => value === "true" || value === "1"),
    ),
    /** The host's internal API as the API replicas reach it, e.g. `http://gateway-0.neosc:8081`. */
    NEOSC_HOST_URL: z.preprocess(emptyAsUndefined, httpUrl.optional()),
    NEOSC_HOST_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(32).optional()),
    NEOSC_HOST_CAPACITY: positiveInt(8, 1000),
    NEOSC_HOST_NAME: optionalString,
    /** The host's own folder (sandboxes' sessions, driver records); never shown to a sandbox. */
    NEOSC_DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default(".neosc-host")),
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

export class GatewayEnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  ${problem}`).join("\n")}`);
    this.name = "GatewayEnvError";
  }
}

export function parseGatewayEnv(source: Record<string, string | undefined>): GatewayEnv {
  const parsed = GatewayEnvSchema.safeParse(source);
  if (parsed.success) return parsed.data;
  throw new GatewayEnvError(
    parsed.error.issues.map(
      (issue) => `${issue.path.map(String).join(".") || "(environment)"}: ${issue.message}`,
    ),
  );
}

export function loadGatewayEnv(): GatewayEnv {
  try {
    return parseGatewayEnv(process.env);
  } catch (error) {
    if (error instanceof GatewayEnvError) {
      console.error(`neosc-gateway: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}
