import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { beforeAll, describe, expect, it } from "vitest";
import { callerFor, createLocalUser, manualClock, resetCatalogue } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";
import { expectRefusal } from "./support/expect-error.ts";

const database = useTestDatabase();
let admin: User;
let desktop: Workspace;
let firefox: Workspace;

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
  const bySlug = await resetCatalogue(database.db, { user: admin });
  desktop = bySlug("linux-desktop");
  firefox = bySlug("firefox");
});

describe("session.list and session.active", () => {
  it("show people their own sessions and admins everyone's, with filters and cursor paging", async () => {
    const alice = (await createLocalUser(database.db, "user")).user;
    const bob = (await createLocalUser(database.db, "user")).user;
    const asAlice = callerFor(database.db, { user: alice });
    const asBob = callerFor(database.db, { user: bob });
    const a1 = await asAlice.workspace.launch({ workspaceId: desktop.id });
    const a2 = await asAlice.workspace.launch({ workspaceId: firefox.id });
    const b1 = await asBob.workspace.launch({ workspaceId: desktop.id });
    await asAlice.session.disconnect({ sessionId: a1.id });

    const aliceActive = await asAlice.session.active({});
    expect(aliceActive.map((s) => s.id)).toEqual([a2.id]);
    // A non-admin cannot widen the view by naming someone else.
    expect((await asAlice.session.active({ userId: bob.id })).map((s) => s.id)).toEqual([a2.id]);
    const aliceAll = await asAlice.session.list({ limit: 50, userId: bob.id });
    expect(aliceAll.items.map((s) => s.id).sort()).toEqual([a1.id, a2.id].sort());

    const asAdmin = callerFor(database.db, { user: admin });
    const everyone = await asAdmin.session.active({});
    expect(everyone.map((s) => s.id)).toEqual(expect.arrayContaining([a2.id, b1.id]));
    expect((await asAdmin.session.active({ userId: bob.id })).map((s) => s.id)).toEqual([b1.id]);
    const ended = await asAdmin.session.list({ limit: 50, status: "ended", userId: alice.id });
    expect(ended.items.map((s) => s.id)).toEqual([a1.id]);

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await asAdmin.session.list({
        limit: 1,
        workspaceId: desktop.id,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...result.items.map((s) => s.id));
      if (result.nextCursor === null) break;
      cursor = result.nextCursor;
    }
    expect(seen).toEqual(expect.arrayContaining([a1.id, b1.id]));
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe("session.heartbeat", () => {
  it("records the owner's open portal but does not move idleEndsAt (only real input does)", async () => {
    const time = manualClock(new Date("2025-05-05T10:00:00Z"));
    const { user } = await createLocalUser(database.db, "user");
    const caller = callerFor(database.db, { user, clock: time.clock });
    const session = await caller.workspace.launch({ workspaceId: desktop.id });
    expect(session.idleEndsAt).toEqual(new Date("2025-05-05T10:30:00Z"));

    time.advance(600);
    const beat = await caller.session.heartbeat({ sessionId: session.id });
    expect(beat.lastHeartbeatAt).toEqual(new Date("2025-05-05T10:10:00Z"));
    expect(beat.idleEndsAt).toEqual(new Date("2025-05-05T10:30:00Z"));

    const other = (await createLocalUser(database.db, "user")).user;
    await expectRefusal(
      callerFor(database.db, { user: other, clock: time.clock }).session.heartbeat({ sessionId: session.id }),
      "NOT_FOUND",
      "not_found",
    );
    await expectRefusal(
      caller.session.heartbeat({ sessionId: "7b0b1f5e-7a35-4d2c-9c43-8b7d1b0c9f10" }),
      "NOT_FOUND",
      "not_found",
    );
  });

  it("does not revive a session already past its idle deadline: it ends it", async () => {
    const time = manualClock(new Date("2025-05-05T10:00:00Z"));
    const { user } = await createLocalUser(database.db, "user");
    const caller = callerFor(database.db, { user, clock: time.clock });
    const session = await caller.workspace.launch({ workspaceId: desktop.id });
    time.advance(31 * 60);
    await expectRefusal(
      caller.session.heartbeat({ sessionId: session.id }),
      "CONFLICT",
      "session_not_active",
    );
    expect(await database.db.sessions.findById(session.id)).toMatchObject({
      status: "ended",
      endReason: "idle_timeout",
    });
  });
});

describe("session.disconnect", () => {
  it("lets the owner end a session (user_disconnected) with a note, once", async () => {
    const { user } = await createLocalUser(database.db, "user");
    const caller = callerFor(database.db, { user });
    const session = await caller.workspace.launch({ workspaceId: desktop.id });
    const ended = await caller.session.disconnect({ sessionId: session.id, note: "lunch" });
    expect(ended).toMatchObject({ status: "ended", endReason: "user_disconnected", endNote: "lunch" });
    await expectRefusal(
      caller.session.disconnect({ sessionId: session.id }),
      "CONFLICT",
      "session_not_active",
    );
    const entries = await database.db.audit.list({
      action: "session.disconnect",
      resourceId: session.id,
      limit: 10,
    });
    expect(entries.items).toHaveLength(1);
    expect(entries.items[0]).toMatchObject({ reason: "user_disconnected", details: { note: "lunch" } });
  });

  it("lets an admin end anyone's session (admin_disconnected) and refuses other people", async () => {
    const { user } = await createLocalUser(database.db, "user");
    const session = await callerFor(database.db, { user }).workspace.launch({ workspaceId: desktop.id });
    const stranger = (await createLocalUser(database.db, "neosc")).user;
    await expectRefusal(
      callerFor(database.db, { user: stranger }).session.disconnect({ sessionId: session.id }),
      "NOT_FOUND",
      "not_found",
    );
    const denied = await database.db.audit.list({ action: "session.disconnect", result: "denied", limit: 1 });
    expect(denied.items[0]).toMatchObject({ actor: { id: stranger.id }, reason: "not_owner" });

    const ended = await callerFor(database.db, { user: admin }).session.disconnect({
      sessionId: session.id,
      note: "maintenance",
    });
    expect(ended).toMatchObject({ endReason: "admin_disconnected", endNote: "maintenance" });
  });
});
