import { CreateWorkspaceInputSchema } from "@neosc/core/workspace";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_CATALOGUE_ADDRESSES,
  defaultCatalogue,
} from "../../../src/domain/workspaces/default-catalogue.ts";

const DEFAULT_CATALOGUE = defaultCatalogue(DEFAULT_CATALOGUE_ADDRESSES);

describe("defaultCatalogue", () => {
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

  it("points its own web apps at this install's ports, and leaves out an inspector that is not started", () => {
    const urls = (inspectorPort: number) =>
      Object.fromEntries(defaultCatalogue({ apiPort: 18480, inspectorPort }).map((w) => [w.slug, w.url]));
    expect(urls(18490)).toMatchObject({
      "api-docs": "http://localhost:18480/api/docs",
      inspector: "http://127.0.0.1:18490/",
    });
    expect(urls(0)).not.toHaveProperty("inspector");
    expect(urls(0)).toHaveProperty("api-docs");
  });
});
