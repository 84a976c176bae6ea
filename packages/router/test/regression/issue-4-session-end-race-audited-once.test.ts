import { describe, expect, it } from "vitest";
import { sweepSessions } from "../../src/domain/sessions/sweeper.ts";
import { callerFor, createLocalUser, manualClock } from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";

/*
 * FerretDB 1.24 runs a filtered update as read-then-write, so `{ _id, status: "active" }` was no
 * compare-and-set: two sweepers (or a person racing an admin) both "ended" one session and both
 * audited it. Ends are now claimed by an insert; exactly one contender wins.
 */

const database = useTestDatabase();

describe("issue 4: one session end, however many contenders", () => {
  it("owner, admin and two sweepers racing end it once, with one audit entry", async () => {
    const { user: admin } = await createLocalUser(database.db, "admin");
    const { workspaces } = await callerFor(database.db, { user: admin }).workspace.reset();
    const desktop = workspaces.find((workspace) => workspace.slug === "linux-desktop");
    if (desktop === undefined) throw new Error("catalogue missing");
    const time = manualClock(new Date("2035-01-01T00:00:00Z"));

    for (let round = 0; round < 5; round++) {
      const { user } = await createLocalUser(database.db, "user");
      const session = await callerFor(database.db, { user, clock: time.clock }).workspace.launch({
        workspaceId: desktop.id,
      });
      const late = manualClock(new Date("2035-01-02T00:00:00Z"));
      const [byOwner, byAdmin, sweepA, sweepB] = await Promise.allSettled([
        callerFor(database.db, { user, clock: late.clock }).session.disconnect({ sessionId: session.id }),
        callerFor(database.db, { user: admin, clock: late.clock }).session.disconnect({
          sessionId: session.id,
        }),
        sweepSessions({ db: database.db, clock: late.clock }),
        sweepSessions({ db: database.db, clock: late.clock }),
      ]);
      const disconnects = [byOwner, byAdmin].filter((result) => result.status === "fulfilled").length;
      let swept = 0;
      for (const result of [sweepA, sweepB]) {
        if (result.status === "rejected") throw result.reason;
        swept += result.value.idleTimeout + result.value.maxDuration;
      }
      expect(disconnects + swept).toBe(1);

      const ended = await database.db.sessions.findById(session.id);
      const entries = await database.db.audit.list({
        resourceType: "session",
        resourceId: session.id,
        limit: 10,
      });
      const ends = entries.items.filter((entry) => entry.result === "success");
      expect(ends).toHaveLength(1);
      expect(ends[0]?.reason).toBe(ended?.endReason);
    }
    expect((await database.db.audit.verify()).ok).toBe(true);
  });
});
