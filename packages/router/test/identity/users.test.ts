import type { User } from "@neosc/core/user";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveIdentity } from "../../src/domain/identity/identity.ts";
import {
  callerFor,
  createLocalUser,
  RecordingCookies,
  testServices,
  uniqueEmail,
} from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";
import { refusalOf } from "../support/expect-error.ts";

const database = useTestDatabase();
let admin: User;

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
});

const asAdmin = () => callerFor(database.db, { user: admin });

describe("user.create", () => {
  it("creates a local account with a one-time password that must be changed", async () => {
    const email = uniqueEmail("new");
    const { user, oneTimePassword } = await asAdmin().user.create({
      email,
      name: "New Person",
      role: "neosc",
    });
    expect(user).toMatchObject({ email, role: "neosc", mustChangePassword: true, source: "local" });
    const login = await callerFor(database.db).auth.login({ email, password: oneTimePassword });
    expect(login.user.mustChangePassword).toBe(true);
    const audit = await database.db.audit.list({ action: "user.create", resourceId: user.id, limit: 1 });
    expect(audit.items[0]).toMatchObject({ actor: { id: admin.id }, result: "success" });
    expect(JSON.stringify(audit.items[0])).not.toContain(oneTimePassword);
  });

  it("names the field of malformed input and refuses unknown organizations", async () => {
    const malformed = await refusalOf(
      asAdmin().user.create({ email: "not-an-email", name: "X", role: "user" }),
    );
    expect(malformed.code).toBe("BAD_REQUEST");
    expect(
      await refusalOf(
        asAdmin().user.create({
          email: uniqueEmail("org"),
          name: "X",
          role: "user",
          organizationId: "7b0c4a4e-9d56-4c1b-8f4e-2f1f8d1f0a11",
        }),
      ),
    ).toEqual({ code: "NOT_FOUND", reason: "not_found" });
  });
});

describe("user.setRole", () => {
  it("changes roles but never demotes the last enabled admin", async () => {
    const { user } = await createLocalUser(database.db, "user");
    await expect(asAdmin().user.setRole({ userId: user.id, role: "admin" })).resolves.toMatchObject({
      role: "admin",
    });
    await expect(asAdmin().user.setRole({ userId: user.id, role: "user" })).resolves.toMatchObject({
      role: "user",
    });

    const admins = await database.db.users.list({ role: "admin", disabled: false, limit: 200 });
    const others = admins.items.filter((candidate) => candidate.id !== admin.id);
    for (const other of others) await database.db.users.update(other.id, { disabled: true });
    expect(await refusalOf(asAdmin().user.setRole({ userId: admin.id, role: "neosc" }))).toEqual({
      code: "CONFLICT",
      reason: "last_admin",
    });
    expect(await refusalOf(asAdmin().user.disable({ userId: admin.id }))).toEqual({
      code: "CONFLICT",
      reason: "last_admin",
    });
    expect((await database.db.users.findById(admin.id))?.role).toBe("admin");
    for (const other of others) await database.db.users.update(other.id, { disabled: false });
  });

  it("answers NOT_FOUND for an unknown user", async () => {
    expect(
      await refusalOf(
        asAdmin().user.setRole({ userId: "7b0c4a4e-9d56-4c1b-8f4e-2f1f8d1f0a12", role: "user" }),
      ),
    ).toEqual({ code: "NOT_FOUND", reason: "not_found" });
  });
});

