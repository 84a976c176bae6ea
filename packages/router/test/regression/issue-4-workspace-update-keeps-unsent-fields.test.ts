import { describe, expect, it } from "vitest";
import { callerFor, createLocalUser } from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";

/*
 * The update patch schema was built with `.partial()` over fields that carry defaults, so zod
 * filled every unsent field with its default: renaming a disabled, tagged workspace re-enabled it
 * and wiped its tags, CPU and organization.
 */

const database = useTestDatabase();

describe("issue 4: workspace.update keeps the fields it was not sent", () => {
  it("renaming a disabled, tagged workspace changes only its name", async () => {
    const { user: admin } = await createLocalUser(database.db, "admin");
    const caller = callerFor(database.db, { user: admin });
    const org = await caller.organization.create({ name: "Umbrella", slug: "umbrella" });
    const created = await caller.workspace.create({
      slug: "lab",
      name: "Lab",
      kind: "app",
      image: "kasmweb/lab:1",
      allowedRoles: ["neosc"],
      enabled: false,
      tags: ["science"],
      cpu: 8,
      memoryMb: 16_384,
      organizationId: org.id,
      description: "Keep me",
    });
    const renamed = await caller.workspace.update({ id: created.id, patch: { name: "Lab 2" } });
    expect(renamed).toEqual({ ...created, name: "Lab 2", updatedAt: renamed.updatedAt });
  });
});
