/**
 * What Pomerium v0.33 accepts, from REFERENCE.md. Pomerium only logs unknown keys, so a typo
 * would silently drop a setting (or a whole policy): the generator checks its own output against
 * these lists instead.
 */

/** Route keys the v0.33.1 config loader accepts. */
export const ROUTE_KEYS = [
  "from",
  "to",
  "redirect",
  "response",
  "prefix",
  "path",
  "regex",
  "regex_priority_order",
  "prefix_rewrite",
  "regex_rewrite_pattern",
  "regex_rewrite_substitution",
  "host_rewrite",
  "host_rewrite_header",
  "host_path_regex_rewrite_pattern",
  "host_path_regex_rewrite_substitution",
  "preserve_host_header",
  "policy",
  "allow_public_unauthenticated_access",
  "allow_any_authenticated_user",
  "cors_allow_preflight",
  "pass_identity_headers",
  "set_request_headers",
  "remove_request_headers",
  "set_response_headers",
  "rewrite_response_headers",
  "jwt_issuer_format",
  "bearer_token_format",
  "idp_client_id",
  "idp_client_secret",
  "idp_access_token_allowed_audiences",
  "timeout",
  "idle_timeout",
  "allow_websockets",
  "allow_spdy",
  "allow_upgrades",
  "tls_skip_verify",
  "tls_upstream_server_name",
  "tls_downstream_server_name",
  "tls_custom_ca",
  "tls_custom_ca_file",
  "tls_client_cert",
  "tls_client_key",
  "tls_client_cert_file",
  "tls_client_key_file",
  "tls_upstream_allow_renegotiation",
  "load_balancing_policy",
  "outlier_detection",
  "health_checks",
  "healthy_panic_threshold",
  "circuit_breaker_thresholds",
  "name",
  "description",
  "logo_url",
  "show_error_details",
  "depends_on",
  "kubernetes_service_account_token",
  "kubernetes_service_account_token_file",
  "enable_google_cloud_serverless_authentication",
] as const;

/** Still parsed by v0.33 but deprecated: never emitted. */
export const DEPRECATED_ROUTE_KEYS = [
  "allowed_users",
  "allowed_domains",
  "allowed_idp_claims",
  "tls_server_name",
];

/** Removed: Pomerium refuses to start when it sees them. */
export const REMOVED_ROUTE_KEYS = ["allowed_groups", "set_authorization_header"];

/**
 * Global settings this generator may write. All are real v0.33 options (config/options.go);
 * the list is deliberately narrower than everything Pomerium knows.
 */
export const GLOBAL_KEYS = [
  "address",
  "http_redirect_addr",
  "autocert",
  "autocert_dir",
  "certificate_file",
  "certificate_key_file",
  "authenticate_service_url",
  "idp_provider",
  "idp_provider_url",
  "idp_scopes",
  "cookie_domain",
  "cookie_expire",
  "jwt_claims_headers",
  "databroker_storage_type",
  "routes",
] as const;

/**
 * Secrets and per-install identifiers: never written into the file. Pomerium reads each from the
 * environment variable with the upper-case name (viper binds every option), which the compose file
 * and the Kubernetes Deployment pass in.
 */
export const ENVIRONMENT_ONLY_KEYS = [
  "idp_client_id",
  "idp_client_secret",
  "shared_secret",
  "cookie_secret",
  "signing_key",
  "databroker_storage_connection_string",
] as const;

/** PPL operators; inside an action each takes a list of criteria and they cannot nest. */
export const PPL_OPERATORS = ["and", "or", "not", "nor"] as const;

/** PPL criteria available in Pomerium Core (`claim/<name>` is matched by prefix). */
export const PPL_CORE_CRITERIA = [
  "accept",
  "reject",
  "authenticated_user",
  "cors_preflight",
  "email",
  "domain",
  "user",
  "http_method",
  "http_path",
  "source_ip",
  "client_certificate",
  "device",
] as const;

/** Criteria Core does not evaluate as one would hope. */
export const PPL_UNSUPPORTED_CRITERIA: Record<string, string> = {
  date: "Enterprise only",
  day_of_week: "Enterprise only",
  time_of_day: "Enterprise only",
  groups: "needs directory sync (Enterprise); use claim/groups",
};
