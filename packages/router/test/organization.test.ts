import type { User } from "@neosc/core/user";
import { beforeAll, describe, expect, it } from "vitest";
import { callerFor, createLocalUser } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";
import { expectRefusal } from "./support/expect-error.ts";

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
