import type { DomainErrorData, ErrorData, Reason, ReasonDetails } from "@neosc/core/errors";

/** A failed call as the tRPC client surfaces it: `error.data` is the API's `ErrorData`. */
export function apiFailure(message: string, data: ErrorData): Error & { data: ErrorData } {
  return Object.assign(new Error(message), { data });
}

/** A refusal as the server sends it: details typed by `ReasonDetails`, so only keys it sends. */
export function refusal<R extends Reason>(
  reason: R,
  details: ReasonDetails[R] | null = null,
  retryAfterSeconds: number | null = null,
): DomainErrorData {
  return { reason, details, retryAfterSeconds } as DomainErrorData;
}
