import type { User } from "@neosc/core/user";
import type { CreateWorkspaceInput } from "@neosc/core/workspace";
import type { inferProcedureInput } from "@trpc/server";
import { beforeAll, describe, expect, it } from "vitest";
import type { LaunchResult } from "../src/context.ts";
import { DEFAULT_CATALOGUE_ADDRESSES, defaultCatalogue } from "../src/domain/workspaces/default-catalogue.ts";
import type { AppRouter } from "../src/root.ts";
import { callerFor, createCaller, createLocalUser, makeContext } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";
import { detailsOf, expectRefusal } from "./support/expect-error.ts";

const DEFAULT_CATALOGUE = defaultCatalogue(DEFAULT_CATALOGUE_ADDRESSES);

const database = useTestDatabase();
let admin: User;

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
  await callerFor(database.db, { user: admin }).workspace.reset();
});

const asAdmin = () => callerFor(database.db, { user: admin });

function workspaceInput(
  overrides: Partial<CreateWorkspaceInput> = {},
): inferProcedureInput<AppRouter["workspace"]["create"]> {
  const suffix = Math.random().toString(36).slice(2, 8);
  return {
    slug: `ws-${suffix}`,
    name: `Workspace ${suffix}`,
    kind: "desktop",
    driver: "local",
    program: "desktop",
    allowedRoles: ["user", "neosc", "admin"],
    ...overrides,
  };
}

async function lastAudit(action: string) {
  const page = await database.db.audit.list({ action, limit: 1 });
  return page.items[0];
}

describe("workspace.reset", () => {
  it("restores the default catalogue, removing others and ending their sessions", async () => {
    const extra = await asAdmin().workspace.create(workspaceInput());
    const { user } = await createLocalUser(database.db, "user");
    const session = await callerFor(database.db, { user }).workspace.launch({ workspaceId: extra.id });

    const result = await asAdmin().workspace.reset();
    expect(result.workspaces.map((w) => w.slug).sort()).toEqual(DEFAULT_CATALOGUE.map((w) => w.slug).sort());
    expect(result.removed).toBe(1);
    expect(result.endedSessions).toBe(1);
    expect(await database.db.workspaces.findById(extra.id)).toBeNull();
    expect((await database.db.sessions.findById(session.id))?.endReason).toBe("workspace_deleted");
    expect(await lastAudit("workspace.reset")).toMatchObject({ result: "success", actor: { id: admin.id } });
  });

  it("keeps ids of default workspaces and undoes edits to them", async () => {
    const before = await database.db.workspaces.findBySlug("firefox");
    if (before === null) throw new Error("firefox missing");
    await asAdmin().workspace.update({ id: before.id, patch: { name: "Renamed", enabled: false } });
    await asAdmin().workspace.reset();
    const after = await database.db.workspaces.findBySlug("firefox");
    expect(after).toMatchObject({ id: before.id, name: "Firefox", enabled: true });
  });
});

