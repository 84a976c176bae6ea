import type { ApiTokenScope } from "./api-token.ts";
import type { ProcedurePath } from "./permissions.ts";
import type { PolicySettings } from "./policy.ts";
import type { Role } from "./roles.ts";
import type { SessionEndReason } from "./session.ts";
import type { AuthMethod, UserSource } from "./user.ts";
import type { WorkspaceKind } from "./workspace.ts";

/**
 * Domain errors: thrown by domain code, mapped to transport codes in exactly one adapter
 * (packages/router). `reason` is a stable machine-readable code the portal turns into words.
 */
export const DOMAIN_ERROR_CODES = [
  "BAD_REQUEST",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "TOO_MANY_REQUESTS",
  "UNAVAILABLE",
] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export const REASONS = [
  // identity
  "not_authenticated",
  "invalid_credentials",
  "account_disabled",
  "session_revoked",
  "session_expired",
  "invalid_token",
  "invalid_assertion",
  "totp_required",
  "invalid_totp",
  "totp_not_enrolled",
  "totp_already_enrolled",
  "password_change_required",
  "throttled",
  "sso_not_configured",
  "sso_failed",
  "csrf_rejected",
  "token_revoked",
  "token_expired",
  /** An ID token that was already used to sign in (each is accepted once, on any replica). */
  "token_replayed",
  /** An ID token issued longer ago than the accepted maximum age. */
  "token_too_old",
  // authorization
  "role_required",
  "not_owner",
  "role_not_allowed",
  "organization_mismatch",
  "workspace_disabled",
  /** No live workspace host can start this workspace (driver missing, packages missing, full). */
  "workspace_unavailable",
  /** A host accepted the session but its workspace did not start. */
  "launch_failed",
  /** The `recording` policy requires recording and the recordings folder cannot be written. */
  "recording_unavailable",
  "token_scope",
  // policies
  "mfa_required",
  "max_concurrent_sessions",
  "ip_not_allowed",
  "outside_access_hours",
  "self_registration_closed",
  "local_login_disabled",
  // data
  "not_found",
  "duplicate",
  "conflict",
  "invalid_input",
  "session_not_active",
  "not_connectable",
  "last_admin",
  /** Only local accounts have a password NeoSC can reset (the others sign in elsewhere). */
  "not_local_account",
  /** An admin may not remove their own account (another admin can). */
  "own_account",
  /** An organization that still has members or workspaces cannot be deleted. */
  "organization_not_empty",
  "database_unavailable",
] as const;
export type Reason = (typeof REASONS)[number];

type Exactly<T extends Record<Reason, unknown>> = T;

/** A refusal that names the input field it is about (a form shows it beside that field). */
export type FieldDetails = { field: string };

/**
 * What `details` carries for each reason: the one definition the server's errors are built from
 * and the portal, clients and tests read. A reason mapped to `never` carries no details (they
 * arrive as `null`). Never secrets.
 */
export type ReasonDetails = Exactly<{
  not_authenticated: never;
  invalid_credentials: FieldDetails;
  account_disabled: never;
  session_revoked: never;
  session_expired: never;
  invalid_token: never;
  invalid_assertion: never;
  totp_required: never;
  invalid_totp: FieldDetails;
  totp_not_enrolled: never;
  totp_already_enrolled: never;
  password_change_required: never;
  /** Which budget ran out: failures of one account, or of one network address. */
  throttled: { scope: "account" | "ip" };
  sso_not_configured: never;
  /** The address that is linked to another identity, or that the IdP has not verified. */
  sso_failed: { email: string };
  csrf_rejected: never;
  token_revoked: never;
  token_expired: never;
  token_replayed: never;
  /** How old (after its `iat`) an ID token may be when it is presented. */
  token_too_old: { maxAgeSeconds: number };
  role_required: { required: Role };
  not_owner: never;
  role_not_allowed: { role: Role; allowedRoles: Role[] };
  organization_mismatch: never;
  workspace_disabled: never;
  /** Debian packages that would make it available (empty when packages would not help). */
  workspace_unavailable: { missing: string[] };
  /** The workspace host it was placed on. */
  launch_failed: { hostId: string };
  recording_unavailable: never;
  token_scope: { procedure: ProcedurePath; scope: ApiTokenScope["kind"] };
  /** How the refused sign-in was made: through the IdP (`sso`, `pomerium`) its second factor is the IdP's. */
  mfa_required: { method: AuthMethod };
  /** `limit` follows the policy's type; launch refuses only while the policy is on, so it is set. */
  max_concurrent_sessions: { limit: number | null; active: number };
  ip_not_allowed: { clientIp: string | null };
  outside_access_hours: PolicySettings<"access-hours">;
  self_registration_closed: never;
  local_login_disabled: never;
  /** The id of what was looked for, under the name of its kind. */
  not_found:
    | { userId: string }
    | { organizationId: string }
    | { workspaceId: string }
    | { sessionId: string }
    | { serviceAccountId: string }
    /** An API token's id. */
    | { id: string };
  duplicate: FieldDetails;
  conflict: never;
  /** The field at fault (null when the input as a whole is), or each schema issue of it. */
  invalid_input: { field: string | null } | { issues: { path: string[]; message: string }[] };
  session_not_active: { sessionId: string; endReason?: SessionEndReason | null };
  not_connectable: { sessionId: string; kind: WorkspaceKind };
  last_admin: never;
  /** Where the account signs in instead. */
  not_local_account: { source: UserSource };
  own_account: never;
  /** What still belongs to it. */
  organization_not_empty: { members: number; workspaces: number };
  database_unavailable: never;
}>;

