import type { Role } from "./roles.ts";

/**
 * Who may call each procedure (ARCHITECTURE §3). `public` needs no identity; a role means
 * "signed in with at least this role" (the auditor: AUDITOR_PROCEDURES below). Ownership rules (stop, disconnect) are checked in the
 * domain code on top of this gate. The router builds every procedure's gate from this table,
 * and the authorization matrix test is generated from it.
 */
export const PROCEDURE_ACCESS = {
  "auth.register": "public",
  "auth.login": "public",
  "auth.logout": "user",
  "auth.sso": "public",
  "auth.tokenExchange": "public",
  "auth.config": "public",
  "auth.me": "user",
  "auth.mfa.enroll": "user",
  "auth.mfa.confirm": "user",
  "auth.mfa.disable": "user",
  "auth.mfa.regenerateRecoveryCodes": "user",
  "auth.mfa.stepUp": "user",
  "auth.changePassword": "user",
  "workspace.list": "user",
  "workspace.get": "user",
  "workspace.create": "admin",
  "workspace.update": "admin",
  "workspace.delete": "admin",
  "workspace.launch": "user",
  "workspace.stop": "user",
  "workspace.reset": "admin",
  "session.list": "user",
  "session.active": "user",
  "session.heartbeat": "user",
  "session.disconnect": "user",
  "session.connect": "user",
  "session.watch": "admin",
  "audit.list": "admin",
  "audit.verify": "admin",
  "audit.export": "admin",
  "audit.checkpoint": "admin",
  "recording.list": "admin",
  "recording.chunk": "admin",
  "recording.verify": "admin",
  "policy.list": "user",
  "policy.toggle": "admin",
  "policy.update": "admin",
  "policy.preview": "admin",
  "organization.list": "user",
  "organization.create": "admin",
  "organization.update": "admin",
  "organization.delete": "admin",
  "user.list": "admin",
  "user.create": "admin",
  "user.setRole": "admin",
  "user.disable": "admin",
  "user.enable": "admin",
  "user.resetPassword": "admin",
  "user.remove": "admin",
  "user.anonymize": "admin",
  "user.resetMfa": "admin",
  "stats.overview": "admin",
  "apiToken.list": "user",
  "apiToken.create": "user",
  "apiToken.revoke": "user",
  "serviceAccount.list": "admin",
  "serviceAccount.create": "admin",
} as const satisfies Record<string, "public" | Role>;

export type ProcedurePath = keyof typeof PROCEDURE_ACCESS;
export type ProcedureAccess = (typeof PROCEDURE_ACCESS)[ProcedurePath];

export const PROCEDURE_PATHS = Object.keys(PROCEDURE_ACCESS) as ProcedurePath[];

/**
 * What the `auditor` role may call besides public procedures: its own account (sign out, MFA,
 * password) and reading the audit log, everyone's sessions and their recordings (replay and
 * verify; each download is audited) and the policies. Nothing that launches, connects, ends or
 * changes anything else. Listed by name rather than ranked, so a new procedure is closed to
 * auditors until it is added here.
 */
export const AUDITOR_PROCEDURES: ReadonlySet<ProcedurePath> = new Set<ProcedurePath>([
  "auth.logout",
  "auth.me",
  "auth.mfa.enroll",
  "auth.mfa.confirm",
  "auth.mfa.disable",
  "auth.mfa.regenerateRecoveryCodes",
  "auth.mfa.stepUp",
  "auth.changePassword",
  "session.list",
  "session.active",
  "audit.list",
  "audit.verify",
  "audit.export",
  "recording.list",
  "recording.chunk",
  "recording.verify",
  "policy.list",
]);