describe("workspace.list", () => {
  it("shows each role what it may launch, and admins everything", async () => {
    const slugs = async (role: "user" | "neosc" | "admin") => {
      const { user } = await createLocalUser(database.db, role);
      return (await callerFor(database.db, { user }).workspace.list({})).map((w) => w.slug);
    };
    const user = await slugs("user");
    const neosc = await slugs("neosc");
    expect(user).toContain("linux-desktop");
    expect(user).toContain("dev-terminal");
    expect(user).not.toContain("inspector");
    expect(user).not.toContain("admin-desktop");
    expect(neosc).toContain("dev-terminal");
    expect(neosc).toContain("inspector");
    expect(neosc).not.toContain("admin-desktop");
    expect(await slugs("admin")).toContain("admin-desktop");
  });

  it("hides disabled workspaces and other organizations' from non-admins", async () => {
    const mine = await database.db.organizations.create({
      name: "Mine",
      slug: `mine-${Date.now()}`,
      domain: null,
    });
    const theirs = await database.db.organizations.create({
      name: "Theirs",
      slug: `theirs-${Date.now()}`,
      domain: null,
    });
    const disabled = await asAdmin().workspace.create(workspaceInput({ enabled: false }));
    const ownOrg = await asAdmin().workspace.create(workspaceInput({ organizationId: mine.id }));
    const otherOrg = await asAdmin().workspace.create(workspaceInput({ organizationId: theirs.id }));
    const { user } = await createLocalUser(database.db, "user", { organizationId: mine.id });
    const caller = callerFor(database.db, { user });

    const ids = (await caller.workspace.list({})).map((w) => w.id);
    expect(ids).toContain(ownOrg.id);
    expect(ids).not.toContain(otherOrg.id);
    expect(ids).not.toContain(disabled.id);
    // Asking for disabled ones or another role changes nothing for a non-admin.
    const asked = await caller.workspace.list({ enabled: false, role: "admin" });
    expect(asked.map((w) => w.id)).not.toContain(disabled.id);
    expect(asked.every((w) => w.allowedRoles.includes("user"))).toBe(true);

    const all = (await asAdmin().workspace.list({})).map((w) => w.id);
    expect(all).toEqual(expect.arrayContaining([disabled.id, ownOrg.id, otherOrg.id]));
    const onlyDisabled = await asAdmin().workspace.list({ enabled: false });
    expect(onlyDisabled.map((w) => w.id)).toContain(disabled.id);
    expect(onlyDisabled.every((w) => !w.enabled)).toBe(true);
  });

  it("filters by kind and search", async () => {
    const { user } = await createLocalUser(database.db, "neosc");
    const web = await callerFor(database.db, { user }).workspace.list({ kind: "web" });
    expect(web.length).toBeGreaterThan(0);
    expect(web.every((w) => w.kind === "web")).toBe(true);
    const found = await callerFor(database.db, { user }).workspace.list({ search: "Inspector" });
    expect(found.map((w) => w.slug)).toEqual(["inspector"]);
  });
});

describe("workspace.get", () => {
  it("answers NOT_FOUND for a workspace the caller may not launch", async () => {
    const toolkit = await database.db.workspaces.findBySlug("admin-desktop");
    if (toolkit === null) throw new Error("admin-desktop missing");
    const { user } = await createLocalUser(database.db, "user");
    await expectRefusal(
      callerFor(database.db, { user }).workspace.get({ id: toolkit.id }),
      "NOT_FOUND",
      "not_found",
    );
    expect((await asAdmin().workspace.get({ id: toolkit.id })).slug).toBe("admin-desktop");
  });
});

describe("workspace.create / update / delete", () => {
  it("creates with defaults, refuses a duplicate slug and audits", async () => {
    const input = workspaceInput();
    const created = await asAdmin().workspace.create(input);
    expect(created).toMatchObject({ slug: input.slug, cpu: 1, memoryMb: 2048, enabled: true, tags: [] });
    expect(await lastAudit("workspace.create")).toMatchObject({
      resource: { type: "workspace", id: created.id },
      actor: { id: admin.id, email: admin.email, role: "admin" },
      clientIp: "192.0.2.10",
    });
    await expectRefusal(asAdmin().workspace.create(input), "CONFLICT", "duplicate");
  });

  it("refuses a workspace of an organization that does not exist", async () => {
    await expectRefusal(
      asAdmin().workspace.create(workspaceInput({ organizationId: "7b0b1f5e-7a35-4d2c-9c43-8b7d1b0c9f10" })),
      "BAD_REQUEST",
      "invalid_input",
    );
  });

  it("updates only the sent fields and re-checks kind against target on the merged document", async () => {
    const created = await asAdmin().workspace.create(workspaceInput({ tags: ["keep"], cpu: 2 }));
    const updated = await asAdmin().workspace.update({ id: created.id, patch: { name: "New name" } });
    expect(updated).toMatchObject({ name: "New name", tags: ["keep"], cpu: 2, image: created.image });

    const error = await expectRefusal(
      asAdmin().workspace.update({ id: created.id, patch: { kind: "web" } }),
      "BAD_REQUEST",
      "invalid_input",
    );
    expect(detailsOf(error)).toEqual({ field: "url" });
    const web = await asAdmin().workspace.update({
      id: created.id,
      patch: { kind: "web", url: "https://intranet.example.test/" },
    });
    expect(web.kind).toBe("web");
    expect(await lastAudit("workspace.update")).toMatchObject({
      details: { changed: ["kind", "url"], before: { kind: "desktop", url: null } },
    });
    await expectRefusal(
      asAdmin().workspace.update({ id: "7b0b1f5e-7a35-4d2c-9c43-8b7d1b0c9f10", patch: { name: "x" } }),
      "NOT_FOUND",
    );
  });

  it("deletes a workspace and ends its active sessions with reason workspace_deleted", async () => {
    const created = await asAdmin().workspace.create(workspaceInput());
    const { user } = await createLocalUser(database.db, "user");
    const session = await callerFor(database.db, { user }).workspace.launch({ workspaceId: created.id });

    expect(await asAdmin().workspace.delete({ id: created.id })).toEqual({ ok: true, endedSessions: 1 });
    const ended = await database.db.sessions.findById(session.id);
    expect(ended).toMatchObject({ status: "ended", endReason: "workspace_deleted" });
    expect(await lastAudit("workspace.delete")).toMatchObject({ details: { endedSessions: 1 } });
    await expectRefusal(asAdmin().workspace.delete({ id: created.id }), "NOT_FOUND", "not_found");
  });
});