describe("user.disable / user.enable", () => {
  it("revokes the person's login sessions and ends their workspace sessions", async () => {
    const { email, password, user } = await createLocalUser(database.db, "user");
    const { token } = await callerFor(database.db).auth.login({ email, password });
    const workspace = await database.db.workspaces.create({
      slug: `ws-${Date.now()}`,
      name: "Terminal",
      description: "",
      kind: "web",
      image: null,
      url: "https://terminal.example.test",
      cpu: 1,
      memoryMb: 1024,
      warm: 0,
      allowedRoles: ["user"],
      organizationId: null,
      enabled: true,
      tags: [],
    });
    const now = new Date();
    const session = await database.db.sessions.createWithinLimit(
      {
        workspaceId: workspace.id,
        workspaceSlug: workspace.slug,
        workspaceName: workspace.name,
        workspaceKind: workspace.kind,
        userId: user.id,
        userEmail: user.email,
        organizationId: null,
        startedAt: now,
        clientIp: null,
        connectionUrl: workspace.url,
        endsAt: null,
        idleEndsAt: null,
      },
      null,
    );

    const disabled = await asAdmin().user.disable({ userId: user.id });
    expect(disabled.disabled).toBe(true);
    const resolved = await resolveIdentity(
      {
        db: database.db,
        clock: () => new Date(),
        request: { clientIp: null, userAgent: null },
        services: { ...testServices(), responseCookies: new RecordingCookies() },
      },
      { bearerToken: token },
    );
    expect(resolved.identity).toBeNull();
    expect(resolved.credentialError?.reason).toBe("session_revoked");
    expect(await database.db.sessions.findById(session?.id ?? "")).toMatchObject({
      status: "ended",
      endReason: "user_disabled",
    });
    expect((await refusalOf(callerFor(database.db).auth.login({ email, password }))).reason).toBe(
      "account_disabled",
    );

    await expect(asAdmin().user.enable({ userId: user.id })).resolves.toMatchObject({ disabled: false });
    await expect(callerFor(database.db).auth.login({ email, password })).resolves.toMatchObject({
      user: { id: user.id },
    });
  });

  it("lists users for admins with filters", async () => {
    const { user } = await createLocalUser(database.db, "neosc", { email: uniqueEmail("findme") });
    const page = await asAdmin().user.list({ search: user.email, limit: 10 });
    expect(page.items.map((item) => item.id)).toEqual([user.id]);
  });
});

async function runningSession(user: User) {
  const workspace = await database.db.workspaces.create({
    slug: `ws-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`,
    name: "Web",
    description: "",
    kind: "web",
    image: null,
    url: "https://web.example.test",
    cpu: 1,
    memoryMb: 512,
    warm: 0,
    allowedRoles: ["user"],
    organizationId: null,
    enabled: true,
    tags: [],
  });
  const session = await database.db.sessions.createWithinLimit(
    {
      workspaceId: workspace.id,
      workspaceSlug: workspace.slug,
      workspaceName: workspace.name,
      workspaceKind: workspace.kind,
      userId: user.id,
      userEmail: user.email,
      organizationId: null,
      startedAt: new Date(),
      clientIp: null,
      connectionUrl: workspace.url,
      endsAt: null,
      idleEndsAt: null,
    },
    null,
  );
  if (session === null) throw new Error("no session");
  return session;
}

function identityOfToken(token: string) {
  return resolveIdentity(
    {
      db: database.db,
      clock: () => new Date(),
      request: { clientIp: null, userAgent: null },
      services: { ...testServices(), responseCookies: new RecordingCookies() },
    },
    { bearerToken: token },
  );
}

describe("user.resetPassword", () => {
  it("gives a new one-time password that must be changed, revokes the person's logins, and audits it", async () => {
    const { email, password, user } = await createLocalUser(database.db, "user");
    const { token } = await callerFor(database.db).auth.login({ email, password });
    const reset = await asAdmin().user.resetPassword({ userId: user.id });
    expect(reset).toMatchObject({ user: { id: user.id, mustChangePassword: true }, revokedLoginSessions: 1 });
    expect(reset.oneTimePassword.length).toBeGreaterThanOrEqual(10);

    expect((await identityOfToken(token)).credentialError?.reason).toBe("session_revoked");
    expect((await refusalOf(callerFor(database.db).auth.login({ email, password }))).reason).toBe(
      "invalid_credentials",
    );
    const login = await callerFor(database.db).auth.login({ email, password: reset.oneTimePassword });
    expect(login.user.mustChangePassword).toBe(true);

    const entry = (
      await database.db.audit.list({ action: "user.resetPassword", resourceId: user.id, limit: 1 })
    ).items[0];
    expect(entry).toMatchObject({
      actor: { id: admin.id },
      result: "success",
      details: { revokedLoginSessions: 1 },
    });
    expect(JSON.stringify(entry)).not.toContain(reset.oneTimePassword);
  });

  it("refuses accounts that have no NeoSC password, and unknown people", async () => {
    const sso = await database.db.users.create({
      source: "sso",
      email: uniqueEmail("sso"),
      name: "SSO Person",
      role: "user",
      organizationId: null,
      externalId: `sub-${Date.now()}`,
    });
    expect(await refusalOf(asAdmin().user.resetPassword({ userId: sso.id }))).toEqual({
      code: "CONFLICT",
      reason: "not_local_account",
    });
    expect(
      await refusalOf(asAdmin().user.resetPassword({ userId: "7b0c4a4e-9d56-4c1b-8f4e-2f1f8d1f0a11" })),
    ).toEqual({ code: "NOT_FOUND", reason: "not_found" });
  });
});

