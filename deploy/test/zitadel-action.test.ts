import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FLAT_ROLES_CLAIM } from "../src/pomerium.ts";
import { ACTION_PATH, EXAMPLE, type Grant, runFlatRolesAction } from "./zitadel.ts";

function grant(projectId: string, roles: string[]): Grant {
  return { projectId, orgId: EXAMPLE.orgId, orgDomain: EXAMPLE.orgDomain, roles };
}

describe("Zitadel Action flat-roles.js", () => {
  const source = readFileSync(ACTION_PATH, "utf8");

  it("sets the claim the Pomerium policy and the API read", () => {
    expect(source).toContain(`setClaim("${FLAT_ROLES_CLAIM}"`);
    const claims = runFlatRolesAction([grant(EXAMPLE.projectId, ["admin"])], EXAMPLE.projectId);
    expect(claims).toEqual({ [FLAT_ROLES_CLAIM]: ["admin"] });
  });

  it("collects NeoSC roles from every grant of the project, once each", () => {
    const claims = runFlatRolesAction(
      [grant(EXAMPLE.projectId, ["user", "neosc"]), grant(EXAMPLE.projectId, ["neosc", "admin"])],
      EXAMPLE.projectId,
    );
    expect(claims[FLAT_ROLES_CLAIM]).toEqual(["user", "neosc", "admin"]);
  });

  it("ignores other projects and roles NeoSC does not know", () => {
    const claims = runFlatRolesAction(
      [grant("111111111111111111", ["admin"]), grant(EXAMPLE.projectId, ["superuser", "user"])],
      EXAMPLE.projectId,
    );
    expect(claims[FLAT_ROLES_CLAIM]).toEqual(["user"]);
  });

  it("sets an empty list when the person has no grant", () => {
    expect(runFlatRolesAction([], EXAMPLE.projectId)[FLAT_ROLES_CLAIM]).toEqual([]);
  });

  it("grants nothing until the project id placeholder is replaced", () => {
    expect(source).toContain('"NEOSC_PROJECT_ID"');
    const claims = runFlatRolesAction([grant(EXAMPLE.projectId, ["admin"])], null);
    expect(claims[FLAT_ROLES_CLAIM]).toEqual([]);
  });

  it("keeps to syntax every Zitadel Actions v1 (goja) runtime accepts, and a function named like the action", () => {
    const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    expect(code).toMatch(/^function flatRoles\(ctx, api\) \{/m);
    for (const construct of [
      "=>",
      "?.",
      "??",
      "async ",
      "await ",
      "class ",
      "import ",
      "export ",
      "require(",
    ]) {
      expect(code, construct).not.toContain(construct);
    }
    expect(code).not.toContain("urn:zitadel:iam");
  });
});
