import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { domainErrorOf } from "../../src/errors.ts";
import { callerFor, createLocalUser, TEST_CONFIG } from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";

/*
 * The login throttle counted earlier failures before checking the password and recorded the new
 * failure only after the (slow) argon2 check. Guesses sent in parallel all saw "no failures yet":
 * 60 at once got 14 password checks against a limit of 5 on the running API, and a larger burst
 * gets as many as it sends, every window.
 */

const database = useTestDatabase();
const GUESSES = 24;

async function reasonOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
    return "signed_in";
  } catch (error) {
    if (error instanceof TRPCError) return domainErrorOf(error)?.reason;
    throw error;
  }
}

describe("issue 3: the login throttle holds against parallel guesses", () => {
  it("of many wrong passwords sent at once, at most the account limit is checked", async () => {
    const { email } = await createLocalUser(database.db, "user");
    const reasons = await Promise.all(
      Array.from({ length: GUESSES }, (_, index) =>
        reasonOf(
          callerFor(database.db, { clientIp: `198.51.100.${index + 1}` }).auth.login({
            email,
            password: `wrong-password-${index}`,
          }),
        ),
      ),
    );
    const checked = reasons.filter((reason) => reason === "invalid_credentials").length;
    // A burst larger than the limit may be refused as a whole; it never gets more checks.
    expect(checked).toBeLessThanOrEqual(TEST_CONFIG.loginThrottle.maxFailuresPerAccount);
    expect(reasons.filter((reason) => reason === "throttled")).toHaveLength(GUESSES - checked);

    // Only the checked guesses stay on record; refused ones do not extend the throttle.
    const since = new Date(Date.now() - 60_000);
    expect((await database.db.loginAttempts.countSince(`email:${email}`, since)).count).toBe(checked);
  });

  it("refused and successful attempts do not count as failures", async () => {
    const { email, password } = await createLocalUser(database.db, "user");
    const caller = callerFor(database.db, { clientIp: "198.51.100.201" });
    for (let round = 0; round < TEST_CONFIG.loginThrottle.maxFailuresPerAccount + 2; round++) {
      expect(await reasonOf(caller.auth.login({ email, password }))).toBe("signed_in");
    }
    const since = new Date(Date.now() - 60_000);
    expect((await database.db.loginAttempts.countSince(`email:${email}`, since)).count).toBe(0);
  });
});
