import type { Reason } from "@neosc/core/errors";
import { TRPCError } from "@trpc/server";
import { expect } from "vitest";
import { domainErrorOf } from "../../src/errors.ts";

/** Awaits a call that must fail with the given tRPC code and domain reason; returns the error. */
export async function expectRefusal(
  call: Promise<unknown>,
  code: TRPCError["code"],
  reason?: Reason,
): Promise<TRPCError> {
  const error = await call.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error, "the call should have failed").toBeInstanceOf(TRPCError);
  const trpcError = error as TRPCError;
  expect(trpcError.code).toBe(code);
  if (reason !== undefined) expect(domainErrorOf(trpcError)?.reason).toBe(reason);
  return trpcError;
}

/** The `details` a domain refusal carried. */
export function detailsOf(error: TRPCError): Record<string, unknown> | undefined {
  return domainErrorOf(error)?.details;
}
