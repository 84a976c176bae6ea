import type { ProcedurePath } from "./permissions.ts";

/** Where the REST face is served on the API's host; Pomerium routes this prefix on its own. */
export const REST_PATH_PREFIX = "/api/";

export type RestMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface RestRoute {
  method: RestMethod;
  /** Below `/api`; `{name}` segments are input fields of the procedure. */
  path: `/${string}`;
  /** One line for the reference page. */
  summary: string;
}

/**
 * The REST face of the procedures (served under `/api`, described at `/api/openapi.json`). Every
 * entry is the same tRPC procedure — same input and output schemas, role gate, audit and errors —
 * reached by a path and verb. Queries are GET; mutations use the other verbs. Procedures missing
 * here are browser flows (SSO callbacks, TOTP enrolment, password change, portal heartbeat) that
 * scripts have no use for.
 */
export const REST_ROUTES = {
  "auth.login": { method: "POST", path: "/auth/login", summary: "Sign in with email and password" },
  "auth.logout": { method: "POST", path: "/auth/logout", summary: "Sign out this login session" },
  "auth.config": { method: "GET", path: "/auth/config", summary: "Sign-in options of this installation" },
  "auth.me": { method: "GET", path: "/auth/me", summary: "The caller" },
  "workspace.list": { method: "GET", path: "/workspaces", summary: "Workspaces the caller may launch" },
  "workspace.get": { method: "GET", path: "/workspaces/{id}", summary: "One workspace" },
  "workspace.create": { method: "POST", path: "/workspaces", summary: "Add a workspace" },
  "workspace.update": { method: "PATCH", path: "/workspaces/{id}", summary: "Change a workspace" },
  "workspace.delete": { method: "DELETE", path: "/workspaces/{id}", summary: "Remove a workspace" },
  "workspace.launch": {
    method: "POST",
    path: "/workspaces/{workspaceId}/launch",
    summary: "Start a session of a workspace",
  },
  "workspace.stop": {
    method: "POST",
    path: "/workspaces/{workspaceId}/stop",
    summary: "End the caller's sessions of a workspace",
  },
  "workspace.reset": { method: "POST", path: "/catalogue/reset", summary: "Restore the default catalogue" },
  "session.list": { method: "GET", path: "/sessions", summary: "Sessions, newest first" },
  "session.active": { method: "GET", path: "/sessions/active", summary: "Active sessions" },
  "session.disconnect": {
    method: "POST",
    path: "/sessions/{sessionId}/disconnect",
    summary: "End a session",
  },
  "audit.list": { method: "GET", path: "/audit-logs", summary: "Audit entries, newest first" },
  "audit.verify": { method: "GET", path: "/audit-logs/verify", summary: "Check the audit hash chain" },
  "audit.checkpoint": {
    method: "POST",
    path: "/audit-logs/checkpoints",
    summary: "Sign a checkpoint of the audit chain's head",
  },
  "audit.export": {
    method: "GET",
    path: "/audit-logs/export",
    summary: "Export audit entries (JSONL or CSV)",
  },
  "recording.list": {
    method: "GET",
    path: "/sessions/{sessionId}/recordings",
    summary: "Recorded segments of a session",
  },
  "recording.chunk": {
    method: "GET",
    path: "/sessions/{sessionId}/recordings/{segment}",
    summary: "A piece of a stored recording segment (base64 of the gzip file)",
  },
  "recording.verify": {
    method: "GET",
    path: "/recordings/verify",
    summary: "Re-hash stored recordings against the audit chain",
  },
  "policy.list": { method: "GET", path: "/policies", summary: "Security policies" },
  "policy.toggle": { method: "PUT", path: "/policies/{key}/enabled", summary: "Turn a policy on or off" },
  "policy.update": { method: "PATCH", path: "/policies/{key}", summary: "Change a policy's settings" },
  "organization.list": { method: "GET", path: "/organizations", summary: "Organizations" },
  "organization.create": { method: "POST", path: "/organizations", summary: "Add an organization" },
  "organization.update": { method: "PATCH", path: "/organizations/{id}", summary: "Change an organization" },
  "organization.delete": {
    method: "DELETE",
    path: "/organizations/{id}",
    summary: "Delete an organization (only when it has no members or workspaces)",
  },
  "user.list": { method: "GET", path: "/users", summary: "People and service accounts" },
  "user.create": { method: "POST", path: "/users", summary: "Add a person (answers a one-time password)" },
  "user.setRole": { method: "PUT", path: "/users/{userId}/role", summary: "Change a role" },
  "user.disable": { method: "POST", path: "/users/{userId}/disable", summary: "Disable an account" },
  "user.enable": { method: "POST", path: "/users/{userId}/enable", summary: "Enable an account" },
  "user.resetPassword": {
    method: "POST",
    path: "/users/{userId}/reset-password",
    summary: "Give a local account a new one-time password (answers it once; ends its sign-ins)",
  },
  "user.remove": {
    method: "DELETE",
    path: "/users/{userId}",
    summary: "Remove a person (their sessions end; the audit log keeps who they were)",
  },
  "user.anonymize": {
    method: "POST",
    path: "/users/{userId}/anonymize",
    summary:
      "Anonymize a person in place (id kept for history; name, email and IdP link replaced; signed out)",
  },
  "user.resetMfa": {
    method: "POST",
    path: "/users/{userId}/reset-mfa",
    summary: "Remove a person's second factor and end their sessions",
  },
  "stats.overview": { method: "GET", path: "/stats", summary: "Usage statistics" },
  "apiToken.list": {
    method: "GET",
    path: "/tokens",
    summary: "API tokens of the caller (or of a service account)",
  },
  "apiToken.create": {
    method: "POST",
    path: "/tokens",
    summary: "Create an API token (the secret is shown once)",
  },
  "apiToken.revoke": { method: "DELETE", path: "/tokens/{id}", summary: "Revoke an API token" },
  "serviceAccount.list": { method: "GET", path: "/service-accounts", summary: "Service accounts" },
  "serviceAccount.create": { method: "POST", path: "/service-accounts", summary: "Add a service account" },
} as const satisfies Partial<Record<ProcedurePath, RestRoute>>;

export type RestProcedurePath = keyof typeof REST_ROUTES;

export function restRouteOf(path: ProcedurePath): RestRoute | undefined {
  return (REST_ROUTES as Partial<Record<ProcedurePath, RestRoute>>)[path];
}
