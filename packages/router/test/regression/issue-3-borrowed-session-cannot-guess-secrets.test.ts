import { generateTotp } from "@neosc/auth/totp";
import { describe, expect, it } from "vitest";
import { callerFor, createLocalUser, manualClock, TEST_CONFIG } from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";
import { outcomeOf } from "../support/expect-error.ts";

/*
 * auth.changePassword and auth.mfa.disable check a secret (the current password, a TOTP code)
 * but were not throttled: whoever held someone's session (a borrowed laptop, a stolen cookie)
 * could guess the password without limit and then replace it, or guess codes until the second
 * factor came off. Their failures now count against the account like failed sign-ins.
 */

const database = useTestDatabase();
const LIMIT = TEST_CONFIG.loginThrottle.maxFailuresPerAccount;

describe("issue 3: a borrowed session cannot guess the account's secrets", () => {
  it("auth.changePassword stops checking the current password after the account limit", async () => {
    const { user, password } = await createLocalUser(database.db, "user");
    const asUser = callerFor(database.db, { user, clientIp: "198.51.100.60" });
    for (let guess = 0; guess < LIMIT; guess++) {
      expect(
        await outcomeOf(
          asUser.auth.changePassword({ currentPassword: `guess-${guess}`, newPassword: "a-new-password-1" }),
        ),
      ).toBe("invalid_credentials");
    }
    expect(
      await outcomeOf(
        asUser.auth.changePassword({ currentPassword: password, newPassword: "a-new-password-1" }),
      ),
    ).toBe("throttled");
    // Guesses made there also hold the account's sign-in.
    expect(
      await outcomeOf(
        callerFor(database.db, { clientIp: "198.51.100.61" }).auth.login({ email: user.email, password }),
      ),
    ).toBe("throttled");
  });

  it("auth.mfa.disable stops checking codes after the account limit", async () => {
    const time = manualClock();
    const { user, password } = await createLocalUser(database.db, "user");
    const asUser = () => callerFor(database.db, { user, clock: time.clock, clientIp: "198.51.100.62" });
    const { secret } = await asUser().auth.mfa.enroll({ password });
    await asUser().auth.mfa.confirm({ code: generateTotp(secret, time.clock()) });
    time.advance(60);
    const right = generateTotp(secret, time.clock());
    const wrong = right === "000000" ? "111111" : "000000";
    for (let guess = 0; guess < LIMIT; guess++) {
      expect(await outcomeOf(asUser().auth.mfa.disable({ code: wrong }))).toBe("invalid_totp");
    }
    expect(await outcomeOf(asUser().auth.mfa.disable({ code: right }))).toBe("throttled");
    expect((await database.db.users.findById(user.id))?.totpEnabled).toBe(true);
  });
});
