import type { Workspace } from "@neosc/core/workspace";
import { beforeAll, describe, expect, it } from "vitest";
import { startSweeper, sweepSessions } from "../src/domain/sessions/sweeper.ts";
import { callerFor, createLocalUser, manualClock, resetCatalogue } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";

const database = useTestDatabase();
let desktop: Workspace;

beforeAll(async () => {
  const admin = (await createLocalUser(database.db, "admin")).user;
  desktop = (await resetCatalogue(database.db, { user: admin }))("linux-desktop");
  await database.db.policies.setEnabled("max-concurrent-sessions", false, null);
});

describe("sweepSessions", () => {
  it("run by two replicas at once ends each expired session exactly once, with one audit entry each", async () => {
    const time = manualClock(new Date("2031-01-01T00:00:00Z"));
    const ids: string[] = [];
    for (let person = 0; person < 4; person++) {
      const { user } = await createLocalUser(database.db, "user");
      const caller = callerFor(database.db, { user, clock: time.clock });
      for (let i = 0; i < 6; i++) ids.push((await caller.workspace.launch({ workspaceId: desktop.id })).id);
    }
    const fresh = manualClock(new Date("2031-01-01T08:30:00Z"));
    const { user } = await createLocalUser(database.db, "user");
    const survivor = await callerFor(database.db, { user, clock: fresh.clock }).workspace.launch({
      workspaceId: desktop.id,
    });
    // 08:40: the 24 early sessions passed their 30-minute idle deadline; the fresh one has not.
    time.set(new Date("2031-01-01T08:40:00Z"));

    const [a, b] = await Promise.all([
      sweepSessions({ db: database.db, clock: time.clock, batchSize: 5 }),
      sweepSessions({ db: database.db, clock: time.clock, batchSize: 5 }),
    ]);
    expect(a.idleTimeout + b.idleTimeout + a.maxDuration + b.maxDuration).toBe(24);
    for (const id of ids) {
      expect(await database.db.sessions.findById(id)).toMatchObject({
        status: "ended",
        endReason: "idle_timeout",
      });
      const entries = await database.db.audit.list({ action: "session.expire", resourceId: id, limit: 5 });
      expect(entries.items).toHaveLength(1);
    }
    expect((await database.db.sessions.findById(survivor.id))?.status).toBe("active");
    expect((await database.db.audit.verify()).ok).toBe(true);
  });

  it("prefers max_duration when both deadlines have passed and the hard one came first", async () => {
    const time = manualClock(new Date("2032-01-01T00:00:00Z"));
    await database.db.policies.setSettings("session-max-duration", { minutes: 5 }, null);
    const { user } = await createLocalUser(database.db, "user");
    const session = await callerFor(database.db, { user, clock: time.clock }).workspace.launch({
      workspaceId: desktop.id,
    });
    await database.db.policies.setSettings("session-max-duration", { minutes: 480 }, null);
    time.advance(3600);
    await sweepSessions({ db: database.db, clock: time.clock });
    expect((await database.db.sessions.findById(session.id))?.endReason).toBe("max_duration");
  });
});

describe("startSweeper", () => {
  it("sweeps on its interval until stopped", async () => {
    const time = manualClock(new Date("2033-01-01T00:00:00Z"));
    const { user } = await createLocalUser(database.db, "user");
    const session = await callerFor(database.db, { user, clock: time.clock }).workspace.launch({
      workspaceId: desktop.id,
    });
    time.advance(24 * 3600);
    const errors: unknown[] = [];
    const swept = new Promise<void>((resolve) => {
      const handle = startSweeper({
        db: database.db,
        clock: time.clock,
        intervalMs: 20,
        onError: (error) => errors.push(error),
        onSweep: () => {
          void handle.stop().then(resolve);
        },
      });
    });
    await swept;
    expect(errors).toEqual([]);
    expect((await database.db.sessions.findById(session.id))?.status).toBe("ended");
  });
});
