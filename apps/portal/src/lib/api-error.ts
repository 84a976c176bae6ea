import { type DomainErrorData, type InputErrors, REASONS, type Reason } from "@neosc/core/errors";

/** Everything the portal needs from a failed call, whatever threw it. */
export interface ApiError extends InputErrors {
  message: string;
  /** tRPC error code (`FORBIDDEN`, `UNAUTHORIZED`, ...) or null for network failures. */
  code: string | null;
  domain: DomainErrorData | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isReason(value: unknown): value is Reason {
  return typeof value === "string" && (REASONS as readonly string[]).includes(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/**
 * Reads `error.data` as the API's error formatter shapes it (`ErrorData` of @neosc/core/errors), tolerating
 * anything else (network failures, proxies answering HTML). Hand-written so the sign-in page
 * does not need zod.
 */
export function readApiError(error: unknown): ApiError {
  const message =
    error instanceof Error && error.message ? error.message : "Something went wrong. Please try again.";
  const data = isRecord(error) && isRecord(error.data) ? error.data : {};
  const code = typeof data.code === "string" ? data.code : null;

  let domain: DomainErrorData | null = null;
  if (isRecord(data.domain) && isReason(data.domain.reason)) {
    // The server builds details from `ReasonDetails`, so a known reason's details have its type.
    domain = {
      reason: data.domain.reason,
      details: isRecord(data.domain.details) ? data.domain.details : null,
      retryAfterSeconds:
        typeof data.domain.retryAfterSeconds === "number" ? data.domain.retryAfterSeconds : null,
    } as DomainErrorData;
  }

  const fieldErrors: Record<string, string[]> = {};
  let formErrors: string[] = [];
  if (isRecord(data.zod)) {
    formErrors = strings(data.zod.formErrors);
    if (isRecord(data.zod.fieldErrors)) {
      for (const [field, messages] of Object.entries(data.zod.fieldErrors)) {
        const list = strings(messages);
        if (list.length > 0) fieldErrors[field] = list;
      }
    }
  }
  return { message, code, domain, fieldErrors, formErrors };
}

/**
 * Field errors to show on a form: zod's per-field messages, plus a domain refusal that names its
 * field (`details.field`, e.g. a duplicate slug). `prefix` strips a wrapper such as `patch.`.
 */
export function serverFieldErrors(
  error: ApiError,
  describe: (error: ApiError) => string,
  prefix = "",
): Record<string, string[]> {
  const strip = (key: string) => (prefix && key.startsWith(prefix) ? key.slice(prefix.length) : key);
  const out: Record<string, string[]> = {};
  for (const [key, messages] of Object.entries(error.fieldErrors)) {
    const field = strip(key);
    out[field] = [...(out[field] ?? []), ...messages];
  }
  const details = error.domain?.details;
  const field = details && "field" in details ? details.field : null;
  if (typeof field === "string" && field.length > 0) {
    const name = strip(field);
    out[name] = [...(out[name] ?? []), describe(error)];
  }
  return out;
}
