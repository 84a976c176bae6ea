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
