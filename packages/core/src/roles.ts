import { z } from "zod";

/**
 * Roles. `user`, `neosc` and `admin` are ordered (admin > neosc > user: each may do what the one
 * below may). `auditor` stands beside them: it reads the audit log, the sessions and their
 * recordings and changes nothing, launches nothing (AUDITOR_PROCEDURES in ./permissions.ts); it is
 * below admin and above no one.
 */
export const ROLES = ["user", "neosc", "admin", "auditor"] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

/**
 * What people read for each role. The stored value stays as the IdP sends it (Zitadel's role key
 * `neosc`); only the words change.
 */
export const ROLE_LABEL: Record<Role, string> = {
  user: "User",
  neosc: "Staff",
  admin: "Admin",
  auditor: "Auditor",
};

/** One line on what each role may do, beside the role pickers. */
export const ROLE_DESCRIPTION: Record<Role, string> = {
  user: "Launches the workspaces open to users.",
  neosc: "Staff: also the workspaces meant for staff (role key “neosc” in the identity provider).",
  admin: "Everything: catalogue, policies, people, audit log.",
  auditor: "Reads the audit log, sessions and recordings; changes nothing and launches no workspace.",
};

const rank: Record<Exclude<Role, "auditor">, number> = { user: 0, neosc: 1, admin: 2 };

/**
 * True when `role` is at least as privileged as `required`. The auditor has no rank: it meets only
 * `auditor` (which admins meet too), never `user`, so no gate meant for launching lets it through.
 */
export function hasRole(role: Role, required: Role): boolean {
  if (required === "auditor") return role === "auditor" || role === "admin";
  if (role === "auditor") return false;
  return rank[role] >= rank[required];
}

/** Admins and auditors read everyone's sessions, the audit log and recordings. */
export function readsEverything(who: { role: Role }): boolean {
  return hasRole(who.role, "auditor");
}

/** Admins see and manage everything, across organizations. */
export function isAdmin(who: { role: Role }): boolean {
  return hasRole(who.role, "admin");
}

/** The most privileged of several roles (an IdP may grant more than one). */
export function highestRole(roles: readonly Role[]): Role | undefined {
  let best: Role | undefined;
  for (const role of roles) {
    if (best === undefined || precedence[role] > precedence[best]) best = role;
  }
  return best;
}

/**
 * Which of several granted roles a person gets. An auditor granted `user` or `neosc` as well stays
 * an auditor (the grant was deliberate, and one who audits should not also launch: separation of
 * duties); `admin` covers everything the auditor may do.
 */
const precedence: Record<Role, number> = { user: 0, neosc: 1, auditor: 2, admin: 3 };

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}