export interface DomainErrorOptions<R extends Reason = Reason> {
  /** Extra facts for the client, typed per reason by `ReasonDetails`. */
  details?: NoInfer<ReasonDetails[R]>;
  /** Seconds until a retry can succeed (TOO_MANY_REQUESTS). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class DomainError<R extends Reason = Reason> extends Error {
  readonly code: DomainErrorCode;
  readonly reason: R;
  readonly details: ReasonDetails[R] | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: DomainErrorCode, reason: R, message: string, options: DomainErrorOptions<R> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DomainError";
    this.code = code;
    this.reason = reason;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Whether `error` is a DomainError (of `reason`, when given: then its details are typed). */
export function isDomainError<R extends Reason = Reason>(
  error: unknown,
  reason?: R,
): error is DomainError<R> {
  return error instanceof DomainError && (reason === undefined || error.reason === reason);
}

/** `error.data.domain` of a refusal: its reason with that reason's details. */
export type DomainErrorData = {
  [R in Reason]: {
    reason: R;
    details: ReasonDetails[R] | null;
    retryAfterSeconds: number | null;
  };
}[Reason];

/** The wire form of a domain error. */
export function domainErrorData(error: DomainError): DomainErrorData {
  // The constructor typed `details` by `reason`, so the pair is one member of the union.
  return {
    reason: error.reason,
    details: error.details ?? null,
    retryAfterSeconds: error.retryAfterSeconds ?? null,
  } as DomainErrorData;
}

/** Schema failures of an input, flattened (`error.data.zod`). */
export interface InputErrors {
  /** Problems with the input as a whole. */
  formErrors: string[];
  /** Problems per field, keyed by dotted path (`settings.limit`). */
  fieldErrors: Record<string, string[]>;
}

/**
 * `error.data` of every tRPC error the API answers (the router's error formatter builds it; the
 * API's own refusals, such as the CSRF check, write the same). `code` is the tRPC error code.
 */
export interface ErrorData {
  code: string;
  httpStatus: number;
  path?: string;
  zod: InputErrors | null;
  domain: DomainErrorData | null;
}

/** The tRPC error shape: what `TRPCClientError#shape` holds. */
export interface ErrorShape {
  message: string;
  /** The JSON-RPC code tRPC derives from `data.code`. */
  code: number;
  data: ErrorData;
}

/**
 * An error answer of the REST face (`application/problem+json`, RFC 9457): the same reason,
 * typed details and field errors as `ErrorShape`. `reason`, `details` and `retryAfterSeconds`
 * are its `data.domain` (or a reason the status implies), `fieldErrors` and `formErrors` its
 * `data.zod`.
 */
export type RestProblem = {
  /** `urn:neosc:problem:<reason>`. */
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The tRPC error code (`FORBIDDEN`, `BAD_REQUEST`…). */
  code: string;
  fieldErrors: InputErrors["fieldErrors"];
  formErrors: InputErrors["formErrors"];
  requestId: string | null;
} & DomainErrorData;