describe("terminal workspaces", () => {
  const sshTarget = {
    host: "bastion.internal",
    port: 22,
    username: "ops",
    hostKey: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
  };

  it("keeps the ssh credential write-only: stored for the host, never in an output or the audit", async () => {
    const created = await asAdmin().workspace.create(
      workspaceInput({
        kind: "terminal",
        image: null,
        driver: "ssh",
        sshTarget,
        sshCredential: { kind: "password", password: "hunter2-terminal" },
      }),
    );
    expect(created).toMatchObject({ kind: "terminal", driver: "ssh", sshTarget, hasSshCredential: true });
    const listed = await asAdmin().workspace.list({ kind: "terminal" });
    const audit = await lastAudit("workspace.create");
    for (const output of [created, listed, audit]) {
      expect(JSON.stringify(output)).not.toContain("hunter2-terminal");
    }
    expect(await database.db.workspaces.findSshCredential(created.id)).toEqual({
      kind: "password",
      password: "hunter2-terminal",
    });

    const updated = await asAdmin().workspace.update({
      id: created.id,
      patch: { sshCredential: { kind: "password", password: "rotated-secret" } },
    });
    expect(updated.hasSshCredential).toBe(true);
    expect(JSON.stringify(await lastAudit("workspace.update"))).not.toContain("rotated-secret");
    expect(await database.db.workspaces.findSshCredential(created.id)).toMatchObject({
      password: "rotated-secret",
    });
  });

  it("names the field that is wrong: a host key that is no fingerprint, a terminal with no shell", async () => {
    const badKey = await expectRefusal(
      asAdmin().workspace.create(
        workspaceInput({
          kind: "terminal",
          image: null,
          driver: "ssh",
          sshTarget: { ...sshTarget, hostKey: "ssh-ed25519 AAAA" },
        }),
      ),
      "BAD_REQUEST",
    );
    expect(JSON.stringify(badKey.cause)).toContain("sshTarget");
    const noShell = await expectRefusal(
      asAdmin().workspace.create(workspaceInput({ kind: "terminal", image: null, driver: "static" })),
      "BAD_REQUEST",
    );
    expect(JSON.stringify(noShell.cause)).toContain("driver");
    const local = await asAdmin().workspace.create(
      workspaceInput({ kind: "terminal", image: null, driver: "local", program: "shell" }),
    );
    expect(local).toMatchObject({ kind: "terminal", hasSshCredential: false, sshTarget: null });
    await expectRefusal(
      asAdmin().workspace.update({ id: local.id, patch: { kind: "desktop" } }),
      "BAD_REQUEST",
      "invalid_input",
    );
  });
});

