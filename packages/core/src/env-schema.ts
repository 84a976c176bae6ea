import { z } from "zod";

/*
 * The pieces every process's `env.ts` builds its schema from, so that the API and the gateway
 * read a variable the same way: an empty value counts as unset, a bad value names the variable.
 * Only the apps' `env.ts` files read `process.env`; they hand it to these.
 */

export const emptyAsUndefined = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value;

export const optionalString = z.preprocess(emptyAsUndefined, z.string().trim().optional());

export const port = (fallback: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65_535).default(fallback));

export const positiveInt = (fallback: number, max: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(max).default(fallback));

export const booleanFlag = (fallback: boolean) =>
  z.preprocess(
    emptyAsUndefined,
    z
      .enum(["true", "false", "1", "0", "yes", "no", "on", "off"])
      .default(fallback ? "true" : "false")
      .transform((value) => ["true", "1", "yes", "on"].includes(value)),
  );

/** `a, b,,c` → ["a", "b", "c"]; unset → []. */
export const commaList = z.preprocess(
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

export const httpUrl = z.url({ protocol: /^https?$/ });

export const logLevel = z.preprocess(
  emptyAsUndefined,
  z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
);

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  ${problem}`).join("\n")}`);
    this.name = "EnvError";
  }
}

/** Parses a set of variables with `schema`; throws EnvError naming each bad variable. */
export function parseVariables<Schema extends z.ZodType>(
  schema: Schema,
  source: Record<string, string | undefined>,
): z.output<Schema> {
  const parsed = schema.safeParse(source);
  if (parsed.success) return parsed.data;
  throw new EnvError(
    parsed.error.issues.map(
      (issue) => `${issue.path.map(String).join(".") || "(environment)"}: ${issue.message}`,
    ),
  );
}

/** Runs a process's parse once at start; on a bad value prints which variable and exits. */
export function loadOrExit<Env>(program: string, parse: () => Env): Env {
  try {
    return parse();
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`${program}: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * A workspace host that runs Kubernetes workspaces as pods (the API's embedded host and the
 * gateway's read the same variables): `NEOSC_KUBERNETES` is `in-cluster` (the pod's service
 * account, as deploy/k8s runs the gateway) or the path of a kubeconfig file; unset, no
 * Kubernetes driver.
 */
export const kubernetesVariables = {
  NEOSC_KUBERNETES: optionalString,
  /** Where session pods run (deploy/k8s/workspaces.yaml). */
  NEOSC_KUBERNETES_NAMESPACE: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "a namespace name (lower-case letters, digits, dashes)")
      .default("neosc-workspaces"),
  ),
  /** How long a launch waits for its pod to be ready before it is refused. */
  NEOSC_KUBERNETES_READY_TIMEOUT_SECONDS: positiveInt(120, 900),
};
