import { describe, expect, it } from "vitest";
import { callerFor, TEST_CONFIG, uniqueEmail } from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";
import { outcomeOf } from "../support/expect-error.ts";

/*
 * The per-address budgets (failed sign-ins across accounts, sign-ups) were keyed on the exact
 * client address. An IPv6 client usually holds a whole /64 and picks a fresh address per request,
 * so both budgets were unlimited for it. IPv6 clients now share one budget per /64.
 */

const database = useTestDatabase();
const LIMIT = TEST_CONFIG.loginThrottle.maxFailuresPerIp;

describe("issue 3: IPv6 clients get one per-address budget per /64", () => {
  it("failed sign-ins from rotating addresses of one /64 exhaust one budget", async () => {
    for (let index = 1; index <= LIMIT; index++) {
      const caller = callerFor(database.db, { clientIp: `2001:db8:1:2::${index.toString(16)}` });
      expect(
        await outcomeOf(caller.auth.login({ email: uniqueEmail("spray"), password: "guess-guess" })),
      ).toBe("invalid_credentials");
    }
    const next = callerFor(database.db, { clientIp: "2001:db8:1:2:ffff:1:2:3" });
    expect(await outcomeOf(next.auth.login({ email: uniqueEmail("spray"), password: "guess-guess" }))).toBe(
      "throttled",
    );
    const elsewhere = callerFor(database.db, { clientIp: "2001:db8:1:3::1" });
    expect(
      await outcomeOf(elsewhere.auth.login({ email: uniqueEmail("spray"), password: "guess-guess" })),
    ).toBe("invalid_credentials");
  });

  it("sign-ups from rotating addresses of one /64 exhaust one budget", async () => {
    await database.db.policies.setEnabled("self-registration", true, null);
    const register = (clientIp: string) =>
      outcomeOf(
        callerFor(database.db, { clientIp }).auth.register({
          email: uniqueEmail("v6"),
          name: "Six",
          password: "a-long-enough-password",
        }),
      );
    for (let index = 1; index <= LIMIT; index++) {
      expect(await register(`2001:db8:9:9::${index.toString(16)}`)).toBe("ok");
    }
    expect(await register("2001:db8:9:9:abcd::1")).toBe("throttled");
  });
});
