import { config, type z } from "zod";

// zod compiles object parsers with `new Function` when it can; under a strict Content-Security-
// Policy the probe alone logs a violation, so the portal always takes the interpreted path.
config({ jitless: true });

type RawIssue = Parameters<z.core.$ZodErrorMap>[0];

/** Plain-language messages for zod's built-in checks; schema-specific messages take precedence. */
export function friendlyMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined || issue.input === null || issue.input === "") return "Required";
      return issue.expected === "number" ? "Enter a number" : undefined;
    case "too_small":
      if (issue.origin === "string")
        return Number(issue.minimum) <= 1 ? "Required" : `At least ${issue.minimum} characters`;
      if (issue.origin === "array" || issue.origin === "set") return `Choose at least ${issue.minimum}`;
      if (issue.origin === "number" || issue.origin === "int") return `Must be at least ${issue.minimum}`;
      return undefined;
    case "too_big":
      if (issue.origin === "string") return `At most ${issue.maximum} characters`;
      if (issue.origin === "array" || issue.origin === "set") return `At most ${issue.maximum} entries`;
      if (issue.origin === "number" || issue.origin === "int") return `Must be at most ${issue.maximum}`;
      return undefined;
    case "invalid_format":
      if (issue.format === "email") return "Enter a valid email address";
      if (issue.format === "url") return "Enter a valid URL, such as https://example.com";
      if (issue.format === "uuid") return "Not a valid id";
      if (issue.format === "cidrv4" || issue.format === "cidrv6")
        return "Enter a CIDR block such as 10.0.0.0/8";
      return undefined;
    case "invalid_union":
      return "Not a valid value";
    case "not_multiple_of":
      return `Must be a multiple of ${issue.divisor}`;
    case "unrecognized_keys":
      return `Unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}`;
    default:
      return undefined;
  }
}

function valueAt(values: unknown, path: readonly PropertyKey[]): unknown {
  let current = values;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

export type FieldErrors = Record<string, string[]>;

export type FormResult<T> = { success: true; data: T } | { success: false; fieldErrors: FieldErrors };

/** Parses form values with a core schema (the same one the API uses) into data or field errors. */
export function parseForm<S extends z.ZodType>(schema: S, values: unknown): FormResult<z.output<S>> {
  const result = schema.safeParse(values, { error: friendlyMessage });
  if (result.success) return { success: true, data: result.data };
  const fieldErrors: FieldErrors = {};
  // One message per field, the first zod found: a blank slug is "Required", not also "lower-case…".
  for (const issue of result.error.issues) {
    const key = issue.path.map(String).join(".") || "_form";
    const blank = issue.code !== "custom" && valueAt(values, issue.path) === "";
    fieldErrors[key] ??= [blank ? "Required" : issue.message];
  }
  return { success: false, fieldErrors };
}

/** `tags.2` → `tags`: errors on list items are shown on the list's field. */
export function collapseListErrors(errors: FieldErrors): FieldErrors {
  const out: FieldErrors = {};
  for (const [key, messages] of Object.entries(errors)) {
    const field = key.replace(/\.\d+$/, "");
    out[field] = [...new Set([...(out[field] ?? []), ...messages])];
  }
  return out;
}

/**
 * Parses a form that asks for a new password twice: `confirm` must repeat `values[password]` and
 * is left out of what the schema sees. `data` is null while any field has an error.
 */
export function parseNewPassword<S extends z.ZodType, V extends { confirm: string }>(
  schema: S,
  values: V,
  password: keyof V,
): { data: z.output<S> | null; fieldErrors: FieldErrors } {
  const { confirm, ...input } = values;
  const parsed = parseForm(schema, input);
  const fieldErrors: FieldErrors = parsed.success ? {} : { ...parsed.fieldErrors };
  if (confirm !== values[password]) fieldErrors.confirm = ["The passwords do not match"];
  const valid = parsed.success && Object.keys(fieldErrors).length === 0;
  return { data: valid ? parsed.data : null, fieldErrors };
}