describe("user.remove", () => {
  it("deletes the account, ends its sessions and logins, and leaves the audit log reading and intact", async () => {
    const { email, password, user } = await createLocalUser(database.db, "user");
    // Something the person did, recorded under their name.
    await callerFor(database.db, { user }).auth.changePassword({
      currentPassword: password,
      newPassword: "a-new-password-123",
    });
    const { token } = await callerFor(database.db).auth.login({ email, password: "a-new-password-123" });
    const session = await runningSession(user);

    const removed = await asAdmin().user.remove({ userId: user.id });
    expect(removed).toEqual({ userId: user.id, email, endedSessions: 1, revokedLoginSessions: 1 });
    expect(await database.db.users.findById(user.id)).toBeNull();
    expect((await identityOfToken(token)).identity).toBeNull();
    expect(await database.db.sessions.findById(session.id)).toMatchObject({
      status: "ended",
      endReason: "user_disabled",
      userEmail: email,
    });
    expect(
      (await refusalOf(callerFor(database.db).auth.login({ email, password: "a-new-password-123" }))).reason,
    ).toBe("invalid_credentials");

    // Their entries still name them as they were, and the chain still verifies.
    const theirs = await database.db.audit.list({ actorId: user.id, limit: 10 });
    expect(theirs.items.map((entry) => entry.action)).toContain("auth.changePassword");
    expect(theirs.items.every((entry) => entry.actor.email === email)).toBe(true);
    const entry = (await database.db.audit.list({ action: "user.remove", resourceId: user.id, limit: 1 }))
      .items[0];
    expect(entry).toMatchObject({
      actor: { id: admin.id },
      result: "success",
      details: { removed: { email, role: "user" }, endedSessions: 1, revokedLoginSessions: 1 },
    });
    expect((await asAdmin().audit.verify()).ok).toBe(true);

    // The email is free for a new account.
    await expect(asAdmin().user.create({ email, name: "Same Address", role: "user" })).resolves.toMatchObject(
      {
        user: { email },
      },
    );
    expect(await refusalOf(asAdmin().user.remove({ userId: user.id }))).toEqual({
      code: "NOT_FOUND",
      reason: "not_found",
    });
  });

  it("never removes the caller's own account or the last enabled admin", async () => {
    expect(await refusalOf(asAdmin().user.remove({ userId: admin.id }))).toEqual({
      code: "CONFLICT",
      reason: "own_account",
    });
    const { user: other } = await createLocalUser(database.db, "admin");
    const admins = await database.db.users.list({ role: "admin", disabled: false, limit: 200 });
    const rest = admins.items.filter((candidate) => candidate.id !== other.id);
    for (const one of rest) await database.db.users.update(one.id, { disabled: true });
    try {
      expect(await refusalOf(asAdmin().user.remove({ userId: other.id }))).toEqual({
        code: "CONFLICT",
        reason: "last_admin",
      });
      expect(await database.db.users.findById(other.id)).toMatchObject({ disabled: false });
    } finally {
      for (const one of rest) await database.db.users.update(one.id, { disabled: false });
    }
    await expect(asAdmin().user.remove({ userId: other.id })).resolves.toMatchObject({ userId: other.id });
  });
});
