import { DomainError, type DomainErrorCode, type InputErrors, isDomainError } from "@neosc/core/errors";
import { isDatabaseUnavailable } from "@neosc/db/errors";
import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";

/** The one mapping from domain error codes to tRPC codes (and so to HTTP statuses). */
export function trpcCodeFor(code: DomainErrorCode): TRPC_ERROR_CODE_KEY {
  switch (code) {
    case "BAD_REQUEST":
      return "BAD_REQUEST";
    case "UNAUTHORIZED":
      return "UNAUTHORIZED";
    case "FORBIDDEN":
      return "FORBIDDEN";
    case "NOT_FOUND":
      return "NOT_FOUND";
    case "CONFLICT":
      return "CONFLICT";
    case "TOO_MANY_REQUESTS":
      return "TOO_MANY_REQUESTS";
    case "UNAVAILABLE":
      return "SERVICE_UNAVAILABLE";
    default: {
      const unreachable: never = code;
      throw new Error(`unmapped domain error code ${String(unreachable)}`);
    }
  }
}

/** Normalises anything thrown into a DomainError when it has a domain meaning, else null. */
export function asDomainError(error: unknown): DomainError | null {
  if (isDomainError(error)) return error;
  if (isDatabaseUnavailable(error)) {
    return new DomainError(
      "UNAVAILABLE",
      "database_unavailable",
      "The database is unavailable; retry shortly",
      {
        retryAfterSeconds: 5,
        cause: error,
      },
    );
  }
  return null;
}

/**
 * The single adapter from anything thrown to a TRPCError. Domain errors keep their message and
 * travel as `cause` (the error formatter reads reason/details from it); anything unknown becomes
 * INTERNAL_SERVER_ERROR whose message the formatter hides.
 */
export function toTRPCError(error: unknown): TRPCError {
  const domain = asDomainError(error instanceof TRPCError ? error.cause : error);
  if (domain !== null) return fromDomain(domain);
  if (error instanceof TRPCError) return error;
  return new TRPCError({
    code: "INTERNAL_SERVER_ERROR",
    message: "Internal server error",
    cause: error instanceof Error ? error : undefined,
  });
}

function fromDomain(error: DomainError): TRPCError {
  return new TRPCError({ code: trpcCodeFor(error.code), message: error.message, cause: error });
}

/** The domain error carried by a TRPCError, if any. */
export function domainErrorOf(error: TRPCError): DomainError | null {
  return isDomainError(error.cause) ? error.cause : null;
}

interface SchemaIssue {
  message: string;
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> | undefined;
}

function schemaIssuesOf(error: unknown): SchemaIssue[] | null {
  if (!(error instanceof Error) || !("issues" in error) || !Array.isArray(error.issues)) return null;
  return error.issues as SchemaIssue[];
}

/** Flattened field errors of a schema failure (zod or any Standard Schema), or null. */
export function flattenInputErrors(error: unknown): InputErrors | null {
  const issues = schemaIssuesOf(error);
  if (issues === null) return null;
  const flat: InputErrors = { formErrors: [], fieldErrors: {} };
  for (const issue of issues) {
    const key = (issue.path ?? [])
      .map((segment) => String(typeof segment === "object" ? segment.key : segment))
      .join(".");
    if (key === "") {
      flat.formErrors.push(issue.message);
    } else {
      const list = flat.fieldErrors[key] ?? [];
      list.push(issue.message);
      flat.fieldErrors[key] = list;
    }
  }
  return flat;
}

/** A one-line summary naming the first offending field. */
export function describeInputErrors(flat: InputErrors): string {
  const [field, messages] = Object.entries(flat.fieldErrors)[0] ?? [];
  if (field !== undefined && messages !== undefined) return `Invalid input: ${field}: ${messages.join("; ")}`;
  const form = flat.formErrors[0];
  return form === undefined ? "Invalid input" : `Invalid input: ${form}`;
}
