import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { NewWorkspaceSession } from "../src/repositories/sessions.ts";
import { rejectionOf, useTestDatabase } from "./support.ts";

const handle = useTestDatabase();

function launch(userId: string, overrides: Partial<NewWorkspaceSession> = {}): NewWorkspaceSession {
  return {
    workspaceId: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
    workspaceSlug: "firefox",
    workspaceName: "Firefox",
    workspaceKind: "app",
    userId,
    userEmail: `${userId}@example.com`,
    organizationId: null,
    startedAt: new Date("2030-01-01T10:00:00.000Z"),
    clientIp: "10.0.0.1",
    connectionUrl: null,
    endsAt: null,
    idleEndsAt: null,
    ...overrides,
  };
}

describe("sessions repository", () => {
  it("creates, reads, heartbeats and ends a session once", async () => {
    const { db } = handle;
    const userId = randomUUID();
    const id = randomUUID();
    const session = await db.sessions.createWithinLimit(
      launch(userId, { id, connectionUrl: `/workspace/${id}` }),
      2,
    );
    expect(session).toMatchObject({ id, status: "active", endedAt: null, connectionUrl: `/workspace/${id}` });
    expect(session?.lastHeartbeatAt).toEqual(session?.startedAt);
    expect(await db.sessions.findById(id)).toEqual(session);
    expect((await db.sessions.findActiveByUserAndWorkspace(userId, session?.workspaceId ?? ""))?.id).toBe(id);

    const at = new Date("2030-01-01T10:05:00.000Z");
    const idleEndsAt = new Date("2030-01-01T10:35:00.000Z");
    const beaten = await db.sessions.heartbeat(id, { at });
    expect(beaten).toMatchObject({ lastHeartbeatAt: at, idleEndsAt: null });
    const input = await db.sessions.recordInput(id, { at, idleEndsAt });
    expect(input).toMatchObject({ lastInputAt: at, idleEndsAt });

    const endedAt = new Date("2030-01-01T11:00:00.000Z");
    const ended = await db.sessions.end(id, { reason: "user_stopped", at: endedAt, note: "done" });
    expect(ended).toMatchObject({ status: "ended", endReason: "user_stopped", endedAt, endNote: "done" });
    expect(await db.sessions.end(id, { reason: "admin_disconnected", at: endedAt })).toBeNull();
    expect((await db.sessions.findById(id))?.endReason).toBe("user_stopped");
    expect(await db.sessions.heartbeat(id, { at })).toBeNull();
    expect(await db.sessions.recordInput(id, { at, idleEndsAt })).toBeNull();
    expect(await db.sessions.countActiveByUser(userId)).toBe(0);

    const again = await rejectionOf(() => db.sessions.createWithinLimit(launch(userId, { id }), null));
    expect(again).toMatchObject({ code: "CONFLICT", reason: "duplicate", details: { field: "id" } });
  });

  it("starts exactly `limit` of 50 parallel launches by one person", async () => {
    const { db } = handle;
    const userId = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => db.sessions.createWithinLimit(launch(userId), 2)),
    );
    expect(results.filter((session) => session !== null)).toHaveLength(2);
    expect(await db.sessions.countActiveByUser(userId)).toBe(2);

    // Ending one frees exactly one slot, again under a parallel storm.
    const first = results.find((session) => session !== null);
    await db.sessions.end(first?.id ?? "", { reason: "user_stopped", at: new Date() });
    const second = await Promise.all(
      Array.from({ length: 20 }, () => db.sessions.createWithinLimit(launch(userId), 2)),
    );
    expect(second.filter((session) => session !== null)).toHaveLength(1);
    expect(await db.sessions.countActiveByUser(userId)).toBe(2);
  });

  it("does not let other people's sessions count, and null means no limit", async () => {
    const { db } = handle;
    const alice = randomUUID();
    const bob = randomUUID();
    expect(await db.sessions.createWithinLimit(launch(alice), 1)).not.toBeNull();
    expect(await db.sessions.createWithinLimit(launch(bob), 1)).not.toBeNull();
    expect(await db.sessions.createWithinLimit(launch(alice), 1)).toBeNull();
    const unlimited = await Promise.all(
      Array.from({ length: 5 }, () => db.sessions.createWithinLimit(launch(bob), null)),
    );
    expect(unlimited.every((session) => session !== null)).toBe(true);
    expect(await db.sessions.countActiveByUser(bob)).toBe(6);
    // With the limit switched on below what runs, nothing more starts.
    expect(await db.sessions.createWithinLimit(launch(bob), 3)).toBeNull();
    expect(await db.sessions.countActiveByUser(bob)).toBe(6);
  });

  it("ends a session for exactly one of many parallel callers", async () => {
    const { db } = handle;
    for (let round = 0; round < 5; round += 1) {
      const session = await db.sessions.createWithinLimit(launch(randomUUID()), 3);
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          db.sessions.end(session?.id ?? "", {
            reason: index % 2 ? "idle_timeout" : "max_duration",
            at: new Date(),
          }),
        ),
      );
      const winners = outcomes.filter((outcome) => outcome !== null);
      expect(winners).toHaveLength(1);
      const stored = await db.sessions.findById(session?.id ?? "");
      expect(stored?.status).toBe("ended");
      expect(stored?.endReason).toBe(winners[0]?.endReason);
    }
  });

  it("never brings an ended session back when heartbeats and input writes race the end", async () => {
    const { db } = handle;
    for (let round = 0; round < 5; round += 1) {
      const userId = randomUUID();
      const session = await db.sessions.createWithinLimit(launch(userId), 1);
      const id = session?.id ?? "";
      const at = new Date();
      await Promise.all([
        ...Array.from({ length: 5 }, () => db.sessions.heartbeat(id, { at })),
        db.sessions.end(id, { reason: "user_stopped", at }),
        ...Array.from({ length: 5 }, () => db.sessions.recordInput(id, { at, idleEndsAt: null })),
      ]);
      expect((await db.sessions.findById(id))?.status).toBe("ended");
      expect(await db.sessions.createWithinLimit(launch(userId), 1)).not.toBeNull();
    }
  });

  it("lists with filters and a keyset cursor, newest first", async () => {
    const { db } = handle;
    const userId = randomUUID();
    const workspaceId = randomUUID();
    const ids: string[] = [];
    for (let index = 0; index < 7; index += 1) {
      // Two sessions share each start time, so the cursor must break ties by id.
      const startedAt = new Date(Date.UTC(2031, 0, 1, 0, Math.floor(index / 2)));
      const session = await db.sessions.createWithinLimit(launch(userId, { workspaceId, startedAt }), null);
      ids.push(session?.id ?? "");
    }
    await db.sessions.end(ids[0] ?? "", { reason: "user_stopped", at: new Date() });

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await db.sessions.list({ limit: 3, cursor, userId });
      seen.push(...page.items.map((session) => session.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(ids));
    const all = await db.sessions.list({ limit: 50, userId });
    expect(all.items.map((session) => session.id)).toEqual(seen);
    const starts = all.items.map((session) => session.startedAt.getTime());
    expect(starts).toEqual([...starts].sort((a, b) => b - a));

    expect((await db.sessions.list({ limit: 50, userId, status: "ended" })).items.map((s) => s.id)).toEqual([
      ids[0],
    ]);
    expect((await db.sessions.list({ limit: 50, workspaceId, status: "active" })).items).toHaveLength(6);
    expect(await db.sessions.countActive({ workspaceId })).toBe(6);
    expect((await db.sessions.listActive({ userId })).map((s) => s.id).sort()).toEqual(ids.slice(1).sort());
    expect((await db.sessions.listActiveByUser(userId)).length).toBe(6);
  });

  it("finds sessions past their end or idle time", async () => {
    const { db } = handle;
    const userId = randomUUID();
    const now = new Date("2032-06-01T12:00:00.000Z");
    const past = new Date(now.getTime() - 1000);
    const future = new Date(now.getTime() + 60_000);
    const overdue = await db.sessions.createWithinLimit(
      launch(userId, { endsAt: past, idleEndsAt: future }),
      null,
    );
    const idle = await db.sessions.createWithinLimit(
      launch(userId, { endsAt: null, idleEndsAt: past }),
      null,
    );
    await db.sessions.createWithinLimit(launch(userId, { endsAt: future, idleEndsAt: future }), null);
    await db.sessions.createWithinLimit(launch(userId, { endsAt: null, idleEndsAt: null }), null);
    const endedOverdue = await db.sessions.createWithinLimit(launch(userId, { endsAt: past }), null);
    await db.sessions.end(endedOverdue?.id ?? "", { reason: "user_stopped", at: past });

    const expired = await db.sessions.findExpired(now);
    const mine = expired.filter((session) => session.userId === userId).map((session) => session.id);
    expect(mine.sort()).toEqual([overdue?.id, idle?.id].sort());
  });

  it("the sweeper's active sessions entries follow input and drop what a dead writer left", async () => {
    const { db, test } = handle;
    const raw = test.connection.client.db(test.dbName);
    const entries = raw.collection<{ _id: string; at: Date; idleEndsAt: Date | null }>("active_sessions");
    const now = new Date("2033-06-01T12:00:00.000Z");
    const past = new Date(now.getTime() - 1000);
    const future = new Date(now.getTime() + 60_000);
    const userId = randomUUID();
    const mine = async () =>
      (await db.sessions.findExpired(now)).filter((s) => s.userId === userId).map((s) => s.id);
    // Input moved the idle deadline: not due any more.
    const moved = await db.sessions.createWithinLimit(launch(userId, { idleEndsAt: past }), null);
    await db.sessions.recordInput(moved?.id ?? "", { at: now, idleEndsAt: future });
    expect(await mine()).toEqual([]);
    // An entry earlier than its session (a lost write): the session decides, the entry is repaired.
    const early = await db.sessions.createWithinLimit(launch(userId, { idleEndsAt: future }), null);
    await entries.updateOne({ _id: early?.id ?? "" }, { $set: { idleEndsAt: past } });
    expect(await mine()).toEqual([]);
    expect((await entries.findOne({ _id: early?.id ?? "" }))?.idleEndsAt).toEqual(future);
    // An end that died before deleting the entry; a launch that died before inserting its session.
    const ended = await db.sessions.createWithinLimit(launch(userId, { endsAt: past }), null);
    await raw
      .collection<{ _id: string }>("sessions")
      .updateOne({ _id: ended?.id ?? "" }, { $set: { status: "ended" } });
    const orphan = randomUUID();
    await entries.insertOne({ _id: orphan, at: new Date(Date.now() - 10 * 60_000), idleEndsAt: past });
    const inFlight = randomUUID();
    await entries.insertOne({ _id: inFlight, at: new Date(), idleEndsAt: past });
    const due = await db.sessions.createWithinLimit(launch(userId, { endsAt: past }), null);
    expect(await mine()).toEqual([due?.id]);
    expect(await entries.findOne({ _id: ended?.id ?? "" })).toBeNull();
    expect(await entries.findOne({ _id: orphan })).toBeNull();
    expect(await entries.findOne({ _id: inFlight })).not.toBeNull();
    // The end that wins removes the entry; the admin list reads the same entries.
    await db.sessions.end(due?.id ?? "", { reason: "max_duration", at: now });
    expect(await entries.findOne({ _id: due?.id ?? "" })).toBeNull();
    const listed = (await db.sessions.listActive()).filter((s) => s.userId === userId).map((s) => s.id);
    expect(listed.sort()).toEqual([moved?.id, early?.id].sort());
  });

  it("counts launches per hour and day and ranks workspaces", async () => {
    const { db } = handle;
    const from = new Date("2040-03-01T00:00:00.000Z");
    const launchAt = async (iso: string, workspaceId: string, name: string) =>
      db.sessions.createWithinLimit(
        launch(randomUUID(), { startedAt: new Date(iso), workspaceId, workspaceName: name }),
        null,
      );
    const a = randomUUID();
    const b = randomUUID();
    await launchAt("2040-03-01T09:10:00.000Z", a, "Alpha");
    await launchAt("2040-03-01T09:50:00.000Z", a, "Alpha");
    await launchAt("2040-03-01T11:00:00.000Z", b, "Beta");
    await launchAt("2040-03-02T08:00:00.000Z", a, "Alpha renamed");
    await launchAt("2040-02-28T08:00:00.000Z", b, "Beta");

    expect(await db.sessions.launchesPerBucket("hour", from)).toEqual([
      { start: new Date("2040-03-01T09:00:00.000Z"), count: 2 },
      { start: new Date("2040-03-01T11:00:00.000Z"), count: 1 },
      { start: new Date("2040-03-02T08:00:00.000Z"), count: 1 },
    ]);
    expect(await db.sessions.launchesPerBucket("day", from)).toEqual([
      { start: new Date("2040-03-01T00:00:00.000Z"), count: 3 },
      { start: new Date("2040-03-02T00:00:00.000Z"), count: 1 },
    ]);
    expect(await db.sessions.topWorkspaces(from, 5)).toEqual([
      { workspaceId: a, name: "Alpha renamed", launches: 3 },
      { workspaceId: b, name: "Beta", launches: 1 },
    ]);
    expect(await db.sessions.topWorkspaces(from, 1)).toHaveLength(1);
  });
});
