import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { callerFor, createLocalUser, manualClock, resetCatalogue, TEST_CONFIG } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";
import { expectRefusal } from "./support/expect-error.ts";

const database = useTestDatabase();
let admin: User;
let desktop: Workspace;
let wiki: Workspace;

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
  const bySlug = await resetCatalogue(database.db, { user: admin });
  desktop = bySlug("linux-desktop");
  wiki = bySlug("api-docs");
  await callerFor(database.db, { user: admin }).policy.toggle({
    key: "max-concurrent-sessions",
    enabled: false,
  });
});

afterEach(async () => {
  await callerFor(database.db, { user: admin }).policy.toggle({ key: "ip-allowlist", enabled: false });
});

const lastDenial = async () =>
  (await database.db.audit.list({ action: "session.connect", result: "denied", limit: 1 })).items[0];

describe("session.connect", () => {
  it("gives the owner a ticket good for one connection within 60 s, audited", async () => {
    const { user } = await createLocalUser(database.db, "user");
    const time = manualClock(new Date("2026-12-01T10:00:00Z"));
    const clock = time.clock;
    const asUser = callerFor(database.db, { user, clock });
    const session = await asUser.workspace.launch({ workspaceId: desktop.id });

    const connect = await asUser.session.connect({ sessionId: session.id });
    expect(connect).toMatchObject({ url: "/gateway/connect", protocol: "rfb" });
    expect(connect.ticket).toMatch(/^[\w-]{43}$/);
    expect(connect.expiresAt).toEqual(new Date("2026-12-01T10:01:00Z"));

    const redeemed = await database.db.connectTickets.redeem(connect.ticket, clock());
    expect(redeemed).toMatchObject({ ok: true, ticket: { sessionId: session.id, userId: user.id } });
    expect(await database.db.connectTickets.redeem(connect.ticket, clock())).toEqual({
      ok: false,
      why: "replayed",
    });

    const late = await asUser.session.connect({ sessionId: session.id });
    expect(await database.db.connectTickets.redeem(late.ticket, new Date("2026-12-01T10:01:00Z"))).toEqual({
      ok: false,
      why: "expired",
    });
    expect(await database.db.connectTickets.redeem("made-up", clock())).toEqual({
      ok: false,
      why: "unknown",
    });

    const entries = await database.db.audit.list({
      action: "session.connect",
      resourceId: session.id,
      limit: 5,
    });
    expect(entries.items).toHaveLength(2);
    // The ticket is a secret: neither the audit log nor the stored claim holds it.
    expect(JSON.stringify(entries.items)).not.toContain(connect.ticket);
  });

  it("refuses everyone but the owner, admins included (others as if it did not exist), and audits it", async () => {
    const { user } = await createLocalUser(database.db, "user");
    const session = await callerFor(database.db, { user }).workspace.launch({ workspaceId: desktop.id });
    const stranger = (await createLocalUser(database.db, "user")).user;
    for (const [caller, code, reason] of [
      [stranger, "NOT_FOUND", "not_found"],
      [admin, "FORBIDDEN", "not_owner"],
    ] as const) {
      await expectRefusal(
        callerFor(database.db, { user: caller }).session.connect({ sessionId: session.id }),
        code,
        reason,
      );
      expect(await lastDenial()).toMatchObject({ actor: { id: caller.id }, reason: "not_owner" });
    }
    await expectRefusal(
      callerFor(database.db, { user }).session.connect({ sessionId: "00000000-0000-4000-8000-000000000000" }),
      "NOT_FOUND",
      "not_found",
    );
  });

  it("refuses an ended session, one past its deadline, and a web workspace", async () => {
    const { user } = await createLocalUser(database.db, "user");
    const time = manualClock(new Date("2026-12-01T10:00:00Z"));
    const clock = time.clock;
    const asUser = callerFor(database.db, { user, clock });
    const ended = await asUser.workspace.launch({ workspaceId: desktop.id });
    await asUser.session.disconnect({ sessionId: ended.id });
    await expectRefusal(asUser.session.connect({ sessionId: ended.id }), "CONFLICT", "session_not_active");

    const asAdmin = callerFor(database.db, { user: admin });
    await asAdmin.policy.update({ key: "session-max-duration", settings: { minutes: 5 } });
    await asAdmin.policy.toggle({ key: "session-max-duration", enabled: true });
    try {
      const due = await asUser.workspace.launch({ workspaceId: desktop.id });
      time.advance(5 * 60);
      await expectRefusal(asUser.session.connect({ sessionId: due.id }), "CONFLICT", "session_not_active");
      expect(await database.db.sessions.findById(due.id)).toMatchObject({ endReason: "max_duration" });
    } finally {
      await asAdmin.policy.toggle({ key: "session-max-duration", enabled: false });
    }

    const web = await asUser.workspace.launch({ workspaceId: wiki.id });
    await expectRefusal(asUser.session.connect({ sessionId: web.id }), "CONFLICT", "not_connectable");
  });

  it("gives a web app's owner a ticket to post to the session's own origin", async () => {
    const { user } = await createLocalUser(database.db, "user");
    const config = {
      ...TEST_CONFIG,
      apps: { mode: "host", scheme: "https", domain: "apps.portal.test" },
    } as const;
    const asUser = callerFor(database.db, { user, config });
    const session = await asUser.workspace.launch({ workspaceId: wiki.id });
    expect(session.connectionUrl).toBe(`/workspace/${session.id}`);
    const connect = await asUser.session.connect({ sessionId: session.id });
    expect(connect).toMatchObject({
      protocol: "http",
      url: `https://${session.id}.apps.portal.test/.neosc/enter`,
    });
    const redeemed = await database.db.connectTickets.redeem(connect.ticket, new Date());
    expect(redeemed).toMatchObject({ ok: true, ticket: { sessionId: session.id, userId: user.id } });

    const pathMode = callerFor(database.db, {
      user,
      config: { ...TEST_CONFIG, apps: { mode: "path", origin: "http://localhost:8080" } },
    });
    expect((await pathMode.session.connect({ sessionId: session.id })).url).toBe(
      `http://localhost:8080/apps/${session.id}/.neosc/enter`,
    );
  });

  it("re-checks the ip-allowlist: a session launched in the office cannot be opened from elsewhere", async () => {
    const { user } = await createLocalUser(database.db, "user");
    const session = await callerFor(database.db, { user, clientIp: "10.1.2.3" }).workspace.launch({
      workspaceId: desktop.id,
    });
    const asAdmin = callerFor(database.db, { user: admin });
    await asAdmin.policy.update({ key: "ip-allowlist", settings: { cidrs: ["10.0.0.0/8"] } });
    await asAdmin.policy.toggle({ key: "ip-allowlist", enabled: true });
    await callerFor(database.db, { user, clientIp: "10.1.2.3" }).session.connect({ sessionId: session.id });
    await expectRefusal(
      callerFor(database.db, { user, clientIp: "203.0.113.9" }).session.connect({ sessionId: session.id }),
      "FORBIDDEN",
      "ip_not_allowed",
    );
    expect(await lastDenial()).toMatchObject({ actor: { id: user.id }, reason: "ip_not_allowed" });
  });
});
