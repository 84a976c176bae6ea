import type { Role } from "@neosc/core/roles";

export type NavIcon =
  | "home"
  | "sessions"
  | "account"
  | "workspaces"
  | "policies"
  | "audit"
  | "users"
  | "organizations"
  | "stats"
  | "serviceAccounts";

export interface NavItem {
  to: string;
  label: string;
  icon: NavIcon;
  /** Match the path exactly (the home link would otherwise match everything). */
  end?: boolean;
}

export interface Navigation {
  main: NavItem[];
  /** Empty unless the role may use the admin area (the server enforces it regardless). */
  admin: NavItem[];
}

const MAIN: NavItem[] = [
  { to: "/", label: "Home", icon: "home", end: true },
  { to: "/sessions", label: "Sessions", icon: "sessions" },
  { to: "/account", label: "Account", icon: "account" },
];

const ADMIN: NavItem[] = [
  { to: "/admin/workspaces", label: "Workspaces", icon: "workspaces" },
  { to: "/admin/policies", label: "Policies", icon: "policies" },
  { to: "/admin/audit", label: "Audit log", icon: "audit" },
  { to: "/admin/users", label: "Users", icon: "users" },
  { to: "/admin/organizations", label: "Organizations", icon: "organizations" },
  { to: "/admin/service-accounts", label: "Service accounts", icon: "serviceAccounts" },
  { to: "/admin/stats", label: "Stats", icon: "stats" },
];

/** The auditor reads: its sessions page lists everyone's, and of the admin area the audit log. */
const AUDITOR_MAIN: NavItem[] = MAIN.filter((item) => item.to !== "/");
const AUDITOR_ADMIN: NavItem[] = ADMIN.filter((item) => item.to === "/admin/audit");

/** The links a role sees. Admin links are for admins only (the auditor: the audit log). */
export function navigationFor(role: Role): Navigation {
  if (role === "auditor") return { main: AUDITOR_MAIN, admin: AUDITOR_ADMIN };
  return { main: MAIN, admin: canUseAdminArea(role) ? ADMIN : [] };
}

/** Admins and auditors see everyone's sessions, the audit log and the recordings. */
export function readsEverything(role: Role): boolean {
  return role === "admin" || role === "auditor";
}

/** The admin pages an auditor may open: the audit log and recordings' replay (all read-only). */
export function auditorMayOpen(pathname: string): boolean {
  return pathname === "/admin/audit" || pathname.startsWith("/admin/recordings/");
}

/**
 * Admin is the top role, so "at least admin" is "admin". Compared directly rather than through
 * `hasRole` because `@neosc/core/roles` pulls in zod, which the shell does not otherwise need.
 */
export function canUseAdminArea(role: Role): boolean {
  return role === "admin";
}
