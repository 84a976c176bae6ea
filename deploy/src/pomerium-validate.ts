import {
  DEPRECATED_ROUTE_KEYS,
  ENVIRONMENT_ONLY_KEYS,
  GLOBAL_KEYS,
  PPL_CORE_CRITERIA,
  PPL_OPERATORS,
  PPL_UNSUPPORTED_CRITERIA,
  REMOVED_ROUTE_KEYS,
  ROUTE_KEYS,
} from "./pomerium-keys.ts";

/**
 * Checks a Pomerium config (as parsed YAML) against what v0.33 accepts and against the rules
 * NeoSC depends on. Returns one sentence per problem; an empty list means the config is usable.
 * Pomerium itself only logs unknown keys, so without this a misspelt key would fail open or closed
 * without anyone noticing.
 */
export function validatePomeriumConfig(config: unknown): string[] {
  const problems: string[] = [];
  if (!isRecord(config)) return ["the config is not a mapping"];

  for (const key of Object.keys(config)) {
    if ((ENVIRONMENT_ONLY_KEYS as readonly string[]).includes(key)) {
      problems.push(`${key} must come from the environment (${key.toUpperCase()}), not the file`);
    } else if (!(GLOBAL_KEYS as readonly string[]).includes(key)) {
      problems.push(`unknown or unexpected global key ${key}`);
    }
  }

  const authenticate = httpsUrl(config.authenticate_service_url);
  if (!authenticate) problems.push("authenticate_service_url must be an https URL");
  if (config.idp_provider !== "oidc") problems.push("idp_provider must be oidc");
  if (!httpsUrl(config.idp_provider_url)) problems.push("idp_provider_url must be the https issuer URL");

  const scopes = config.idp_scopes;
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === "string")) {
    problems.push("idp_scopes must be a list of strings");
  } else {
    for (const required of ["openid", "urn:zitadel:iam:org:projects:roles"]) {
      if (!scopes.includes(required)) problems.push(`idp_scopes must include ${required}`);
    }
  }

  const cookieDomain = config.cookie_domain;
  if (typeof cookieDomain !== "string" || cookieDomain.length === 0) {
    problems.push("cookie_domain must be set so one sign-in covers every host");
  }

  if (config.jwt_claims_headers !== undefined && !isStringRecord(config.jwt_claims_headers)) {
    problems.push("jwt_claims_headers must map header names to claim names");
  }
  if (
    config.databroker_storage_type !== undefined &&
    config.databroker_storage_type !== "memory" &&
    config.databroker_storage_type !== "postgres"
  ) {
    problems.push("databroker_storage_type must be memory or postgres");
  }
  for (const key of ["cookie_expire"]) {
    if (config[key] !== undefined && !isDuration(config[key])) problems.push(`${key} must be a Go duration`);
  }

  const routes = config.routes;
  if (!Array.isArray(routes) || routes.length === 0) {
    problems.push("routes must be a non-empty list");
    return problems;
  }
  const seen = new Set<string>();
  routes.forEach((route, index) => {
    problems.push(
      ...validateRoute(route, {
        seen,
        cookieDomain: typeof cookieDomain === "string" ? cookieDomain : null,
        authenticateHost: authenticate?.host ?? null,
      }).map((problem) => `routes[${index}]: ${problem}`),
    );
  });
  return problems;
}

interface RouteContext {
  seen: Set<string>;
  cookieDomain: string | null;
  authenticateHost: string | null;
}

function validateRoute(route: unknown, context: RouteContext): string[] {
  if (!isRecord(route)) return ["not a mapping"];
  const problems: string[] = [];
  for (const key of Object.keys(route)) {
    if (REMOVED_ROUTE_KEYS.includes(key)) problems.push(`${key} was removed from Pomerium (startup fails)`);
    else if (DEPRECATED_ROUTE_KEYS.includes(key)) problems.push(`${key} is deprecated; use a policy`);
    else if (!(ROUTE_KEYS as readonly string[]).includes(key)) problems.push(`unknown route key ${key}`);
  }

  const from = httpsUrl(route.from);
  if (!from) {
    problems.push("from must be an https URL");
  } else {
    // A path route (`prefix`) may share its host with the host's own route, listed after it.
    const prefix = typeof route.prefix === "string" ? route.prefix : "";
    if (prefix !== "" && !prefix.startsWith("/")) problems.push("prefix must start with /");
    const key = `${from.host}${prefix}`;
    if (context.seen.has(key)) problems.push(`duplicate route for ${key}`);
    else if (prefix !== "" && context.seen.has(from.host)) {
      problems.push(`the route for ${key} must come before the route for ${from.host} (first match wins)`);
    }
    context.seen.add(key);
    if (from.host === context.authenticateHost) {
      problems.push("the authenticate host is served by Pomerium itself, not a route");
    }
    if (context.cookieDomain && !isUnder(from.hostname, context.cookieDomain)) {
      problems.push(`${from.hostname} is outside cookie_domain ${context.cookieDomain}`);
    }
  }
  if (typeof route.to !== "string" || !/^https?:\/\/[^/\s]+/.test(route.to)) {
    problems.push("to must be an http(s) upstream URL");
  }

  if (route.policy === undefined) {
    problems.push("every route needs a policy");
  } else {
    problems.push(...validatePolicy(route.policy).map((problem) => `policy: ${problem}`));
  }
  if (route.allow_any_authenticated_user !== undefined) {
    problems.push("allow_any_authenticated_user is OR-ed with the policy and would admit everyone");
  }
  if (route.allow_public_unauthenticated_access !== undefined) {
    problems.push("allow_public_unauthenticated_access bypasses the policy");
  }
  for (const key of ["timeout", "idle_timeout"]) {
    if (route[key] !== undefined && !isDuration(route[key])) problems.push(`${key} must be a Go duration`);
  }
  for (const key of [
    "preserve_host_header",
    "pass_identity_headers",
    "allow_websockets",
    "cors_allow_preflight",
  ]) {
    if (route[key] !== undefined && typeof route[key] !== "boolean")
      problems.push(`${key} must be a boolean`);
  }
  return problems;
}

