import { randomUUID } from "node:crypto";
import type { CreateWorkspaceInput } from "@neosc/core/workspace";
import { describe, expect, it } from "vitest";
import { slugify } from "../src/repositories/organizations.ts";
import { rejectionOf, useTestDatabase } from "./support.ts";

const handle = useTestDatabase();

function workspace(slug: string, overrides: Partial<CreateWorkspaceInput> = {}): CreateWorkspaceInput {
  return {
    slug,
    name: `Workspace ${slug}`,
    description: "",
    kind: "app",
    image: "kasmweb/firefox:1.16",
    url: null,
    cpu: 1,
    memoryMb: 2048,
    warm: 0,
    allowedRoles: ["user", "neosc", "admin"],
    organizationId: null,
    enabled: true,
    tags: [],
    ...overrides,
  };
}

describe("organizations repository", () => {
  it("creates, finds, updates and lists", async () => {
    const { db } = handle;
    const acme = await db.organizations.create({ name: "Acme", slug: "acme", domain: "acme.example" });
    expect(acme).toMatchObject({ name: "Acme", slug: "acme", externalId: null, domain: "acme.example" });
    expect(await db.organizations.findById(acme.id)).toEqual(acme);
    expect(await db.organizations.findBySlug("acme")).toEqual(acme);
    const renamed = await db.organizations.update(acme.id, { name: "Acme Corp", domain: null });
    expect(renamed).toMatchObject({ name: "Acme Corp", slug: "acme", domain: null });
    expect(await db.organizations.update(randomUUID(), { name: "x" })).toBeNull();
    await db.organizations.create({ name: "Beta", slug: "beta", domain: null });
    expect((await db.organizations.list()).map((org) => org.name)).toEqual(["Acme Corp", "Beta"]);
    expect(await db.organizations.count()).toBe(2);
  });

  it("rejects a taken slug", async () => {
    const { db } = handle;
    await db.organizations.create({ name: "Gamma", slug: "gamma", domain: null });
    const error = await rejectionOf(() =>
      db.organizations.create({ name: "Gamma 2", slug: "gamma", domain: null }),
    );
    expect(error).toMatchObject({ code: "CONFLICT", reason: "duplicate", details: { field: "slug" } });
  });

  it("creates a just-in-time organization once, even from parallel logins", async () => {
    const { db } = handle;
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        db.organizations.upsertByExternalId({ externalId: "zitadel-org-1", name: "Gamma" }),
      ),
    );
    expect(new Set(results.map((org) => org.id)).size).toBe(1);
    expect(results[0]).toMatchObject({ externalId: "zitadel-org-1", slug: "gamma-2" });
    expect((await db.organizations.findByExternalId("zitadel-org-1"))?.id).toBe(results[0]?.id);
    const renamed = await db.organizations.upsertByExternalId({
      externalId: "zitadel-org-1",
      name: "Gamma Renamed",
    });
    expect(renamed).toMatchObject({ id: results[0]?.id, name: "Gamma Renamed", slug: "gamma-2" });
  });

  it("gives an IdP's organization a domain only when no other organization holds it", async () => {
    const { db } = handle;
    const held = await db.organizations.create({ name: "Delta", slug: "delta", domain: "delta.example" });
    const fromIdp = await db.organizations.upsertByExternalId({
      externalId: "zitadel-org-delta",
      name: "Delta via IdP",
      domain: "delta.example",
    });
    expect(fromIdp.domain).toBeNull();
    expect((await db.organizations.findByDomain("delta.example")).map((org) => org.id)).toEqual([held.id]);
    // An admin then trying to take the IdP's own domain finds it claimed, and the IdP can drop it.
    const withOwn = await db.organizations.upsertByExternalId({
      externalId: "zitadel-org-delta",
      name: "Delta via IdP",
      domain: "idp-delta.example",
    });
    expect(withOwn.domain).toBe("idp-delta.example");
    const error = await rejectionOf(() => db.organizations.update(held.id, { domain: "idp-delta.example" }));
    expect(error).toMatchObject({ code: "CONFLICT", details: { field: "domain" } });
    const moved = await db.organizations.upsertByExternalId({
      externalId: "zitadel-org-delta",
      name: "Delta via IdP",
      domain: "delta-new.example",
    });
    expect(moved.domain).toBe("delta-new.example");
    // The domain it left is free again.
    expect(await db.organizations.update(held.id, { domain: "idp-delta.example" })).toMatchObject({
      domain: "idp-delta.example",
    });
  });

  it("derives valid slugs from names", () => {
    expect(slugify("ACME Corp.")).toBe("acme-corp");
    expect(slugify("Ünïcode  Ørg")).toMatch(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/);
    expect(slugify("!")).toBe("org-x");
    expect(slugify("a".repeat(200)).length).toBeLessThanOrEqual(64);
  });
});

