import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";

/** Example identifiers used by the tests, the golden files and the committed Kubernetes config. */
export const EXAMPLE = {
  domain: "kappa4.com",
  projectId: "123456789012345678",
  orgId: "987654321098765432",
  orgDomain: "neosc.manager.kappa4.com",
} as const;

export const ACTION_PATH = new URL("../zitadel/flat-roles.js", import.meta.url);

/** A project grant (Zitadel "authorization"): roles of one project given by one organization. */
export interface Grant {
  projectId: string;
  orgId: string;
  orgDomain: string;
  roles: string[];
}

/**
 * Claims Zitadel puts into the ID token / userinfo for a client of `projectId` with "user roles
 * inside ID token" on: the roles object under both claim names (REFERENCE.md, Zitadel).
 */
export function zitadelClaims(grants: Grant[], projectId: string): Record<string, unknown> {
  const roles: Record<string, Record<string, string>> = {};
  for (const grant of grants.filter((candidate) => candidate.projectId === projectId)) {
    for (const role of grant.roles) {
      roles[role] = { ...roles[role], [grant.orgId]: grant.orgDomain };
    }
  }
  return {
    sub: "281876543210987654",
    email: "person@kappa4.com",
    email_verified: true,
    name: "A Person",
    amr: ["pwd", "otp", "mfa"],
    "urn:zitadel:iam:user:resourceowner:id": EXAMPLE.orgId,
    "urn:zitadel:iam:user:resourceowner:primary_domain": EXAMPLE.orgDomain,
    ...(Object.keys(roles).length > 0
      ? {
          "urn:zitadel:iam:org:project:roles": roles,
          [`urn:zitadel:iam:org:project:${projectId}:roles`]: roles,
        }
      : {}),
  };
}

/**
 * Runs deploy/zitadel/flat-roles.js the way Zitadel's Actions v1 runtime calls it, with the
 * project id placeholder replaced as SETUP.md says, and returns the claims it set.
 */
export function runFlatRolesAction(
  grants: Grant[],
  projectId: string | null,
  existingClaims: Record<string, unknown> = {},
): Record<string, unknown> {
  const template = readFileSync(ACTION_PATH, "utf8");
  const source = projectId === null ? template : template.replaceAll("NEOSC_PROJECT_ID", projectId);
  const claims: Record<string, unknown> = { ...existingClaims };
  const ctx = {
    v1: {
      user: {
        grants: {
          count: grants.length,
          grants: grants.map((grant) => ({ projectId: grant.projectId, roles: grant.roles })),
        },
      },
    },
  };
  const api = {
    v1: {
      claims: {
        setClaim(key: string, value: unknown) {
          // Zitadel: "Sets any value if the key is not already present"; urn:zitadel:iam keys are ignored.
          if (key.startsWith("urn:zitadel:iam") || key in claims) return;
          claims[key] = value;
        },
      },
    },
  };
  runInNewContext(`${source}\nflatRoles(ctx, api);`, { ctx, api }, { timeout: 1000 });
  // Claims travel as JSON in the token; this also drops the vm realm's prototypes.
  return JSON.parse(JSON.stringify(claims));
}
