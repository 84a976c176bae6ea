import { CreateWorkspaceInputSchema } from "@neosc/core/workspace";
import { describe, expect, it } from "vitest";
import { DEFAULT_CATALOGUE } from "../../../src/domain/workspaces/default-catalogue.ts";

describe("DEFAULT_CATALOGUE", () => {
  it("holds only valid workspaces with unique slugs", () => {
    for (const workspace of DEFAULT_CATALOGUE) {
      expect(CreateWorkspaceInputSchema.parse(workspace)).toEqual(workspace);
    }
    const slugs = DEFAULT_CATALOGUE.map((workspace) => workspace.slug);
    expect(new Set(slugs).size).toBe(slugs.length);
  });

  it("shows each role a different set, with every kind present", () => {
    const visible = (role: "user" | "neosc" | "admin") =>
      DEFAULT_CATALOGUE.filter((workspace) => workspace.allowedRoles.includes(role)).map((w) => w.slug);
    expect(visible("user").length).toBeLessThan(visible("neosc").length);
    expect(visible("neosc").length).toBeLessThan(visible("admin").length);
    expect(new Set(DEFAULT_CATALOGUE.map((workspace) => workspace.kind))).toEqual(
      new Set(["desktop", "app", "web", "terminal"]),
    );
  });
});
