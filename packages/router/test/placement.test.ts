import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import type { DriverHealth } from "@neosc/core/workspace-host";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sweepSessions } from "../src/domain/sessions/sweeper.ts";
import { HOSTS_FULL } from "../src/domain/workspaces/availability.ts";
import { callerFor, createLocalUser, resetCatalogue } from "./support/context.ts";
import { TEST_HOST_ID, useTestDatabase } from "./support/database.ts";
import { detailsOf, expectRefusal } from "./support/expect-error.ts";

/*
 * Launch places a session on a live workspace host that can run it, starts it there, and
 * refuses with a reason (audited) when no host can; a lost host's sessions end.
 */

const database = useTestDatabase();
let admin: User;
let user: User;
let desktop: Workspace;
let firefox: Workspace;
const ok: DriverHealth = { ok: true, missing: [], problem: null };

async function announce(
  id: string,
  capabilities: Record<string, DriverHealth>,
  at = new Date(),
  capacity = 4,
) {
  await database.db.workspaceHosts.heartbeat({ id, name: id, url: null, capacity, capabilities }, at);
}

async function lastAudit(action: string) {
  return (await database.db.audit.list({ action, limit: 1 })).items[0];
}

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
  const bySlug = await resetCatalogue(database.db, { user: admin });
  desktop = bySlug("linux-desktop");
  firefox = bySlug("firefox");
  await database.db.policies.setEnabled("max-concurrent-sessions", false, null);
});

beforeEach(async () => {
  for (const host of await database.db.workspaceHosts.list())
    await database.db.workspaceHosts.remove(host.id);
  for (const session of await database.db.sessions.listActive()) {
    await database.db.sessions.end(session.id, { reason: "user_stopped", at: new Date() });
  }
  user = (await createLocalUser(database.db, "user")).user;
});

