import { DomainError } from "@neosc/core/errors";
import { describe, expect, it } from "vitest";
import { claimsToIdentity, zitadelPublicConfig, zitadelScopes } from "../src/oidc.ts";

const PROJECT = "284193857412538114";
const org = { "284193857412538001": "kappa4.com" };

describe("claimsToIdentity", () => {
  it("reads roles from the generic roles object", () => {
    const identity = claimsToIdentity({
      sub: "1",
      "urn:zitadel:iam:org:project:roles": { user: org, neosc: org },
    });
    expect(identity.roles).toEqual(["user", "neosc"]);
    expect(identity.role).toBe("neosc");
    expect(identity.rolesAsserted).toBe(true);
  });

  it("reads the roles keys Pomerium flattens (`<claim>.<role>.<orgId>`)", () => {
    const identity = claimsToIdentity({
      sub: "1",
      "urn:zitadel:iam:org:project:roles.admin.284193857412538001": ["kappa4.com"],
      "urn:zitadel:iam:org:project:rolesX.neosc.1": ["not a roles claim"],
    });
    expect(identity.roles).toEqual(["admin"]);
    expect(identity.rolesAsserted).toBe(true);
  });

  it("reads the project-specific roles object only when the project id is known", () => {
    const claims = { sub: "1", [`urn:zitadel:iam:org:project:${PROJECT}:roles`]: { admin: org } };
    expect(claimsToIdentity(claims, { projectId: PROJECT }).role).toBe("admin");
    const withoutProject = claimsToIdentity(claims);
    expect(withoutProject.role).toBeUndefined();
    expect(withoutProject.rolesAsserted).toBe(false);
  });

  it("merges both roles objects and the flat claim, without duplicates", () => {
    const identity = claimsToIdentity(
      {
        sub: "1",
        "urn:zitadel:iam:org:project:roles": { user: org },
        [`urn:zitadel:iam:org:project:${PROJECT}:roles`]: { neosc: org },
        neosc_roles: ["user", "admin"],
      },
      { projectId: PROJECT },
    );
    expect(identity.roles).toEqual(["user", "neosc", "admin"]);
    expect(identity.role).toBe("admin");
  });

  it("reads the flat claim as an array or a comma-joined string, under a configurable name", () => {
    expect(claimsToIdentity({ sub: "1", neosc_roles: ["neosc"] }).roles).toEqual(["neosc"]);
    expect(claimsToIdentity({ sub: "1", neosc_roles: "user, Admin" }).roles).toEqual(["user", "admin"]);
    expect(claimsToIdentity({ sub: "1", app_roles: "neosc" }, { roleClaim: "app_roles" }).roles).toEqual([
      "neosc",
    ]);
    expect(claimsToIdentity({ sub: "1", neosc_roles: "neosc" }, { roleClaim: "app_roles" }).roles).toEqual(
      [],
    );
  });

  it("ignores unknown role names and malformed claims", () => {
    const identity = claimsToIdentity({
      sub: "1",
      "urn:zitadel:iam:org:project:roles": { superuser: org, owner: org },
      neosc_roles: [42, null, "root"],
    });
    expect(identity.roles).toEqual([]);
    expect(identity.role).toBeUndefined();
    expect(identity.rolesAsserted).toBe(true);
    expect(claimsToIdentity({ sub: "1", "urn:zitadel:iam:org:project:roles": ["admin"] }).rolesAsserted).toBe(
      false,
    );
    expect(claimsToIdentity({ sub: "1" }).rolesAsserted).toBe(false);
  });

  it("sets mfa only when amr contains mfa", () => {
    expect(claimsToIdentity({ sub: "1", amr: ["pwd", "otp", "mfa"] }).mfa).toBe(true);
    expect(claimsToIdentity({ sub: "1", amr: ["pwd"] }).mfa).toBe(false);
    expect(claimsToIdentity({ sub: "1", amr: "mfa" }).mfa).toBe(false);
    expect(claimsToIdentity({ sub: "1" }).mfa).toBe(false);
  });

  it("reads the organization from the resourceowner claims", () => {
    expect(
      claimsToIdentity({
        sub: "1",
        "urn:zitadel:iam:user:resourceowner:id": "284193857412538001",
        "urn:zitadel:iam:user:resourceowner:name": "Kappa Four",
        "urn:zitadel:iam:user:resourceowner:primary_domain": "kappa4.com",
      }).organization,
    ).toEqual({ externalId: "284193857412538001", name: "Kappa Four", domain: "kappa4.com" });
    expect(
      claimsToIdentity({ sub: "1", "urn:zitadel:iam:user:resourceowner:id": "42" }).organization,
    ).toEqual({ externalId: "42", name: null, domain: null });
    expect(claimsToIdentity({ sub: "1" }).organization).toBeNull();
  });

  it("normalizes email and derives a display name", () => {
    expect(claimsToIdentity({ sub: "1", email: " Ada@Example.COM ", email_verified: true })).toMatchObject({
      email: "ada@example.com",
      emailVerified: true,
      name: null,
    });
    expect(claimsToIdentity({ sub: "1", given_name: "Ada", family_name: "Lovelace" }).name).toBe(
      "Ada Lovelace",
    );
    expect(claimsToIdentity({ sub: "1", preferred_username: "ada" }).name).toBe("ada");
    expect(claimsToIdentity({ sub: "1" }).email).toBeNull();
  });

  it("refuses claims without a subject", () => {
    expect(() => claimsToIdentity({ email: "a@b.c" })).toThrow(DomainError);
  });
});

describe("Zitadel scopes and public config", () => {
  it("adds the project audience scope when the project id is known", () => {
    expect(zitadelScopes()).toEqual([
      "openid",
      "profile",
      "email",
      "urn:zitadel:iam:org:projects:roles",
      "urn:zitadel:iam:user:resourceowner",
    ]);
    expect(zitadelScopes(PROJECT)).toContain(`urn:zitadel:iam:org:project:id:${PROJECT}:aud`);
    expect(zitadelPublicConfig({ issuer: "https://manager.kappa4.com", clientId: "spa" })).toEqual({
      issuer: "https://manager.kappa4.com",
      clientId: "spa",
      scopes: zitadelScopes(),
    });
  });
});