describe("workspace.launch", () => {
  it("starts a session whose connection URL is the portal's session page, for desktops and web workspaces alike", async () => {
    const { user } = await createLocalUser(database.db, "neosc");
    const caller = callerFor(database.db, { user });
    const desktop = await database.db.workspaces.findBySlug("linux-desktop");
    const web = await database.db.workspaces.findBySlug("inspector");
    if (desktop === null || web === null) throw new Error("catalogue missing");

    const a = await caller.workspace.launch({ workspaceId: desktop.id });
    expect(a).toMatchObject({
      status: "active",
      userId: user.id,
      workspaceSlug: "linux-desktop",
      connectionUrl: `/workspace/${a.id}`,
      clientIp: "192.0.2.10",
    });
    const b = await caller.workspace.launch({ workspaceId: web.id });
    // Never the app's own URL: that would go around the portal, the gateway and every policy.
    expect(b.connectionUrl).toBe(`/workspace/${b.id}`);
    expect(await lastAudit("workspace.launch")).toMatchObject({
      result: "success",
      resource: { type: "workspace", id: web.id },
      details: { sessionId: b.id },
    });
  });

  it("answers a role the workspace does not allow as NOT_FOUND, audited as role_not_allowed", async () => {
    const toolkit = await database.db.workspaces.findBySlug("admin-desktop");
    if (toolkit === null) throw new Error("admin-desktop missing");
    const { user } = await createLocalUser(database.db, "user");
    const error = await expectRefusal(
      callerFor(database.db, { user }).workspace.launch({ workspaceId: toolkit.id }),
      "NOT_FOUND",
      "not_found",
    );
    expect(detailsOf(error)).toEqual({ workspaceId: toolkit.id });
    expect(await lastAudit("workspace.launch")).toMatchObject({
      result: "denied",
      reason: "role_not_allowed",
      details: { role: "user", allowedRoles: ["admin"] },
      actor: { id: user.id },
      resource: { id: toolkit.id },
    });
    expect(await database.db.sessions.countActiveByUser(user.id)).toBe(0);
  });

  it("answers NOT_FOUND for unknown workspaces, other organizations' and disabled ones", async () => {
    const org = await database.db.organizations.create({
      name: "Elsewhere",
      slug: `else-${Date.now()}`,
      domain: null,
    });
    const foreign = await asAdmin().workspace.create(workspaceInput({ organizationId: org.id }));
    const disabled = await asAdmin().workspace.create(workspaceInput({ enabled: false }));
    const { user } = await createLocalUser(database.db, "user");
    const caller = callerFor(database.db, { user });
    await expectRefusal(caller.workspace.launch({ workspaceId: foreign.id }), "NOT_FOUND", "not_found");
    await expectRefusal(
      caller.workspace.launch({ workspaceId: "7b0b1f5e-7a35-4d2c-9c43-8b7d1b0c9f10" }),
      "NOT_FOUND",
      "not_found",
    );
    await expectRefusal(caller.workspace.launch({ workspaceId: disabled.id }), "NOT_FOUND", "not_found");
    expect(await lastAudit("workspace.launch")).toMatchObject({
      result: "denied",
      reason: "workspace_disabled",
    });
  });

  it("reports every launch outcome to the metrics observer", async () => {
    const outcomes: LaunchResult[] = [];
    const { user } = await createLocalUser(database.db, "user");
    const ctx = makeContext(database.db, { user });
    ctx.services.events = {
      workspaceLaunched: (result, seconds) => outcomes.push(seconds >= 0 ? result : "error"),
    };
    const caller = createCaller(ctx);
    const desktop = await database.db.workspaces.findBySlug("linux-desktop");
    const toolkit = await database.db.workspaces.findBySlug("admin-desktop");
    if (desktop === null || toolkit === null) throw new Error("catalogue missing");
    await caller.workspace.launch({ workspaceId: desktop.id });
    await caller.workspace.launch({ workspaceId: toolkit.id }).catch(() => {});
    expect(outcomes).toEqual(["success", "denied"]);
  });
});

describe("workspace.stop", () => {
  it("ends only the caller's own sessions of that workspace", async () => {
    const desktop = await database.db.workspaces.findBySlug("firefox");
    if (desktop === null) throw new Error("catalogue missing");
    const alice = (await createLocalUser(database.db, "user")).user;
    const bob = (await createLocalUser(database.db, "user")).user;
    const mine = await callerFor(database.db, { user: alice }).workspace.launch({ workspaceId: desktop.id });
    const theirs = await callerFor(database.db, { user: bob }).workspace.launch({ workspaceId: desktop.id });

    const { ended } = await callerFor(database.db, { user: alice }).workspace.stop({
      workspaceId: desktop.id,
    });
    expect(ended.map((s) => s.id)).toEqual([mine.id]);
    expect(ended[0]).toMatchObject({ status: "ended", endReason: "user_stopped" });
    expect((await database.db.sessions.findById(theirs.id))?.status).toBe("active");
    expect(await lastAudit("workspace.stop")).toMatchObject({
      reason: "user_stopped",
      resource: { id: mine.id },
    });

    const again = await callerFor(database.db, { user: alice }).workspace.stop({ workspaceId: desktop.id });
    expect(again.ended).toEqual([]);
  });
});
