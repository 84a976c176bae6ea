import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { domainErrorOf } from "../../src/errors.ts";
import { callerFor, TEST_CONFIG, uniqueEmail } from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";

/*
 * auth.register had no throttle at all: while self-registration was open, one address could
 * create accounts without bound (each one an argon2 hash on the server) and probe which emails
 * exist. Registrations are now counted per client address, in MongoDB like the login throttle.
 */

const database = useTestDatabase();
const LIMIT = TEST_CONFIG.loginThrottle.maxFailuresPerIp;

async function outcomeOf(call: Promise<unknown>) {
  try {
    await call;
    return { reason: "registered", retryAfterSeconds: undefined };
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    const domain = domainErrorOf(error);
    return { reason: domain?.reason, retryAfterSeconds: domain?.retryAfterSeconds };
  }
}

function register(clientIp: string) {
  return callerFor(database.db, { clientIp }).auth.register({
    email: uniqueEmail("signup"),
    name: "Sign Up",
    password: "a-long-enough-password",
  });
}

describe("issue 3: auth.register is throttled per client address", () => {
  it("refuses an address after the limit, audits it, and leaves other addresses alone", async () => {
    await database.db.policies.setEnabled("self-registration", true, null);
    for (let index = 0; index < LIMIT; index++) {
      expect((await outcomeOf(register("203.0.113.10"))).reason).toBe("registered");
    }
    const refused = await outcomeOf(register("203.0.113.10"));
    expect(refused.reason).toBe("throttled");
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect((await outcomeOf(register("203.0.113.11"))).reason).toBe("registered");

    const audit = await database.db.audit.list({ action: "auth.register", result: "denied", limit: 1 });
    expect(audit.items[0]).toMatchObject({ reason: "throttled", clientIp: "203.0.113.10" });
    // Registrations are not failed logins in the statistics.
    expect(
      await database.db.loginAttempts.failuresPerBucket("hour", new Date(Date.now() - 3_600_000)),
    ).toEqual([]);
  });

  it("holds against registrations sent in parallel", async () => {
    await database.db.policies.setEnabled("self-registration", true, null);
    const outcomes = await Promise.all(
      Array.from({ length: 3 * LIMIT }, () => outcomeOf(register("203.0.113.20"))),
    );
    const registered = outcomes.filter((outcome) => outcome.reason === "registered").length;
    expect(registered).toBeLessThanOrEqual(LIMIT);
    expect(outcomes.filter((outcome) => outcome.reason === "throttled")).toHaveLength(3 * LIMIT - registered);
  });
});
