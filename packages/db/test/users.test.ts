import { describe, expect, it } from "vitest";
import type { NewUser } from "../src/repositories/users.ts";
import { rejectionOf, useTestDatabase } from "./support.ts";

const handle = useTestDatabase();

function local(email: string, overrides: Partial<NewUser> = {}): NewUser {
  return {
    source: "local",
    email,
    name: `Name ${email}`,
    role: "user",
    organizationId: null,
    passwordHash: `hash-of-${email}`,
    mustChangePassword: false,
    ...overrides,
  } as NewUser;
}

describe("users repository", () => {
  it("finds people by email and IdP subject through their lookup hints, which follow changes and heal when missing or stale", async () => {
    const { db, test } = handle;
    const lookups = test.connection.client
      .db(test.dbName)
      .collection<{ _id: string; targetId: string }>("lookups");
    const user = await db.users.create({
      source: "sso",
      email: "Hinted@Example.com",
      name: "Hinted",
      role: "user",
      organizationId: null,
      externalId: "hint-sub-1",
    });
    expect(await lookups.findOne({ _id: "email:hinted@example.com" })).toMatchObject({ targetId: user.id });
    expect(await lookups.findOne({ _id: "subject:hint-sub-1" })).toMatchObject({ targetId: user.id });

    // A change of email or subject: the new keys find the person, the old ones no one.
    await db.users.update(user.id, { email: "renamed@example.com", externalId: "hint-sub-2" });
    expect((await db.users.findByEmail("renamed@example.com"))?.id).toBe(user.id);
    expect((await db.users.findByExternalId("hint-sub-2"))?.id).toBe(user.id);
    expect(await lookups.findOne({ _id: "email:renamed@example.com" })).toMatchObject({ targetId: user.id });
    expect(await db.users.findByEmail("hinted@example.com")).toBeNull();
    expect(await db.users.findByExternalId("hint-sub-1")).toBeNull();
    // The stale hints went with the misses.
    expect(await lookups.findOne({ _id: "email:hinted@example.com" })).toBeNull();

    // A missing hint (an install from before them, a crash between the writes): found by the
    // scan, and the hint is back.
    await lookups.deleteOne({ _id: "email:renamed@example.com" });
    expect((await db.users.findAuthRecordByEmail("renamed@example.com"))?.user.id).toBe(user.id);
    expect(await lookups.findOne({ _id: "email:renamed@example.com" })).toMatchObject({ targetId: user.id });
    // A hint naming someone else: never their answer.
    const other = await db.users.create(local("other-hinted@example.com"));
    await lookups.updateOne({ _id: "email:renamed@example.com" }, { $set: { targetId: other.id } });
    expect((await db.users.findByEmail("renamed@example.com"))?.id).toBe(user.id);
    expect(await lookups.findOne({ _id: "email:renamed@example.com" })).toMatchObject({ targetId: user.id });

    // A removed person's hints go with them.
    expect(await db.users.delete(user.id)).toBe(true);
    expect(await lookups.findOne({ _id: "email:renamed@example.com" })).toBeNull();
    expect(await lookups.findOne({ _id: "subject:hint-sub-2" })).toBeNull();
    expect(await db.users.findByEmail("renamed@example.com")).toBeNull();
  });

  it("creates, finds and never exposes secrets outside the auth record", async () => {
    const { db } = handle;
    const user = await db.users.create(local("Alice@Example.com "));
    expect(user.email).toBe("alice@example.com");
    expect(user).not.toHaveProperty("passwordHash");
    expect(user).not.toHaveProperty("_id");
    expect(await db.users.findById(user.id)).toEqual(user);
    expect(await db.users.findByEmail("ALICE@example.com")).toEqual(user);
    const record = await db.users.findAuthRecordByEmail("alice@example.com");
    expect(record?.passwordHash).toBe("hash-of-Alice@Example.com ");
    expect(record?.totpSecret).toBeNull();
    expect((await db.users.findAuthRecordById(user.id))?.user).toEqual(user);
    expect(await db.users.findById("00000000-0000-4000-8000-000000000000")).toBeNull();
  });

  it("creates external users found by their IdP subject", async () => {
    const { db } = handle;
    const user = await db.users.create({
      source: "sso",
      email: "sso-person@example.com",
      name: "SSO Person",
      role: "neosc",
      organizationId: null,
      externalId: "zitadel-sub-1",
    });
    expect(user.source).toBe("sso");
    expect((await db.users.findByExternalId("zitadel-sub-1"))?.id).toBe(user.id);
    expect((await db.users.findAuthRecordById(user.id))?.passwordHash).toBeNull();
  });

  it("rejects a taken email with CONFLICT/duplicate naming the field", async () => {
    const { db } = handle;
    await db.users.create(local("taken@example.com"));
    const error = await rejectionOf(() => db.users.create(local("TAKEN@example.com")));
    expect(error).toMatchObject({ code: "CONFLICT", reason: "duplicate", details: { field: "email" } });

    const other = await db.users.create(local("other@example.com"));
    const onUpdate = await rejectionOf(() => db.users.update(other.id, { email: "taken@example.com" }));
    expect(onUpdate).toMatchObject({ code: "CONFLICT", reason: "duplicate", details: { field: "email" } });
  });

  it("updates role, disabled flag, password, TOTP and last login", async () => {
    const { db } = handle;
    const user = await db.users.create(local("changes@example.com"));
    const promoted = await db.users.update(user.id, { role: "admin", disabled: true });
    expect(promoted).toMatchObject({ role: "admin", disabled: true });
    expect(promoted?.updatedAt.getTime()).toBeGreaterThanOrEqual(user.updatedAt.getTime());

    await db.users.setPassword(user.id, "new-hash", { mustChangePassword: true });
    const record = await db.users.findAuthRecordById(user.id);
    expect(record?.passwordHash).toBe("new-hash");
    expect(record?.user.mustChangePassword).toBe(true);

    expect((await db.users.setTotp(user.id, { secret: "SECRET", enabled: false }))?.totpEnabled).toBe(false);
    expect((await db.users.findAuthRecordById(user.id))?.totpSecret).toBe("SECRET");
    expect((await db.users.setTotp(user.id, { secret: "SECRET", enabled: true }))?.totpEnabled).toBe(true);
    expect((await db.users.setTotp(user.id, { secret: null, enabled: false }))?.totpEnabled).toBe(false);
    expect((await db.users.findAuthRecordById(user.id))?.totpSecret).toBeNull();

    const at = new Date("2030-01-02T03:04:05.000Z");
    await db.users.recordLogin(user.id, at);
    expect((await db.users.findById(user.id))?.lastLoginAt).toEqual(at);
    expect(await db.users.update("00000000-0000-4000-8000-000000000000", { role: "user" })).toBeNull();
  });

  it("accepts each TOTP step once, even when the same code is raced", async () => {
    const { db } = handle;
    const user = await db.users.create(local("totp@example.com"));
    const results = await Promise.all(
      Array.from({ length: 10 }, () => db.users.consumeTotpStep(user.id, 1000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await db.users.consumeTotpStep(user.id, 999)).toBe(false);
    expect(await db.users.consumeTotpStep(user.id, 1001)).toBe(true);
  });

  it("lists with filters and a keyset cursor, and counts", async () => {
    const { db } = handle;
    const org = "11111111-1111-4111-8111-111111111111";
    for (let index = 0; index < 7; index += 1) {
      await db.users.create(
        local(`page-${index}@list.example`, {
          role: index % 2 === 0 ? "neosc" : "user",
          organizationId: org,
        }),
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await db.users.list({ limit: 3, cursor, search: "list.example" });
      seen.push(...page.items.map((user) => user.email));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 7 }, (_, index) => `page-${index}@list.example`));

    const neosc = await db.users.list({ limit: 50, role: "neosc", organizationId: org });
    expect(neosc.items.map((user) => user.email)).toEqual([
      "page-0@list.example",
      "page-2@list.example",
      "page-4@list.example",
      "page-6@list.example",
    ]);
    expect(neosc.nextCursor).toBeNull();
    expect((await db.users.list({ limit: 50, search: "PAGE-3" })).items).toHaveLength(1);
    expect((await db.users.list({ limit: 50, search: ".*" })).items).toHaveLength(0);

    expect(await db.users.count({ organizationId: org })).toBe(7);
    expect((await db.users.countByOrganization())[org]).toBe(7);
    const byRole = await db.users.countByRole();
    expect(Object.keys(byRole).sort()).toEqual(["admin", "auditor", "neosc", "user"]);
    expect(byRole.neosc).toBeGreaterThanOrEqual(4);
    expect(byRole.admin + byRole.neosc + byRole.user).toBe(await db.users.count());

    const bad = await rejectionOf(() => db.users.list({ limit: 3, cursor: "not-a-cursor" }));
    expect(bad).toMatchObject({ code: "BAD_REQUEST", reason: "invalid_input" });
  });
});
