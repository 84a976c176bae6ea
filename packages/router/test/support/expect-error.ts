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

/** What a call came to: "ok", or the domain reason it was refused with. */
export async function outcomeOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
    return "ok";
  } catch (error) {
    if (error instanceof TRPCError) return domainErrorOf(error)?.reason;
    throw error;
  }
}

/** The tRPC code and domain reason of a call that must fail. */
export async function refusalOf(
  call: Promise<unknown>,
): Promise<{ code: TRPCError["code"]; reason: Reason | undefined }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof TRPCError) return { code: error.code, reason: domainErrorOf(error)?.reason };
    throw error;
  }
  throw new Error("expected the call to fail");
}
