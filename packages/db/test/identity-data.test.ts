import { randomUUID } from "node:crypto";
import { DEFAULT_POLICIES, POLICY_KEYS } from "@neosc/core/policy";
import { describe, expect, it } from "vitest";
import { rejectionOf, useTestDatabase } from "./support.ts";

const handle = useTestDatabase();

describe("login sessions repository", () => {
  const base = (userId: string) => ({
    userId,
    method: "local" as const,
    mfa: false,
    clientIp: "10.0.0.9",
    userAgent: "vitest",
    createdAt: new Date("2030-01-01T00:00:00.000Z"),
    expiresAt: new Date("2030-01-01T08:00:00.000Z"),
  });

  it("creates with a chosen id, finds active ones and revokes once", async () => {
    const { db } = handle;
    const id = randomUUID();
    const userId = randomUUID();
    const session = await db.loginSessions.create({ ...base(userId), id });
    expect(session).toMatchObject({ id, userId, revokedAt: null });
    expect(await db.loginSessions.findById(id)).toEqual(session);
    expect(await db.loginSessions.findActive(id, new Date("2030-01-01T01:00:00.000Z"))).toEqual(session);
    expect(await db.loginSessions.findActive(id, new Date("2030-01-01T08:00:00.000Z"))).toBeNull();

    const at = new Date("2030-01-01T02:00:00.000Z");
    expect(await db.loginSessions.revoke(id, at)).toBe(true);
    expect(await db.loginSessions.revoke(id, at)).toBe(false);
    expect(await db.loginSessions.findActive(id, new Date("2030-01-01T03:00:00.000Z"))).toBeNull();
    expect((await db.loginSessions.findById(id))?.revokedAt).toEqual(at);

    expect(await rejectionOf(() => db.loginSessions.create({ ...base(userId), id }))).toMatchObject({
      code: "CONFLICT",
      details: { field: "id" },
    });
  });

  it("revokes every session of a person except the current one, and deletes expired ones", async () => {
    const { db } = handle;
    const userId = randomUUID();
    const keep = await db.loginSessions.create(base(userId));
    const others = await Promise.all([
      db.loginSessions.create(base(userId)),
      db.loginSessions.create(base(userId)),
    ]);
    const stranger = await db.loginSessions.create(base(randomUUID()));
    const now = new Date("2030-01-01T01:00:00.000Z");
    expect(await db.loginSessions.revokeAllForUser(userId, now, { exceptId: keep.id })).toBe(2);
    expect(await db.loginSessions.findActive(keep.id, now)).not.toBeNull();
    for (const other of others) expect(await db.loginSessions.findActive(other.id, now)).toBeNull();
    expect(await db.loginSessions.findActive(stranger.id, now)).not.toBeNull();
    expect(await db.loginSessions.revokeAllForUser(userId, now)).toBe(1);

    const old = await db.loginSessions.create({
      ...base(userId),
      expiresAt: new Date("2020-01-01T00:00:00.000Z"),
    });
    expect(await db.loginSessions.deleteExpired(new Date("2025-01-01T00:00:00.000Z"))).toBeGreaterThanOrEqual(
      1,
    );
    expect(await db.loginSessions.findById(old.id)).toBeNull();
    expect(await db.loginSessions.findById(keep.id)).not.toBeNull();
  });
});

