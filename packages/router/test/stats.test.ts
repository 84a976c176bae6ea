import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { beforeAll, describe, expect, it } from "vitest";
import { bucketStarts } from "../src/domain/stats/overview.ts";
import { callerFor, createLocalUser, manualClock } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";

const database = useTestDatabase();
const NOW = new Date("2034-06-15T12:34:56Z");
let admin: User;
let catalogue: Workspace[];

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
  catalogue = (await callerFor(database.db, { user: admin }).workspace.reset()).workspaces;
  await database.db.policies.setEnabled("max-concurrent-sessions", false, null);
});

function bySlug(slug: string): Workspace {
  const found = catalogue.find((workspace) => workspace.slug === slug);
  if (found === undefined) throw new Error(`${slug} missing`);
  return found;
}

describe("bucketStarts", () => {
  it("ends with the bucket that holds now, oldest first, in UTC", () => {
    const hours = bucketStarts(NOW, "hour", 24);
    expect(hours).toHaveLength(24);
    expect(hours.at(-1)).toEqual(new Date("2034-06-15T12:00:00Z"));
    expect(hours[0]).toEqual(new Date("2034-06-14T13:00:00Z"));
    const days = bucketStarts(NOW, "day", 30);
    expect(days.at(-1)).toEqual(new Date("2034-06-15T00:00:00Z"));
    expect(days[0]).toEqual(new Date("2034-05-17T00:00:00Z"));
  });
});

describe("stats.overview", () => {
  it("counts people, workspaces and sessions, and fills hourly and daily activity", async () => {
    const time = manualClock(NOW);
    const neosc = (await createLocalUser(database.db, "neosc")).user;
    const user = (await createLocalUser(database.db, "user")).user;
    await database.db.users.update(user.id, { disabled: true });

    const launch = async (person: User, slug: string, at: Date) => {
      time.set(at);
      return callerFor(database.db, { user: person, clock: time.clock }).workspace.launch({
        workspaceId: bySlug(slug).id,
      });
    };
    await launch(neosc, "dev-terminal", new Date("2034-06-15T12:10:00Z"));
    await launch(neosc, "dev-terminal", new Date("2034-06-15T12:20:00Z"));
    await launch(neosc, "inspector", new Date("2034-06-15T09:05:00Z"));
    const old = await launch(admin, "admin-desktop", new Date("2034-06-01T08:00:00Z"));
    await launch(admin, "admin-desktop", new Date("2034-04-01T08:00:00Z")); // outside 30 days
    await callerFor(database.db, { user: admin }).session.disconnect({ sessionId: old.id });
    await database.db.loginAttempts.recordFailure(
      ["email:x@example.test", "ip:192.0.2.1"],
      new Date("2034-06-15T11:59:00Z"),
    );
    await database.db.loginAttempts.recordFailure(["email:y@example.test"], new Date("2034-06-10T03:00:00Z"));

    time.set(NOW);
    const stats = await callerFor(database.db, { user: admin, clock: time.clock }).stats.overview();
    expect(stats.usersByRole).toEqual({ user: 1, neosc: 1, admin: 1, auditor: 0 });
    expect(stats.users).toBe(3);
    expect(stats.disabledUsers).toBe(1);
    expect(stats.workspaces).toBe(catalogue.length);
    expect(stats.enabledWorkspaces).toBe(catalogue.length);
    expect(stats.activeSessions).toBe(4);

    expect(stats.hourly).toHaveLength(24);
    const hour = (iso: string) =>
      stats.hourly.find((bucket) => bucket.start.getTime() === new Date(iso).getTime());
    expect(hour("2034-06-15T12:00:00Z")).toEqual({
      start: new Date("2034-06-15T12:00:00Z"),
      launches: 2,
      failedLogins: 0,
    });
    expect(hour("2034-06-15T11:00:00Z")).toMatchObject({ launches: 0, failedLogins: 1 });
    expect(hour("2034-06-15T09:00:00Z")).toMatchObject({ launches: 1 });
    expect(stats.hourly.reduce((sum, bucket) => sum + bucket.launches, 0)).toBe(3);

    expect(stats.daily).toHaveLength(30);
    const day = (iso: string) =>
      stats.daily.find((bucket) => bucket.start.getTime() === new Date(iso).getTime());
    expect(day("2034-06-15T00:00:00Z")).toMatchObject({ launches: 3, failedLogins: 1 });
    expect(day("2034-06-10T00:00:00Z")).toMatchObject({ launches: 0, failedLogins: 1 });
    expect(day("2034-06-01T00:00:00Z")).toMatchObject({ launches: 1 });
    expect(stats.daily.reduce((sum, bucket) => sum + bucket.launches, 0)).toBe(4);

    expect(stats.topWorkspaces[0]).toEqual({
      workspaceId: bySlug("dev-terminal").id,
      name: "Dev Terminal",
      launches: 2,
    });
    expect(stats.topWorkspaces.map((row) => row.launches)).toEqual([2, 1, 1]);
  });
});

