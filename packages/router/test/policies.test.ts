import { DEFAULT_POLICIES, POLICY_KEYS } from "@neosc/core/policy";
import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { sweepSessions } from "../src/domain/sessions/sweeper.ts";
import { callerFor, createLocalUser, manualClock, uniqueEmail } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";
import { detailsOf, expectRefusal } from "./support/expect-error.ts";

/*
 * One test per policy of ARCHITECTURE §6, each showing the behaviour with the policy on and off.
 * Policies are switched through the admin procedures, and put back to their defaults after each test.
 */

const database = useTestDatabase();
let admin: User;
let desktop: Workspace;

const asAdmin = () => callerFor(database.db, { user: admin });

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
  const { workspaces } = await asAdmin().workspace.reset();
  const found = workspaces.find((w) => w.slug === "linux-desktop");
  if (found === undefined) throw new Error("linux-desktop missing");
  desktop = found;
});

afterEach(async () => {
  for (const key of POLICY_KEYS) {
    await database.db.policies.setSettings(key, DEFAULT_POLICIES[key].settings, null);
    await database.db.policies.setEnabled(key, DEFAULT_POLICIES[key].enabled, null);
  }
});

async function newUser() {
  return (await createLocalUser(database.db, "user")).user;
}

async function lastDenial(reason: string) {
  return (
    await database.db.audit.list({ action: "workspace.launch", result: "denied", limit: 50 })
  ).items.find((entry) => entry.reason === reason);
}

describe("mfa-required", () => {
  it("on: a launch needs an MFA login; off: a password login is enough", async () => {
    const user = await newUser();
    await callerFor(database.db, { user, mfa: false }).workspace.launch({ workspaceId: desktop.id });

    await asAdmin().policy.toggle({ key: "mfa-required", enabled: true });
    await expectRefusal(
      callerFor(database.db, { user, mfa: false }).workspace.launch({ workspaceId: desktop.id }),
      "FORBIDDEN",
      "mfa_required",
    );
    expect(await lastDenial("mfa_required")).toMatchObject({
      actor: { id: user.id },
      clientIp: "192.0.2.10",
    });
    const session = await callerFor(database.db, { user, mfa: true }).workspace.launch({
      workspaceId: desktop.id,
    });
    expect(session.status).toBe("active");
  });

  it("on: a sign-in through the IdP without its second factor is sent back to the IdP, not to enrolment", async () => {
    const user = await newUser();
    await asAdmin().policy.toggle({ key: "mfa-required", enabled: true });
    for (const method of ["sso", "pomerium"] as const) {
      const refused = await expectRefusal(
        callerFor(database.db, { user, method, mfa: false }).workspace.launch({ workspaceId: desktop.id }),
        "FORBIDDEN",
        "mfa_required",
      );
      expect(detailsOf(refused)).toEqual({ method });
      expect(refused.message).toBe(
        "Sign in again through single sign-on with your identity provider's second factor to launch workspaces",
      );
    }
    const local = await expectRefusal(
      callerFor(database.db, { user, mfa: false }).workspace.launch({ workspaceId: desktop.id }),
      "FORBIDDEN",
      "mfa_required",
    );
    expect(detailsOf(local)).toEqual({ method: "local" });
    expect(local.message).toBe("Sign in with a second factor to launch workspaces");
  });
});

describe("max-concurrent-sessions", () => {
  it("on with limit 2: of 50 parallel launches by one person exactly 2 start", async () => {
    await asAdmin().policy.update({ key: "max-concurrent-sessions", settings: { limit: 2 } });
    const user = await newUser();
    const caller = callerFor(database.db, { user });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => caller.workspace.launch({ workspaceId: desktop.id })),
    );
    const started = results.filter((result) => result.status === "fulfilled");
    expect(started).toHaveLength(2);
    expect(await database.db.sessions.countActiveByUser(user.id)).toBe(2);
    for (const result of results) {
      if (result.status === "rejected") {
        const error = await expectRefusal(
          Promise.reject(result.reason),
          "FORBIDDEN",
          "max_concurrent_sessions",
        );
        expect(detailsOf(error)).toEqual({ limit: 2, active: 2 });
      }
    }
    // Ending one frees its slot for exactly one more launch.
    const first = started[0];
    if (first?.status !== "fulfilled") throw new Error("unreachable");
    await caller.session.disconnect({ sessionId: first.value.id });
    await caller.workspace.launch({ workspaceId: desktop.id });
    await expectRefusal(
      caller.workspace.launch({ workspaceId: desktop.id }),
      "FORBIDDEN",
      "max_concurrent_sessions",
    );
  });

  it("off: no cap", async () => {
    await asAdmin().policy.toggle({ key: "max-concurrent-sessions", enabled: false });
    const user = await newUser();
    const caller = callerFor(database.db, { user });
    for (let i = 0; i < 6; i++) await caller.workspace.launch({ workspaceId: desktop.id });
    expect(await database.db.sessions.countActiveByUser(user.id)).toBe(6);
  });
});