describe("login attempts repository", () => {
  it("counts failures per key in a window, clears a key, keeps statistics", async () => {
    const { db } = handle;
    const times = ["2041-05-01T10:00:00.000Z", "2041-05-01T10:20:00.000Z", "2041-05-01T12:00:00.000Z"];
    for (const time of times)
      await db.loginAttempts.recordFailure(["email:x@example.com", "ip:10.9.9.9"], new Date(time));
    await db.loginAttempts.recordFailure(
      ["email:y@example.com", "ip:10.9.9.9"],
      new Date("2041-05-02T00:30:00.000Z"),
    );

    const since = new Date("2041-05-01T10:10:00.000Z");
    expect(await db.loginAttempts.countSince("email:x@example.com", since)).toEqual({
      count: 2,
      oldestAt: new Date("2041-05-01T10:20:00.000Z"),
    });
    expect((await db.loginAttempts.countSince("ip:10.9.9.9", since)).count).toBe(3);
    expect(await db.loginAttempts.countSince("email:nobody@example.com", since)).toEqual({
      count: 0,
      oldestAt: null,
    });

    await db.loginAttempts.clear("email:x@example.com");
    expect((await db.loginAttempts.countSince("email:x@example.com", since)).count).toBe(0);
    expect((await db.loginAttempts.countSince("ip:10.9.9.9", since)).count).toBe(3);

    const from = new Date("2041-05-01T00:00:00.000Z");
    expect(await db.loginAttempts.failuresPerBucket("hour", from)).toEqual([
      { start: new Date("2041-05-01T10:00:00.000Z"), count: 2 },
      { start: new Date("2041-05-01T12:00:00.000Z"), count: 1 },
      { start: new Date("2041-05-02T00:00:00.000Z"), count: 1 },
    ]);
    expect(await db.loginAttempts.failuresPerBucket("day", from)).toEqual([
      { start: new Date("2041-05-01T00:00:00.000Z"), count: 3 },
      { start: new Date("2041-05-02T00:00:00.000Z"), count: 1 },
    ]);

    expect(await db.loginAttempts.prune(new Date("2041-05-01T11:00:00.000Z"))).toBe(2);
    expect((await db.loginAttempts.failuresPerBucket("day", from)).map((bucket) => bucket.count)).toEqual([
      1, 1,
    ]);
  });
});

describe("policies repository", () => {
  it("seeds defaults idempotently and lists every policy in order", async () => {
    const { db } = handle;
    await Promise.all([db.policies.seedDefaults(), db.policies.seedDefaults()]);
    await db.policies.seedDefaults();
    const policies = await db.policies.list();
    expect(policies.map((policy) => policy.key)).toEqual([...POLICY_KEYS]);
    for (const policy of policies) {
      expect({ enabled: policy.enabled, settings: policy.settings }).toEqual(DEFAULT_POLICIES[policy.key]);
    }
  });

  it("toggles and changes settings without overwriting either, and seeding keeps changes", async () => {
    const { db } = handle;
    const toggled = await db.policies.setEnabled("max-concurrent-sessions", false, "admin-1");
    expect(toggled).toMatchObject({ key: "max-concurrent-sessions", enabled: false, updatedBy: "admin-1" });
    const changed = await db.policies.setSettings("max-concurrent-sessions", { limit: 7 }, "admin-2");
    expect(changed).toMatchObject({ enabled: false, settings: { limit: 7 }, updatedBy: "admin-2" });
    await db.policies.seedDefaults();
    const limit = await db.policies.get("max-concurrent-sessions");
    expect(limit.settings.limit).toBe(7);
    expect(limit.enabled).toBe(false);

    const invalid = await rejectionOf(() =>
      db.policies.setSettings("max-concurrent-sessions", { limit: 0 }, null),
    );
    expect(invalid).toMatchObject({ code: "BAD_REQUEST", reason: "invalid_input" });
    const hours = await db.policies.setSettings(
      "access-hours",
      { timeZone: "Europe/Berlin", days: [1, 2], start: "08:00", end: "17:00" },
      null,
    );
    expect(hours.settings).toEqual({ timeZone: "Europe/Berlin", days: [1, 2], start: "08:00", end: "17:00" });
  });
});

describe("policies on an empty database", () => {
  const empty = useTestDatabase();

  it("answers defaults before seeding and creates a policy on first write", async () => {
    const { db } = empty;
    expect(await db.policies.get("self-registration")).toMatchObject({ enabled: false, settings: {} });
    expect((await db.policies.setEnabled("self-registration", true, null)).enabled).toBe(true);
    expect((await db.policies.get("self-registration")).enabled).toBe(true);
    expect((await db.policies.list()).find((policy) => policy.key === "idle-timeout")?.settings).toEqual({
      minutes: 30,
    });
  });
});