describe("stats.overview over time", () => {
  const AT = new Date("2034-08-15T12:30:00Z");

  /** A session of `slug` that ran from `start` to `end` (ISO times). */
  async function ran(slug: string, start: string, end: string) {
    const workspace = bySlug(slug);
    const session = await database.db.sessions.createWithinLimit(
      {
        workspaceId: workspace.id,
        workspaceSlug: workspace.slug,
        workspaceName: workspace.name,
        workspaceKind: workspace.kind,
        userId: admin.id,
        userEmail: admin.email,
        organizationId: null,
        startedAt: new Date(start),
        clientIp: null,
        connectionUrl: null,
        endsAt: null,
        idleEndsAt: null,
      },
      null,
    );
    if (session === null) throw new Error("not started");
    await database.db.sessions.end(session.id, { reason: "user_stopped", at: new Date(end) });
  }

  it("says how many sessions ran at once, how long they ran and what was launched, per hour and per day", async () => {
    // The sessions of the test above end long before this test's 30 days.
    for (const session of await database.db.sessions.listActive()) {
      await database.db.sessions.end(session.id, {
        reason: "user_stopped",
        at: new Date("2034-06-16T00:00:00Z"),
      });
    }
    await ran("dev-terminal", "2034-08-15T10:05:00Z", "2034-08-15T10:50:00Z");
    await ran("dev-terminal", "2034-08-15T10:30:00Z", "2034-08-15T11:10:00Z");
    await ran("inspector", "2034-08-15T11:20:00Z", "2034-08-15T11:23:00Z");
    await ran("admin-desktop", "2034-08-14T09:00:00Z", "2034-08-15T10:40:00Z");

    const stats = await callerFor(database.db, { user: admin, clock: () => AT }).stats.overview();
    const peak = (series: { start: Date; peak: number }[], iso: string) =>
      series.find((bucket) => bucket.start.getTime() === new Date(iso).getTime())?.peak;
    expect(stats.day.concurrency).toHaveLength(24);
    expect(peak(stats.day.concurrency, "2034-08-15T09:00:00Z")).toBe(1);
    expect(peak(stats.day.concurrency, "2034-08-15T10:00:00Z")).toBe(3);
    expect(peak(stats.day.concurrency, "2034-08-15T11:00:00Z")).toBe(1);
    expect(peak(stats.day.concurrency, "2034-08-15T12:00:00Z")).toBe(0);
    expect(stats.month.concurrency).toHaveLength(30);
    expect(peak(stats.month.concurrency, "2034-08-14T00:00:00Z")).toBe(1);
    expect(peak(stats.month.concurrency, "2034-08-15T00:00:00Z")).toBe(3);
    expect(peak(stats.month.concurrency, "2034-08-13T00:00:00Z")).toBe(0);

    expect(stats.day.durations).toEqual([
      { label: "under 5 min", sessions: 1 },
      { label: "5–15 min", sessions: 0 },
      { label: "15–60 min", sessions: 2 },
      { label: "1–4 h", sessions: 0 },
      { label: "4–8 h", sessions: 0 },
      { label: "8 h or more", sessions: 1 },
    ]);
    expect(stats.day.medianDurationMinutes).toBe(42.5);

    // The desktop started before the last 24 hours: it counts for the 30 days only.
    expect(stats.day.launchesByWorkspace.map((row) => [row.name, row.launches])).toEqual([
      ["Dev Terminal", 2],
      [bySlug("inspector").name, 1],
    ]);
    expect(stats.month.launchesByWorkspace.map((row) => row.launches)).toEqual([2, 1, 1]);
    expect(stats.month.launchesByWorkspace.map((row) => row.name)).toContain(bySlug("admin-desktop").name);
    expect(stats.sessionsCapped).toBe(false);
  });

  it("counts refusals by reason", async () => {
    const { user } = await createLocalUser(database.db, "auditor");
    const asAdmin = callerFor(database.db, { user: admin });
    for (let i = 0; i < 2; i++) await asAdmin.user.remove({ userId: admin.id }).catch(() => null);
    await callerFor(database.db, { user })
      .workspace.list()
      .catch(() => null);
    const stats = await asAdmin.stats.overview();
    expect(stats.day.denialsByReason).toEqual(
      expect.arrayContaining([
        { reason: "own_account", count: 2 },
        { reason: "role_required", count: 1 },
      ]),
    );
    const reasons = stats.day.denialsByReason.map((row) => row.count);
    expect(reasons).toEqual([...reasons].sort((a, b) => b - a));
  });
});
