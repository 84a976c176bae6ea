import { describe, expect, it } from "vitest";
import { DEFAULT_CATALOGUE_ADDRESSES, defaultCatalogue } from "../src/domain/workspaces/default-catalogue.ts";
import { seedDefaultCatalogue } from "../src/domain/workspaces/workspaces.ts";
import { useTestDatabase } from "./support/database.ts";

const DEFAULT_CATALOGUE = defaultCatalogue(DEFAULT_CATALOGUE_ADDRESSES);

const database = useTestDatabase();

describe("seedDefaultCatalogue", () => {
  it("fills an empty catalogue once, even when three replicas start together", async () => {
    const created = await Promise.all([1, 2, 3].map(() => seedDefaultCatalogue(database.db)));
    expect(created.reduce((sum, count) => sum + count, 0)).toBe(DEFAULT_CATALOGUE.length);
    expect((await database.db.workspaces.countAll()).total).toBe(DEFAULT_CATALOGUE.length);
    expect(await seedDefaultCatalogue(database.db)).toBe(0);
    const entries = await database.db.audit.list({ action: "system.seedCatalogue", limit: 10 });
    expect(entries.items.length).toBeGreaterThanOrEqual(1);
    expect(entries.items[0]?.actor.id).toBe("system");
  });

  it("leaves a catalogue alone once it has any workspace", async () => {
    const first = await database.db.workspaces.list();
    for (const workspace of first.slice(1)) await database.db.workspaces.delete(workspace.id);
    expect(await seedDefaultCatalogue(database.db)).toBe(0);
    expect((await database.db.workspaces.countAll()).total).toBe(1);
  });
});