describe("session-max-duration", () => {
  it("on: the session gets endsAt and the sweeper ends it there; off: it runs on", async () => {
    await asAdmin().policy.toggle({ key: "idle-timeout", enabled: false });
    await asAdmin().policy.update({ key: "session-max-duration", settings: { minutes: 60 } });
    const time = manualClock(new Date("2030-02-01T08:00:00Z"));
    const user = await newUser();
    const limited = await callerFor(database.db, { user, clock: time.clock }).workspace.launch({
      workspaceId: desktop.id,
    });
    expect(limited.endsAt).toEqual(new Date("2030-02-01T09:00:00Z"));

    await asAdmin().policy.toggle({ key: "session-max-duration", enabled: false });
    const unlimited = await callerFor(database.db, { user, clock: time.clock }).workspace.launch({
      workspaceId: desktop.id,
    });
    expect(unlimited.endsAt).toBeNull();

    time.advance(59 * 60);
    await sweepSessions({ db: database.db, clock: time.clock });
    expect((await database.db.sessions.findById(limited.id))?.status).toBe("active");

    time.advance(60);
    const swept = await sweepSessions({ db: database.db, clock: time.clock });
    expect(swept.maxDuration).toBeGreaterThanOrEqual(1);
    expect(await database.db.sessions.findById(limited.id)).toMatchObject({
      status: "ended",
      endReason: "max_duration",
      endedAt: new Date("2030-02-01T09:00:00Z"),
    });
    const audit = await database.db.audit.list({
      action: "session.expire",
      resourceId: limited.id,
      limit: 5,
    });
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ actor: { id: "system" }, reason: "max_duration" });

    time.advance(7 * 24 * 3600);
    await sweepSessions({ db: database.db, clock: time.clock });
    expect((await database.db.sessions.findById(unlimited.id))?.status).toBe("active");
  });
});

describe("idle-timeout", () => {
  it("on: real input keeps a session alive, an open portal does not, and the sweeper ends it when input stops; off: no idle end", async () => {
    await asAdmin().policy.toggle({ key: "session-max-duration", enabled: false });
    await asAdmin().policy.update({ key: "idle-timeout", settings: { minutes: 10 } });
    const time = manualClock(new Date("2030-03-01T08:00:00Z"));
    const user = await newUser();
    const caller = callerFor(database.db, { user, clock: time.clock });
    const session = await caller.workspace.launch({ workspaceId: desktop.id });
    expect(session.idleEndsAt).toEqual(new Date("2030-03-01T08:10:00Z"));

    time.advance(8 * 60);
    // The gateway saw a key press: what it writes (throttled) on real input.
    await database.db.sessions.recordInput(session.id, {
      at: time.clock(),
      idleEndsAt: new Date(time.clock().getTime() + 10 * 60_000),
    });
    time.advance(8 * 60);
    // A portal tab left open heartbeats, which no longer counts as activity.
    await caller.session.heartbeat({ sessionId: session.id });
    await sweepSessions({ db: database.db, clock: time.clock });
    expect((await database.db.sessions.findById(session.id))?.status).toBe("active");

    time.advance(3 * 60);
    const swept = await sweepSessions({ db: database.db, clock: time.clock });
    expect(swept.idleTimeout).toBeGreaterThanOrEqual(1);
    expect(await database.db.sessions.findById(session.id)).toMatchObject({
      status: "ended",
      endReason: "idle_timeout",
    });

    await asAdmin().policy.toggle({ key: "idle-timeout", enabled: false });
    const relaxed = await caller.workspace.launch({ workspaceId: desktop.id });
    expect(relaxed.idleEndsAt).toBeNull();
    time.advance(24 * 3600);
    await sweepSessions({ db: database.db, clock: time.clock });
    expect((await database.db.sessions.findById(relaxed.id))?.status).toBe("active");
    expect((await caller.session.heartbeat({ sessionId: relaxed.id })).idleEndsAt).toBeNull();
  });
});

