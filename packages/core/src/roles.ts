import { z } from "zod";

/** Roles from least to most privileged: admin > neosc > user. */
export const ROLES = ["user", "neosc", "admin"] as const;
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
};

/** One line on what each role may do, beside the role pickers. */
export const ROLE_DESCRIPTION: Record<Role, string> = {
  user: "Launches the workspaces open to users.",
  neosc: "Staff: also the workspaces meant for staff (role key “neosc” in the identity provider).",
  admin: "Everything: catalogue, policies, people, audit log.",
};

const rank: Record<Role, number> = { user: 0, neosc: 1, admin: 2 };

/** True when `role` is at least as privileged as `required`. */
export function hasRole(role: Role, required: Role): boolean {
  return rank[role] >= rank[required];
}

/** Admins see and manage everything, across organizations. */
export function isAdmin(who: { role: Role }): boolean {
  return hasRole(who.role, "admin");
}

/** The most privileged of several roles (an IdP may grant more than one). */
export function highestRole(roles: readonly Role[]): Role | undefined {
  let best: Role | undefined;
  for (const role of roles) {
    if (best === undefined || rank[role] > rank[best]) best = role;
  }
  return best;
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}
