import { describe, expect, it } from "vitest";
import { callerFor, createLocalUser } from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";

/*
 * FerretDB 1.24 applies an update as read-modify-write of the whole document. A write the person
 * triggers themselves (TOTP enrolment, the `lastLoginAt` of a sign-in) that read their user
 * document just before an admin disabled or demoted them wrote the old `disabled`/`role` back: a
 * person who kept such requests in flight stayed enabled, or stayed an admin.
 */

const database = useTestDatabase();
const ROUNDS = 12;
const WRITES_IN_FLIGHT = 8;

describe("issue 3: disabling or demoting someone sticks while they keep writing", () => {
  it("user.disable holds against the person's concurrent enrolments and sign-ins", async () => {
    const { user: admin } = await createLocalUser(database.db, "admin");
    const asAdmin = callerFor(database.db, { user: admin });
    let reverted = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { user, email, password } = await createLocalUser(database.db, "user");
      const asUser = callerFor(database.db, { user });
      const own = Array.from({ length: WRITES_IN_FLIGHT }, (_, index) =>
        index === 0
          ? callerFor(database.db).auth.login({ email, password })
          : asUser.auth.mfa.enroll({ password }),
      );
      // The person's own calls may be refused once the disable lands; only the outcome matters.
      const [disabled] = await Promise.all([
        asAdmin.user.disable({ userId: user.id }),
        Promise.allSettled(own),
      ]);
      expect(disabled.disabled).toBe(true);
      if ((await database.db.users.findById(user.id))?.disabled !== true) reverted++;
    }
    expect(reverted).toBe(0);
  });

  it("user.setRole holds against the person's concurrent enrolments", async () => {
    const { user: admin } = await createLocalUser(database.db, "admin");
    const asAdmin = callerFor(database.db, { user: admin });
    let reverted = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { user, password } = await createLocalUser(database.db, "admin");
      const asTarget = callerFor(database.db, { user });
      const own = Array.from({ length: WRITES_IN_FLIGHT }, () => asTarget.auth.mfa.enroll({ password }));
      await Promise.all([asAdmin.user.setRole({ userId: user.id, role: "user" }), Promise.allSettled(own)]);
      if ((await database.db.users.findById(user.id))?.role !== "user") reverted++;
    }
    expect(reverted).toBe(0);
  });
});