describe("ip-allowlist", () => {
  it("on: launches only from listed IPv4/IPv6 blocks; off: from anywhere", async () => {
    const user = await newUser();
    const from = (clientIp: string | null) =>
      callerFor(database.db, { user, clientIp }).workspace.launch({ workspaceId: desktop.id });
    await asAdmin().policy.toggle({ key: "max-concurrent-sessions", enabled: false });

    await from("203.0.113.7");
    await asAdmin().policy.update({
      key: "ip-allowlist",
      settings: { cidrs: ["10.0.0.0/8", "2001:db8:abcd::/48"] },
    });
    await asAdmin().policy.toggle({ key: "ip-allowlist", enabled: true });

    await from("10.20.30.40");
    await from("::ffff:10.20.30.40");
    await from("2001:db8:abcd:1::42");
    for (const ip of ["203.0.113.7", "11.0.0.1", "2001:db8:abce::1", "::1", null]) {
      const error = await expectRefusal(from(ip), "FORBIDDEN", "ip_not_allowed");
      expect(detailsOf(error)).toEqual({ clientIp: ip });
    }
    expect(await lastDenial("ip_not_allowed")).toMatchObject({ actor: { id: user.id } });

    await asAdmin().policy.toggle({ key: "ip-allowlist", enabled: false });
    await from("203.0.113.7");
  });

  it("cannot be switched on, or emptied while on, with no blocks listed", async () => {
    await asAdmin().policy.update({ key: "ip-allowlist", settings: { cidrs: [] } });
    await expectRefusal(
      asAdmin().policy.toggle({ key: "ip-allowlist", enabled: true }),
      "BAD_REQUEST",
      "invalid_input",
    );
    expect((await database.db.policies.get("ip-allowlist")).enabled).toBe(false);

    await asAdmin().policy.update({ key: "ip-allowlist", settings: { cidrs: ["192.0.2.0/24"] } });
    await asAdmin().policy.toggle({ key: "ip-allowlist", enabled: true });
    await expectRefusal(
      asAdmin().policy.update({ key: "ip-allowlist", settings: { cidrs: [] } }),
      "BAD_REQUEST",
      "invalid_input",
    );
    expect((await database.db.policies.get("ip-allowlist")).settings.cidrs).toEqual(["192.0.2.0/24"]);
  });
});

describe("access-hours", () => {
  const newYork = { timeZone: "America/New_York", days: [1, 2, 3, 4, 5], start: "09:00", end: "17:00" };

  it("on: launches only inside the hours of the zone, and the sweeper ends sessions at close; off: any time", async () => {
    await asAdmin().policy.update({ key: "access-hours", settings: newYork });
    await asAdmin().policy.toggle({ key: "access-hours", enabled: true });
    await asAdmin().policy.toggle({ key: "idle-timeout", enabled: false });
    const user = await newUser();
    // Monday 2025-01-06: 13:30 UTC is 08:30 in New York (EST, UTC-5).
    const time = manualClock(new Date("2025-01-06T13:30:00Z"));
    const caller = callerFor(database.db, { user, clock: time.clock });

    const early = await expectRefusal(
      caller.workspace.launch({ workspaceId: desktop.id }),
      "FORBIDDEN",
      "outside_access_hours",
    );
    expect(detailsOf(early)).toEqual(newYork);
    time.set(new Date("2025-01-11T16:00:00Z")); // Saturday 11:00 local
    await expectRefusal(
      caller.workspace.launch({ workspaceId: desktop.id }),
      "FORBIDDEN",
      "outside_access_hours",
    );

    time.set(new Date("2025-01-06T21:30:00Z")); // Monday 16:30 local
    const session = await caller.workspace.launch({ workspaceId: desktop.id });
    time.set(new Date("2025-01-06T21:59:00Z"));
    await sweepSessions({ db: database.db, clock: time.clock });
    expect((await database.db.sessions.findById(session.id))?.status).toBe("active");
    time.set(new Date("2025-01-06T22:00:00Z")); // 17:00 local: closed
    const swept = await sweepSessions({ db: database.db, clock: time.clock });
    expect(swept.accessHours).toBeGreaterThanOrEqual(1);
    expect(await database.db.sessions.findById(session.id)).toMatchObject({
      status: "ended",
      endReason: "access_hours",
    });

    await asAdmin().policy.toggle({ key: "access-hours", enabled: false });
    time.set(new Date("2025-01-11T16:00:00Z"));
    const weekend = await caller.workspace.launch({ workspaceId: desktop.id });
    await sweepSessions({ db: database.db, clock: time.clock });
    expect((await database.db.sessions.findById(weekend.id))?.status).toBe("active");
  });
});

describe("self-registration", () => {
  it("on: auth.register opens an account with role user; off: FORBIDDEN self_registration_closed", async () => {
    const anonymous = callerFor(database.db, { user: null });
    const input = { email: uniqueEmail("signup"), name: "New Person", password: "a-long-password-1" };
    await expectRefusal(anonymous.auth.register(input), "FORBIDDEN", "self_registration_closed");
    expect(await database.db.users.findByEmail(input.email)).toBeNull();

    await asAdmin().policy.toggle({ key: "self-registration", enabled: true });
    const registered = await anonymous.auth.register(input);
    expect(registered.user).toMatchObject({ email: input.email, role: "user" });
    expect(registered.token.length).toBeGreaterThan(20);
  });
});

describe("local-login", () => {
  it("on: password sign-in works; off: FORBIDDEN local_login_disabled", async () => {
    const { email, password } = await createLocalUser(database.db, "user");
    const anonymous = callerFor(database.db, { user: null });
    expect((await anonymous.auth.login({ email, password })).user.email).toBe(email);

    await asAdmin().policy.toggle({ key: "local-login", enabled: false });
    await expectRefusal(anonymous.auth.login({ email, password }), "FORBIDDEN", "local_login_disabled");
  });
});
