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
  // authorization
  "role_required",
  "not_owner",
  "role_not_allowed",
  "organization_mismatch",
  "workspace_disabled",
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
  "database_unavailable",
] as const;
export type Reason = (typeof REASONS)[number];

export interface DomainErrorOptions {
  /** Extra facts for the client, e.g. `{ limit: 2, active: 2 }`. Never secrets. */
  details?: Record<string, unknown>;
  /** Seconds until a retry can succeed (TOO_MANY_REQUESTS). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly reason: Reason;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: DomainErrorCode, reason: Reason, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DomainError";
    this.code = code;
    this.reason = reason;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

/** The shape a client receives in `error.data.domain` (see the router's error formatter). */
export interface DomainErrorData {
  reason: Reason;
  details?: Record<string, unknown>;
  retryAfterSeconds?: number;
}
