import { createTotpSecret, generateTotp } from "@neosc/auth/totp";
import { describe, expect, it } from "vitest";
import { callerFor, createLocalUser, TEST_CONFIG } from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";

/*
 * One instant per procedure call: a sign-in records its attempt, checks the throttle, checks the
 * authenticator code and opens the login session, and all of them agree on "now". Before, each
 * step read the clock again, so a slow step (argon2) moved the TOTP check to a later instant
 * than the one the request arrived at.
 */

const database = useTestDatabase();

/** A clock that has moved on by 45 s (1.5 TOTP steps) every time it is read. */
function tickingClock(start: Date) {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    clock: () => new Date(start.getTime() + reads++ * 45_000),
  };
}

describe("one clock per procedure call", () => {
  it("auth.login checks the code and opens the session at the instant the call began", async () => {
    const { user, email, password } = await createLocalUser(database.db, "user");
    const { secret } = createTotpSecret(email, TEST_CONFIG.totpIssuer);
    await database.db.users.setTotp(user.id, { secret, enabled: true });

    const start = new Date(Date.UTC(2026, 0, 5, 9, 0, 0));
    const time = tickingClock(start);
    const result = await callerFor(database.db, { clock: time.clock, clientIp: "192.0.2.110" }).auth.login({
      email,
      password,
      totp: generateTotp(secret, start),
    });

    expect(time.reads).toBe(1);
    expect(result.user.lastLoginAt).toEqual(start);
    expect(result.expiresAt).toEqual(new Date(start.getTime() + TEST_CONFIG.session.ttlSeconds * 1000));
  });
});
