import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { beforeAll, describe, expect, it } from "vitest";
import { callerFor, createLocalUser, resetCatalogue } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";
import { expectRefusal } from "./support/expect-error.ts";

/*
 * The auditor role beyond the gate (the permission matrix has each procedure's cell): it reads
 * everyone's sessions, the audit log and the recordings, and every attempt to change something
 * is refused and audited, so an auditor's account cannot be used to act.
 */

const database = useTestDatabase();
let admin: User;
let auditor: User;
let desktop: Workspace;
let shell: Workspace;

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
  auditor = (await createLocalUser(database.db, "auditor")).user;
  const catalogue = await resetCatalogue(database.db, { user: admin });
  desktop = catalogue("linux-desktop");
  shell = catalogue("dev-terminal");
});

async function deniedEntry(action: string, actorId: string) {
  const page = await database.db.audit.list({ action, result: "denied", limit: 20 });
  return page.items.find((entry) => entry.actor.id === actorId);
}

describe("the auditor", () => {
  it("reads everyone's sessions, the audit log and the recordings", async () => {
    const alice = (await createLocalUser(database.db, "user")).user;
    const session = await callerFor(database.db, { user: alice }).workspace.launch({
      workspaceId: desktop.id,
    });
    const asAuditor = callerFor(database.db, { user: auditor });
    expect((await asAuditor.session.active({})).map((s) => s.id)).toContain(session.id);
    expect((await asAuditor.session.list({ limit: 50 })).items.map((s) => s.id)).toContain(session.id);
    const entries = await asAuditor.audit.list({ limit: 50 });
    expect(entries.items.some((entry) => entry.action === "workspace.launch")).toBe(true);
    expect((await asAuditor.audit.verify()).ok).toBe(true);
    expect(await asAuditor.recording.list({ sessionId: session.id })).toMatchObject({ segments: [] });
  });

  it("cannot end a session, change a policy, launch, connect or change a person (each refusal audited)", async () => {
    const alice = (await createLocalUser(database.db, "user")).user;
    const session = await callerFor(database.db, { user: alice }).workspace.launch({
      workspaceId: desktop.id,
    });
    const asAuditor = callerFor(database.db, { user: auditor });
    await expectRefusal(
      asAuditor.session.disconnect({ sessionId: session.id }),
      "FORBIDDEN",
      "role_required",
    );
    await expectRefusal(asAuditor.workspace.stop({ workspaceId: desktop.id }), "FORBIDDEN", "role_required");
    await expectRefusal(
      asAuditor.policy.update({ key: "idle-timeout", settings: { minutes: 1 } }),
      "FORBIDDEN",
      "role_required",
    );
    await expectRefusal(
      asAuditor.policy.toggle({ key: "recording", enabled: true }),
      "FORBIDDEN",
      "role_required",
    );
    await expectRefusal(
      asAuditor.workspace.launch({ workspaceId: desktop.id }),
      "FORBIDDEN",
      "role_required",
    );
    await expectRefusal(asAuditor.session.connect({ sessionId: session.id }), "FORBIDDEN", "role_required");
    await expectRefusal(
      asAuditor.user.setRole({ userId: auditor.id, role: "admin" }),
      "FORBIDDEN",
      "role_required",
    );
    expect(await database.db.sessions.findById(session.id)).toMatchObject({ status: "active" });
    for (const action of ["session.disconnect", "policy.update", "policy.toggle", "user.setRole"]) {
      expect(await deniedEntry(action, auditor.id), action).toMatchObject({
        reason: "role_required",
        actor: { role: "auditor" },
      });
    }
  });
});

describe("session.watch", () => {
  it("gives an admin a view-only ticket to someone's desktop, audited; anyone else is refused and audited", async () => {
    const alice = (await createLocalUser(database.db, "user")).user;
    const session = await callerFor(database.db, { user: alice }).workspace.launch({
      workspaceId: desktop.id,
    });
    const watched = await callerFor(database.db, { user: admin }).session.watch({ sessionId: session.id });
    expect(watched).toMatchObject({ protocol: "rfb" });
    expect(watched.ticket.length).toBeGreaterThan(20);
    const redeemed = await database.db.connectTickets.redeem(watched.ticket, new Date());
    expect(redeemed).toMatchObject({
      ok: true,
      ticket: { sessionId: session.id, userId: admin.id, watch: true },
    });
    const entries = await database.db.audit.list({
      action: "session.watch",
      resourceId: session.id,
      limit: 5,
    });
    expect(entries.items[0]).toMatchObject({
      result: "success",
      actor: { id: admin.id },
      details: { watched: alice.id },
    });
    // A person's own session.connect ticket is not a watch.
    const own = await callerFor(database.db, { user: alice }).session.connect({ sessionId: session.id });
    expect((await database.db.connectTickets.redeem(own.ticket, new Date())) as unknown).not.toMatchObject({
      ticket: { watch: true },
    });

    for (const role of ["user", "neosc", "auditor"] as const) {
      const caller = (await createLocalUser(database.db, role)).user;
      await expectRefusal(
        callerFor(database.db, { user: caller }).session.watch({ sessionId: session.id }),
        "FORBIDDEN",
        "role_required",
      );
      expect(await deniedEntry("session.watch", caller.id), role).toMatchObject({ reason: "role_required" });
    }
  });

  it("gives an admin a view-only ticket to someone's local shell, and refuses an ssh terminal, audited", async () => {
    const alice = (await createLocalUser(database.db, "user")).user;
    const session = await callerFor(database.db, { user: alice }).workspace.launch({ workspaceId: shell.id });
    const asAdmin = callerFor(database.db, { user: admin });
    const watched = await asAdmin.session.watch({ sessionId: session.id });
    expect(await database.db.connectTickets.redeem(watched.ticket, new Date())).toMatchObject({
      ok: true,
      ticket: { sessionId: session.id, userId: admin.id, watch: true },
    });

    // Each connection to an ssh target is a login of its own, not the person's shell.
    const ssh = await asAdmin.workspace.create({
      slug: "bastion-watch",
      name: "Bastion",
      kind: "terminal",
      driver: "ssh",
      sshTarget: {
        host: "bastion.internal",
        port: 22,
        username: "ops",
        hostKey: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
      },
      sshCredential: { kind: "password", password: "unused" },
      allowedRoles: ["user"],
    });
    const onSsh = await database.db.sessions.createWithinLimit(
      {
        workspaceId: ssh.id,
        workspaceSlug: ssh.slug,
        workspaceName: ssh.name,
        workspaceKind: "terminal",
        userId: alice.id,
        userEmail: alice.email,
        organizationId: null,
        startedAt: new Date(),
        clientIp: null,
        connectionUrl: null,
        endsAt: null,
        idleEndsAt: null,
      },
      null,
    );
    if (onSsh === null) throw new Error("no session");
    await expectRefusal(asAdmin.session.watch({ sessionId: onSsh.id }), "CONFLICT", "not_connectable");
    const refused = await database.db.audit.list({
      action: "session.watch",
      resourceId: onSsh.id,
      result: "denied",
      limit: 5,
    });
    expect(refused.items[0]).toMatchObject({ actor: { id: admin.id }, reason: "not_connectable" });
  });
});