describe("placement", () => {
  it("refuses a launch no live host can start, names the missing packages, and audits it", async () => {
    await announce("host-a", {
      "local:desktop": ok,
      "local:firefox": { ok: false, missing: ["firefox-esr"], problem: null },
    });
    const error = await expectRefusal(
      callerFor(database.db, { user }).workspace.launch({ workspaceId: firefox.id }),
      "SERVICE_UNAVAILABLE",
      "workspace_unavailable",
    );
    expect(detailsOf(error)).toEqual({ missing: ["firefox-esr"] });
    expect(error.message).toContain("firefox-esr");
    expect(await lastAudit("workspace.launch")).toMatchObject({
      result: "denied",
      reason: "workspace_unavailable",
      resource: { id: firefox.id },
    });
    expect(await database.db.sessions.countActiveByUser(user.id)).toBe(0);

    // The catalogue says the same before anyone tries.
    const listed = await callerFor(database.db, { user }).workspace.list({ launchable: true });
    expect(listed.find((entry) => entry.id === firefox.id)?.availability).toEqual({
      available: false,
      reason: "The workspace hosts lack firefox-esr",
      missing: ["firefox-esr"],
    });
    expect(listed.find((entry) => entry.id === desktop.id)?.availability.available).toBe(true);
  });

  it("refuses when the only host stopped heartbeating, and a workspace made for container images", async () => {
    await announce("host-silent", { "local:desktop": ok }, new Date(Date.now() - 60_000));
    await expectRefusal(
      callerFor(database.db, { user }).workspace.launch({ workspaceId: desktop.id }),
      "SERVICE_UNAVAILABLE",
      "workspace_unavailable",
    );
    await announce("host-a", { "local:desktop": ok });
    const legacy = await callerFor(database.db, { user: admin }).workspace.create({
      slug: "kasm-desktop",
      name: "Kasm desktop",
      kind: "desktop",
      image: "kasmweb/desktop:1.16.0",
      allowedRoles: ["user"],
    });
    const error = await expectRefusal(
      callerFor(database.db, { user }).workspace.launch({ workspaceId: legacy.id }),
      "SERVICE_UNAVAILABLE",
      "workspace_unavailable",
    );
    expect(error.message).toContain("no driver");
  });

  it("places each session on the least loaded host with room, and refuses when all are full", async () => {
    await announce("host-a", { "local:desktop": ok }, new Date(), 2);
    await announce("host-b", { "local:desktop": ok }, new Date(), 1);
    const launch = async () => {
      const person = (await createLocalUser(database.db, "user")).user;
      return callerFor(database.db, { user: person }).workspace.launch({ workspaceId: desktop.id });
    };
    const first = await launch();
    const second = await launch();
    const third = await launch();
    expect([first.hostId, second.hostId, third.hostId].sort()).toEqual(["host-a", "host-a", "host-b"]);
    await expectRefusal(launch(), "SERVICE_UNAVAILABLE", "workspace_unavailable");
  });

  it("refuses a launch when every host is at capacity, saying so, audits it, and changes nothing", async () => {
    await announce("host-a", { "local:desktop": ok }, new Date(), 1);
    await announce("host-b", { "local:desktop": ok }, new Date(), 1);
    for (let place = 0; place < 2; place++) {
      const person = (await createLocalUser(database.db, "user")).user;
      await callerFor(database.db, { user: person }).workspace.launch({ workspaceId: desktop.id });
    }
    const hostIds = ["host-a", "host-b"];
    const activeIds = async () =>
      (await database.db.sessions.listActive()).map((session) => session.id).sort();
    const before = {
      active: await activeIds(),
      loads: await database.db.sessions.activeCountsByHost(hostIds),
      audit: await database.db.audit.count(),
    };
    expect(before.loads).toEqual(
      new Map([
        ["host-a", 1],
        ["host-b", 1],
      ]),
    );

    const error = await expectRefusal(
      callerFor(database.db, { user }).workspace.launch({ workspaceId: desktop.id }),
      "SERVICE_UNAVAILABLE",
      "workspace_unavailable",
    );
    expect(error.message).toBe(HOSTS_FULL);
    // Nothing is missing on the hosts: they are full, which the person can only wait out.
    expect(detailsOf(error)).toEqual({ missing: [] });
    expect(await database.db.audit.count()).toBe(before.audit + 1);
    expect(await lastAudit("workspace.launch")).toMatchObject({
      actor: { id: user.id },
      resource: { type: "workspace", id: desktop.id },
      result: "denied",
      reason: "workspace_unavailable",
      details: { missing: [] },
    });
    // No session was written for the person, and no host's room was taken.
    expect(await activeIds()).toEqual(before.active);
    expect(await database.db.sessions.activeCountsByHost(hostIds)).toEqual(before.loads);
    expect((await database.db.sessions.list({ userId: user.id, limit: 10 })).items).toEqual([]);
    expect(await database.db.sessions.countActiveByUser(user.id)).toBe(0);
  });

  it("gives concurrent launches for the last places no more than the hosts hold; the rest are refused and audited", async () => {
    await announce("host-a", { "local:desktop": ok }, new Date(), 2);
    const people = await Promise.all(
      Array.from({ length: 5 }, async () => (await createLocalUser(database.db, "user")).user),
    );
    const audited = await database.db.audit.count();
    const outcomes = await Promise.all(
      people.map((person) =>
        callerFor(database.db, { user: person })
          .workspace.launch({ workspaceId: desktop.id })
          .then(
            () => "ok",
            (caught: unknown) => (caught instanceof Error ? caught.message : String(caught)),
          ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === "ok")).toHaveLength(2);
    expect(outcomes.filter((outcome) => outcome === HOSTS_FULL)).toHaveLength(3);
    expect(await database.db.sessions.activeCountsByHost(["host-a"])).toEqual(new Map([["host-a", 2]]));
    expect(await database.db.sessions.countActive()).toBe(2);
    const denials = (await database.db.audit.list({ action: "workspace.launch", limit: 10 })).items.filter(
      (entry) => entry.seq > audited && entry.result === "denied",
    );
    expect(denials.map((entry) => entry.reason)).toEqual(Array(3).fill("workspace_unavailable"));
  });

  it("places sessions only on hosts this API can reach (another API's in-process host is not)", async () => {
    await announce("host-of-another-api", { "local:desktop": ok }, new Date(), 100);
    await announce("host-mine", { "local:desktop": ok }, new Date(), 1);
    const mine = {
      start: async () => {},
      stop: async () => {},
      reaches: (host: { id: string }) => host.id === "host-mine",
    };
    const session = await callerFor(database.db, { user, workspaceHosts: mine }).workspace.launch({
      workspaceId: desktop.id,
    });
    expect(session.hostId).toBe("host-mine");
    const other = (await createLocalUser(database.db, "user")).user;
    await expectRefusal(
      callerFor(database.db, { user: other, workspaceHosts: mine }).workspace.launch({
        workspaceId: desktop.id,
      }),
      "SERVICE_UNAVAILABLE",
      "workspace_unavailable",
    );
  });

  it("ends the session with launch_failed when its host cannot start it, saying why", async () => {
    await announce("host-a", { "local:desktop": ok });
    const failing = {
      start: async () => {
        throw new Error("Xvnc did not start");
      },
      stop: async () => {},
      reaches: () => true,
    };
    const error = await expectRefusal(
      callerFor(database.db, { user, workspaceHosts: failing }).workspace.launch({ workspaceId: desktop.id }),
      "SERVICE_UNAVAILABLE",
      "launch_failed",
    );
    expect(error.message).toContain("Xvnc did not start");
    const [session] = (await database.db.sessions.list({ userId: user.id, limit: 5 })).items;
    expect(session).toMatchObject({ status: "ended", endReason: "launch_failed", hostId: "host-a" });
    expect(await lastAudit("session.launchFailed")).toMatchObject({
      reason: "launch_failed",
      details: { problem: "Xvnc did not start" },
    });
  });

  it("ends the sessions of a host that stopped heartbeating with host_lost", async () => {
    await announce("host-a", { "local:desktop": ok });
    const session = await callerFor(database.db, { user }).workspace.launch({ workspaceId: desktop.id });
    expect(session.hostId).toBe("host-a");
    expect((await sweepSessions({ db: database.db, clock: () => new Date() })).hostLost).toBe(0);
    const later = new Date(Date.now() + 31_000);
    expect((await sweepSessions({ db: database.db, clock: () => later })).hostLost).toBe(1);
    expect(await database.db.sessions.findById(session.id)).toMatchObject({
      status: "ended",
      endReason: "host_lost",
    });
  });

  it("needs no host for web workspaces", async () => {
    const web = await callerFor(database.db, { user: admin }).workspace.list({ kind: "web" });
    const api = web.find((entry) => entry.slug === "api-docs");
    if (api === undefined) throw new Error("api-docs missing");
    const session = await callerFor(database.db, { user }).workspace.launch({ workspaceId: api.id });
    expect(session.hostId).toBeNull();
    expect(TEST_HOST_ID).toBe("host-router-tests");
  });
});