/** PPL: a list of blocks with allow/deny; each action holds operators; operators hold criteria. */
export function validatePolicy(policy: unknown): string[] {
  if (!Array.isArray(policy)) return ["a policy is a list of blocks"];
  const blocks: unknown[] = policy;
  if (blocks.length === 0) return ["a policy needs at least one block"];
  const problems: string[] = [];
  blocks.forEach((block, blockIndex) => {
    const at = `block ${blockIndex}`;
    if (!isRecord(block)) {
      problems.push(`${at} is not a mapping`);
      return;
    }
    const actions = Object.keys(block);
    if (actions.length === 0) problems.push(`${at} has neither allow nor deny`);
    for (const action of actions) {
      if (action !== "allow" && action !== "deny") {
        problems.push(`${at}: ${action} is not an action (allow or deny)`);
        continue;
      }
      problems.push(...validateAction(block[action]).map((problem) => `${at}.${action}: ${problem}`));
    }
  });
  return problems;
}

function validateAction(action: unknown): string[] {
  if (!isRecord(action)) return ["must map operators to criteria lists"];
  const operators = Object.keys(action);
  if (operators.length === 0) return ["has no operator"];
  const problems: string[] = [];
  for (const operator of operators) {
    if (!(PPL_OPERATORS as readonly string[]).includes(operator)) {
      problems.push(`${operator} is not an operator (and, or, not, nor)`);
      continue;
    }
    const criteria = action[operator];
    if (!Array.isArray(criteria) || criteria.length === 0) {
      problems.push(`${operator} needs a non-empty list of criteria`);
      continue;
    }
    criteria.forEach((criterion, index) => {
      problems.push(...validateCriterion(criterion).map((problem) => `${operator}[${index}]: ${problem}`));
    });
  }
  return problems;
}

function validateCriterion(criterion: unknown): string[] {
  if (!isRecord(criterion)) return ["a criterion is a single-key mapping"];
  const names = Object.keys(criterion);
  const [name] = names;
  if (names.length !== 1 || name === undefined) return ["a criterion is a single-key mapping"];
  const value = criterion[name];
  if ((PPL_OPERATORS as readonly string[]).includes(name)) return [`operators cannot nest (${name})`];
  const unsupported = PPL_UNSUPPORTED_CRITERIA[name];
  if (unsupported) return [`${name}: ${unsupported}`];
  if (name.startsWith("claim/")) {
    if (name.length === "claim/".length) return ["claim/ needs a claim name"];
    if (!isClaimMatcher(value)) return [`${name} needs a string value (or {is|has: value})`];
    return [];
  }
  if (!(PPL_CORE_CRITERIA as readonly string[]).includes(name)) return [`unknown criterion ${name}`];
  if ((name === "accept" || name === "reject" || name === "authenticated_user") && value !== true) {
    return [`${name} takes true`];
  }
  return [];
}

function isClaimMatcher(value: unknown): boolean {
  if (typeof value === "string") return value.length > 0;
  if (!isRecord(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 1 &&
    (keys[0] === "is" || keys[0] === "has") &&
    typeof Object.values(value)[0] === "string"
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): boolean {
  return isRecord(value) && Object.values(value).every((entry) => typeof entry === "string");
}

function isDuration(value: unknown): boolean {
  return typeof value === "string" && /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(value);
}

function httpsUrl(value: unknown): URL | null {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

function isUnder(hostname: string, domain: string): boolean {
  const bare = domain.replace(/^\./, "");
  return hostname === bare || hostname.endsWith(`.${bare}`);
}