describe("workspaces repository", () => {
  it("creates, finds, updates and deletes", async () => {
    const { db } = handle;
    const created = await db.workspaces.create(workspace("firefox", { tags: ["browser"] }));
    expect(created).toMatchObject({ slug: "firefox", kind: "app", tags: ["browser"], enabled: true });
    expect(await db.workspaces.findById(created.id)).toEqual(created);
    expect(await db.workspaces.findBySlug("firefox")).toEqual(created);
    const updated = await db.workspaces.update(created.id, { name: "Firefox ESR", enabled: false });
    expect(updated).toMatchObject({ id: created.id, name: "Firefox ESR", enabled: false, tags: ["browser"] });
    expect(await db.workspaces.update(randomUUID(), { name: "nothing" })).toBeNull();
    expect(await db.workspaces.delete(created.id)).toBe(true);
    expect(await db.workspaces.delete(created.id)).toBe(false);
    expect(await db.workspaces.findById(created.id)).toBeNull();
  });

  it("rejects a taken slug on create and on update", async () => {
    const { db } = handle;
    await db.workspaces.create(workspace("slack"));
    const other = await db.workspaces.create(workspace("teams"));
    expect(await rejectionOf(() => db.workspaces.create(workspace("slack")))).toMatchObject({
      code: "CONFLICT",
      reason: "duplicate",
      details: { field: "slug" },
    });
    expect(await rejectionOf(() => db.workspaces.update(other.id, { slug: "slack" }))).toMatchObject({
      code: "CONFLICT",
      details: { field: "slug" },
    });
  });

  it("lists by kind, tag, role, organization, enabled and search", async () => {
    const { db } = handle;
    const org = randomUUID();
    await db.workspaces.create(
      workspace("list-desktop", {
        name: "Ubuntu Desktop",
        kind: "desktop",
        tags: ["linux"],
        allowedRoles: ["admin"],
      }),
    );
    await db.workspaces.create(
      workspace("list-web", {
        name: "Wiki",
        kind: "web",
        image: null,
        url: "https://wiki.example",
        organizationId: org,
      }),
    );
    await db.workspaces.create(
      workspace("list-off", { name: "Old Tool", enabled: false, tags: ["linux", "legacy"] }),
    );

    const slugs = async (filter: Parameters<typeof db.workspaces.list>[0]) =>
      (await db.workspaces.list(filter)).map((ws) => ws.slug).filter((slug) => slug.startsWith("list-"));
    expect(await slugs({ kind: "desktop" })).toEqual(["list-desktop"]);
    expect(await slugs({ tag: "linux" })).toEqual(["list-off", "list-desktop"]);
    expect(await slugs({ role: "user" })).toEqual(["list-off", "list-web"]);
    expect(await slugs({ enabled: false })).toEqual(["list-off"]);
    expect(await slugs({ organizationIds: [null] })).toEqual(["list-off", "list-desktop"]);
    expect(await slugs({ organizationIds: [null, org], role: "user", enabled: true })).toEqual(["list-web"]);
    expect(await slugs({ search: "wiki" })).toEqual(["list-web"]);
    expect(await slugs({})).toEqual(["list-off", "list-desktop", "list-web"]);
  });

  it("restores a catalogue in place and reports what it removed", async () => {
    const { db } = handle;
    const keep = await db.workspaces.create(
      workspace("reset-keep", { name: "Changed name", enabled: false }),
    );
    const extra = await db.workspaces.create(workspace("reset-extra"));
    const { workspaces, removedIds } = await db.workspaces.replaceAll([
      workspace("reset-keep", { name: "Keep" }),
      workspace("reset-new", { name: "New" }),
    ]);
    expect(workspaces.map((ws) => ws.slug)).toEqual(["reset-keep", "reset-new"]);
    expect(workspaces[0]).toMatchObject({
      id: keep.id,
      name: "Keep",
      enabled: true,
      createdAt: keep.createdAt,
    });
    expect(removedIds).toContain(extra.id);
    expect(await db.workspaces.findById(extra.id)).toBeNull();
    expect(await db.workspaces.countAll()).toEqual({ total: 2, enabled: 2 });

    const twice = await Promise.all([
      db.workspaces.replaceAll([workspace("reset-keep"), workspace("reset-new")]),
      db.workspaces.replaceAll([workspace("reset-keep"), workspace("reset-new")]),
    ]);
    expect(twice[0].workspaces.map((ws) => ws.id)).toEqual(twice[1].workspaces.map((ws) => ws.id));
    expect((await db.workspaces.list()).map((ws) => ws.slug)).toEqual(["reset-keep", "reset-new"]);
  });
});
