import type { User } from "@neosc/core/user";
import { beforeAll, describe, expect, it } from "vitest";
import { callerFor, createLocalUser } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";
import { detailsOf, expectRefusal } from "./support/expect-error.ts";

const database = useTestDatabase();
let admin: User;

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
});

describe("organization procedures", () => {
  it("lets admins create and update organizations, audited, with unique slugs", async () => {
    const asAdmin = callerFor(database.db, { user: admin });
    const created = await asAdmin.organization.create({
      name: "Initech",
      slug: "initech",
      domain: "initech.test",
    });
    expect(created).toMatchObject({
      name: "Initech",
      slug: "initech",
      domain: "initech.test",
      externalId: null,
    });
    await expectRefusal(
      asAdmin.organization.create({ name: "Other", slug: "initech" }),
      "CONFLICT",
      "duplicate",
    );

    const updated = await asAdmin.organization.update({ id: created.id, name: "Initech Ltd", domain: null });
    expect(updated).toMatchObject({ name: "Initech Ltd", domain: null, slug: "initech" });
    const entries = await database.db.audit.list({ resourceId: created.id, limit: 10 });
    expect(entries.items.map((entry) => entry.action)).toEqual([
      "organization.update",
      "organization.create",
    ]);
    expect(entries.items[0]?.details).toEqual({
      before: { name: "Initech", domain: "initech.test" },
      after: { name: "Initech Ltd", domain: null },
    });
    await expectRefusal(
      asAdmin.organization.update({ id: "7b0b1f5e-7a35-4d2c-9c43-8b7d1b0c9f10", name: "Nobody" }),
      "NOT_FOUND",
      "not_found",
    );
  });

  it("lists all organizations with member counts for admins, and only their own for others", async () => {
    const asAdmin = callerFor(database.db, { user: admin });
    const acme = await asAdmin.organization.create({ name: "Acme", slug: "acme" });
    const globex = await asAdmin.organization.create({ name: "Globex", slug: "globex" });
    const member = (await createLocalUser(database.db, "user", { organizationId: acme.id })).user;
    await createLocalUser(database.db, "neosc", { organizationId: acme.id });
    const loner = (await createLocalUser(database.db, "user")).user;

    const all = await asAdmin.organization.list();
    const count = (id: string) => all.find((organization) => organization.id === id)?.memberCount;
    expect(count(acme.id)).toBe(2);
    expect(count(globex.id)).toBe(0);

    const own = await callerFor(database.db, { user: member }).organization.list();
    expect(own.map((organization) => organization.id)).toEqual([acme.id]);
    expect(own[0]?.memberCount).toBe(2);
    expect(await callerFor(database.db, { user: loner }).organization.list()).toEqual([]);
    await expectRefusal(
      callerFor(database.db, { user: member }).organization.update({ id: acme.id, name: "Mine now" }),
      "FORBIDDEN",
      "role_required",
    );
  });
});

describe("organization domains", () => {
  it("accepts only a real domain name, stores it normalized, and lets one organization hold it", async () => {
    const asAdmin = callerFor(database.db, { user: admin });
    for (const bad of [
      "not a domain",
      "https://acme.test",
      "acme",
      "acme.test/path",
      "a..test",
      "-acme.test",
    ]) {
      await expectRefusal(
        asAdmin.organization.create({ name: "Bad", slug: `bad-${Date.now()}`, domain: bad }),
        "BAD_REQUEST",
      );
    }
    const acme = await asAdmin.organization.create({
      name: "Acme",
      slug: "acme-domain",
      domain: " Acme.TEST. ",
    });
    expect(acme.domain).toBe("acme.test");
    await expectRefusal(
      asAdmin.organization.create({ name: "Acme 2", slug: "acme-domain-2", domain: "ACME.test" }),
      "CONFLICT",
      "duplicate",
    );
    const other = await asAdmin.organization.create({ name: "Other", slug: "other-domain" });
    await expectRefusal(
      asAdmin.organization.update({ id: other.id, domain: "acme.test" }),
      "CONFLICT",
      "duplicate",
    );
    await expectRefusal(asAdmin.organization.update({ id: other.id, domain: "acme" }), "BAD_REQUEST");
    // Saving an organization with its own domain is no conflict.
    await expect(
      asAdmin.organization.update({ id: acme.id, name: "Acme Inc", domain: "acme.test" }),
    ).resolves.toMatchObject({ name: "Acme Inc", domain: "acme.test" });
  });
});

describe("organization.delete", () => {
  it("deletes an empty organization and refuses one with members or workspaces, saying how many", async () => {
    const asAdmin = callerFor(database.db, { user: admin });
    const org = await asAdmin.organization.create({ name: "Doomed", slug: "doomed-org" });
    const { user: member } = await createLocalUser(database.db, "user", { organizationId: org.id });
    await createLocalUser(database.db, "user", { organizationId: org.id });
    let refusal = await expectRefusal(
      asAdmin.organization.delete({ id: org.id }),
      "CONFLICT",
      "organization_not_empty",
    );
    expect(detailsOf(refusal)).toEqual({ members: 2, workspaces: 0 });
    const denied = await database.db.audit.list({
      action: "organization.delete",
      resourceId: org.id,
      limit: 1,
    });
    expect(denied.items[0]).toMatchObject({ result: "denied", reason: "organization_not_empty" });

    await database.db.users.update(member.id, { organizationId: null });
    const others = await database.db.users.list({ organizationId: org.id, limit: 10 });
    for (const other of others.items) await database.db.users.update(other.id, { organizationId: null });
    const workspace = await database.db.workspaces.create({
      slug: `org-ws-${Date.now()}`,
      name: "Org only",
      description: "",
      kind: "web",
      image: null,
      url: "https://org.example.test",
      cpu: 1,
      memoryMb: 512,
      warm: 0,
      allowedRoles: ["user"],
      organizationId: org.id,
      enabled: true,
      tags: [],
    });
    refusal = await expectRefusal(
      asAdmin.organization.delete({ id: org.id }),
      "CONFLICT",
      "organization_not_empty",
    );
    expect(detailsOf(refusal)).toEqual({ members: 0, workspaces: 1 });
    await database.db.workspaces.delete(workspace.id);

    await expect(asAdmin.organization.delete({ id: org.id })).resolves.toEqual({ ok: true });
    expect(await database.db.organizations.findById(org.id)).toBeNull();
    const done = await database.db.audit.list({
      action: "organization.delete",
      resourceId: org.id,
      limit: 1,
    });
    expect(done.items[0]).toMatchObject({ result: "success", details: { slug: "doomed-org" } });
    await expectRefusal(asAdmin.organization.delete({ id: org.id }), "NOT_FOUND", "not_found");
  });

  it("lists an organization's members for admins through user.list", async () => {
    const asAdmin = callerFor(database.db, { user: admin });
    const org = await asAdmin.organization.create({ name: "Members", slug: "members-org" });
    const { user } = await createLocalUser(database.db, "neosc", { organizationId: org.id });
    const page = await asAdmin.user.list({ organizationId: org.id, limit: 10 });
    expect(page.items.map((item) => item.id)).toEqual([user.id]);
  });
});
