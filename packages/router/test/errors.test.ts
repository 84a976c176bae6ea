import { DOMAIN_ERROR_CODES, DomainError } from "@neosc/core/errors";
import { isDatabaseUnavailable } from "@neosc/db/errors";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { domainErrorOf, flattenInputErrors, toTRPCError, trpcCodeFor } from "../src/errors.ts";

describe("the error adapter", () => {
  it("maps every domain error code to a transport code with the expected HTTP status", () => {
    const statuses = Object.fromEntries(
      DOMAIN_ERROR_CODES.map((code) => [
        code,
        getHTTPStatusCodeFromError(new TRPCError({ code: trpcCodeFor(code) })),
      ]),
    );
    expect(statuses).toEqual({
      BAD_REQUEST: 400,
      UNAUTHORIZED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      CONFLICT: 409,
      TOO_MANY_REQUESTS: 429,
      UNAVAILABLE: 503,
    });
  });

  it("keeps the domain error as the cause so the formatter can expose reason and retry-after", () => {
    const original = new DomainError("TOO_MANY_REQUESTS", "throttled", "slow down", {
      retryAfterSeconds: 42,
    });
    const mapped = toTRPCError(original);
    expect(mapped.code).toBe("TOO_MANY_REQUESTS");
    expect(domainErrorOf(mapped)).toBe(original);
  });

  it("turns driver errors meaning 'database unreachable' into 503 database_unavailable, however wrapped", () => {
    for (const name of [
      "MongoServerSelectionError",
      "MongoNetworkError",
      "MongoPoolClearedError",
      "MongoNetworkTimeoutError",
    ]) {
      const driverError = Object.assign(new Error("connect ECONNREFUSED"), { name });
      const wrapped = new TRPCError({
        code: "INTERNAL_SERVER_ERROR",
        cause: new Error("query failed", { cause: driverError }),
      });
      expect(isDatabaseUnavailable(wrapped.cause)).toBe(true);
      const mapped = toTRPCError(wrapped);
      expect(mapped.code).toBe("SERVICE_UNAVAILABLE");
      expect(domainErrorOf(mapped)?.reason).toBe("database_unavailable");
    }
  });

  it("hides unknown failures behind INTERNAL_SERVER_ERROR without their message", () => {
    const mapped = toTRPCError(new Error("secret connection string mongodb://user:pw@host"));
    expect(mapped.code).toBe("INTERNAL_SERVER_ERROR");
    expect(mapped.message).toBe("Internal server error");
  });

  it("flattens schema failures by dotted field path", () => {
    const schema = z.object({ email: z.email(), settings: z.object({ limit: z.number().max(5) }) });
    const result = schema.safeParse({ email: "nope", settings: { limit: 9 } });
    expect(result.success).toBe(false);
    expect(flattenInputErrors(result.error)).toEqual({
      formErrors: [],
      fieldErrors: { email: [expect.any(String)], "settings.limit": [expect.any(String)] },
    });
  });
});
