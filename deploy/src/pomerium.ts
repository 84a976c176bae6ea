import { REST_PATH_PREFIX } from "@neosc/core/rest";
import type { Role } from "@neosc/core/roles";
import {
  allowedRoles,
  DomainSchema,
  type RouteDefinition,
  routeById,
  routeHost,
  routeOrigin,
  UPSTREAM_SERVICES,
  upstreamRoutes,
} from "@neosc/core/routes";
import { Document, isScalar, Scalar, visit } from "yaml";
import { z } from "zod";
import { validatePomeriumConfig } from "./pomerium-validate.ts";

/** Flat role claim the Zitadel Action adds (deploy/zitadel/flat-roles.js). */
export const FLAT_ROLES_CLAIM = "neosc_roles";
/** Zitadel's roles claim: `{ role: { orgId: orgPrimaryDomain } }`. */
export const ZITADEL_ROLES_CLAIM = "urn:zitadel:iam:org:project:roles";

export const ROLE_MATCH_MODES = ["flat-claim", "zitadel-roles"] as const;
export type RoleMatchMode = (typeof ROLE_MATCH_MODES)[number];

/** compose: one instance, Let's Encrypt, in-memory databroker; kubernetes: N instances, postgres. */
export const DEPLOY_TARGETS = ["compose", "kubernetes"] as const;
export type DeployTarget = (typeof DEPLOY_TARGETS)[number];

const ZitadelIdSchema = z.string().regex(/^\d{6,32}$/, "a Zitadel resource id (digits only)");

export const PomeriumOptionsSchema = z
  .strictObject({
    domain: DomainSchema,
    mode: z.enum(ROLE_MATCH_MODES).default("flat-claim"),
    target: z.enum(DEPLOY_TARGETS).default("compose"),
    /** Zitadel issuer; defaults to `https://manager.<domain>` (ARCHITECTURE §1). */
    issuer: z.url({ protocol: /^https$/ }).optional(),
    /** Adds the project `:aud` scope so Zitadel releases the project's roles. */
    zitadelProjectId: ZitadelIdSchema.optional(),
    /** zitadel-roles mode: the organization whose grants count, and its primary domain. */
    zitadelOrgId: ZitadelIdSchema.optional(),
    zitadelOrgDomain: DomainSchema.optional(),
  })
  .superRefine((options, ctx) => {
    if (options.mode !== "zitadel-roles") return;
    for (const key of ["zitadelOrgId", "zitadelOrgDomain"] as const) {
      if (options[key] === undefined) {
        ctx.addIssue({ code: "custom", path: [key], message: `${key} is required in zitadel-roles mode` });
      }
    }
  });
export type PomeriumOptionsInput = z.input<typeof PomeriumOptionsSchema>;
export type PomeriumOptions = z.output<typeof PomeriumOptionsSchema>;

export type PplCriterion = Record<string, string | boolean>;
export type PplBlock = { allow?: Record<string, PplCriterion[]>; deny?: Record<string, PplCriterion[]> };

export interface PomeriumRoute {
  name: string;
  description: string;
  from: string;
  prefix?: string;
  to: string;
  preserve_host_header: boolean;
  pass_identity_headers: boolean;
  allow_websockets: boolean;
  cors_allow_preflight: boolean;
  timeout?: string;
  idle_timeout?: string;
  policy: PplBlock[];
}

export interface PomeriumConfig {
  address: string;
  http_redirect_addr: string;
  autocert?: boolean;
  autocert_dir?: string;
  certificate_file?: string;
  certificate_key_file?: string;
  databroker_storage_type?: "postgres";
  authenticate_service_url: string;
  idp_provider: "oidc";
  idp_provider_url: string;
  idp_scopes: string[];
  cookie_domain: string;
  cookie_expire: string;
  jwt_claims_headers: Record<string, string>;
  routes: PomeriumRoute[];
}

export interface PomeriumEnvVar {
  name: string;
  secret: boolean;
  description: string;
}

export interface GeneratedPomeriumConfig {
  options: PomeriumOptions;
  config: PomeriumConfig;
  yaml: string;
  /** Settings Pomerium reads from the environment; the deployment must provide each one. */
  environment: PomeriumEnvVar[];
  warnings: string[];
}

/** Where the compose service and the Kubernetes pod mount things the config refers to. */
export const POMERIUM_PATHS = {
  config: "/pomerium/config.yaml",
  autocertDir: "/data/autocert",
  tlsCertificate: "/pomerium/tls/tls.crt",
  tlsKey: "/pomerium/tls/tls.key",
} as const;

/** Container ports: compose binds 443/80 directly; Kubernetes maps its Service 443/80 here. */
export const POMERIUM_PORTS = {
  compose: { https: 443, http: 80 },
  kubernetes: { https: 8443, http: 8080 },
} as const;

/** Session lifetime, aligned with the API's 8 h app sessions (ARCHITECTURE §4). */
const COOKIE_EXPIRE = "8h";

export function pomeriumEnvironment(target: DeployTarget): PomeriumEnvVar[] {
  const environment: PomeriumEnvVar[] = [
    {
      name: "IDP_CLIENT_ID",
      secret: false,
      description: "Zitadel client id of the Pomerium app (`123@project`)",
    },
    { name: "IDP_CLIENT_SECRET", secret: true, description: "Zitadel client secret of the Pomerium app" },
    {
      name: "SHARED_SECRET",
      secret: true,
      description: "base64 of 32 random bytes: `head -c32 /dev/urandom | base64`",
    },
    {
      name: "COOKIE_SECRET",
      secret: true,
      description: "base64 of 32 random bytes: `head -c32 /dev/urandom | base64`",
    },
    {
      name: "SIGNING_KEY",
      secret: true,
      description:
        "base64 of a PEM P-256 key for the X-Pomerium-Jwt-Assertion: `openssl ecparam -genkey -name prime256v1 -noout | base64 -w0`",
    },
  ];
  if (target === "kubernetes") {
    environment.push({
      name: "DATABROKER_STORAGE_CONNECTION_STRING",
      secret: true,
      description:
        "postgres://user:password@postgres:5432/pomerium?sslmode=disable — shared by every instance",
    });
  }
  return environment;
}

/** The PPL criterion that is true when the signed-in person holds `role`. */
export function roleCriterion(role: Role, options: PomeriumOptions): PplCriterion {
  if (options.mode === "flat-claim") return { [`claim/${FLAT_ROLES_CLAIM}`]: role };
  const { orgId, orgDomain } = zitadelOrg(options);
  // Pomerium stores claims flattened: {roles: {admin: {orgId: domain}}} → "roles.admin.orgId": [domain].
  return { [`claim/${ZITADEL_ROLES_CLAIM}.${role}.${orgId}`]: orgDomain };
}

/** One allow block OR-ing every role at or above the route's minimum (admin > neosc > user), and the auditor where it reads. */
export function routePolicy(route: RouteDefinition, options: PomeriumOptions): PplBlock[] {
  const roles = allowedRoles(route);
  if (roles.length === 0) throw new Error(`route ${route.id} has no roles to admit`);
  return [{ allow: { or: roles.map((role) => roleCriterion(role, options)) } }];
}

export function idpScopes(options: PomeriumOptions): string[] {
  return [
    "openid",
    "profile",
    "email",
    "offline_access",
    "urn:zitadel:iam:org:projects:roles",
    ...(options.zitadelProjectId ? [`urn:zitadel:iam:org:project:id:${options.zitadelProjectId}:aud`] : []),
    "urn:zitadel:iam:user:resourceowner",
  ];
}

/**
 * Claims copied into the signed assertion (and, unsigned, into headers the API ignores).
 * Pomerium looks each claim up by its exact flattened name.
 */
export function jwtClaimsHeaders(options: PomeriumOptions): Record<string, string> {
  if (options.mode === "flat-claim") return { "X-Pomerium-Claim-Neosc-Roles": FLAT_ROLES_CLAIM };
  const { orgId } = zitadelOrg(options);
  const headers: Record<string, string> = {};
  for (const role of ["admin", "neosc", "user", "auditor"] as const) {
    headers[`X-Pomerium-Claim-Neosc-Role-${role[0]?.toUpperCase()}${role.slice(1)}`] =
      `${ZITADEL_ROLES_CLAIM}.${role}.${orgId}`;
  }
  return headers;
}

export function buildPomeriumConfig(options: PomeriumOptions): PomeriumConfig {
  const { domain, target } = options;
  const ports = POMERIUM_PORTS[target];
  const listeners =
    target === "compose"
      ? { autocert: true, autocert_dir: POMERIUM_PATHS.autocertDir }
      : {
          certificate_file: POMERIUM_PATHS.tlsCertificate,
          certificate_key_file: POMERIUM_PATHS.tlsKey,
          databroker_storage_type: "postgres" as const,
        };
  return {
    address: `:${ports.https}`,
    http_redirect_addr: `:${ports.http}`,
    ...listeners,
    authenticate_service_url: routeOrigin(routeById("gate"), domain),
    idp_provider: "oidc",
    idp_provider_url: options.issuer ?? `https://manager.${domain}`,
    idp_scopes: idpScopes(options),
    cookie_domain: domain,
    cookie_expire: COOKIE_EXPIRE,
    jwt_claims_headers: jwtClaimsHeaders(options),
    routes: [buildRestRoute(options), ...upstreamRoutes().map((route) => buildRoute(route, options))],
  };
}

function buildRoute(route: RouteDefinition, options: PomeriumOptions): PomeriumRoute {
  if (route.upstream === null) throw new Error(`route ${route.id} has no upstream`);
  const upstream = UPSTREAM_SERVICES[route.upstream];
  return {
    name: route.id,
    description: route.description,
    from: `https://${routeHost(route, options.domain)}`,
    to: `http://${upstream.service}:${upstream.port}`,
    preserve_host_header: route.preserveHost,
    pass_identity_headers: route.passIdentityHeaders,
    allow_websockets: route.websockets,
    cors_allow_preflight: route.corsPreflight,
    ...(route.timeoutSeconds === null ? {} : { timeout: formatDuration(route.timeoutSeconds) }),
    ...(route.idleTimeoutSeconds === null ? {} : { idle_timeout: formatDuration(route.idleTimeoutSeconds) }),
    policy: routePolicy(route, options),
  };
}

/**
 * The REST face (`/api/…` on the API host), listed before the host's own route because Pomerium
 * takes the first route that matches. Scripts present an API token, not a Pomerium session, so
 * the proxy admits the request and forwards no identity; the API authenticates every REST call by
 * its bearer token (or a session token from POST /api/auth/login) and never reads the cookie there.
 */
function buildRestRoute(options: PomeriumOptions): PomeriumRoute {
  const api = buildRoute(routeById("api"), options);
  return {
    ...api,
    name: "api-rest",
    description: "NeoSC REST API (/api/); the API authenticates each call by its API token",
    prefix: REST_PATH_PREFIX,
    pass_identity_headers: false,
    cors_allow_preflight: false,
    policy: [{ allow: { or: [{ accept: true }] } }],
  };
}

/** Generates, checks and renders the config; throws when the result breaks a rule. */
export function generatePomeriumConfig(input: PomeriumOptionsInput): GeneratedPomeriumConfig {
  const options = PomeriumOptionsSchema.parse(input);
  const config = buildPomeriumConfig(options);
  const problems = validatePomeriumConfig(config);
  if (problems.length > 0)
    throw new Error(`generated Pomerium config is invalid:\n- ${problems.join("\n- ")}`);

  const warnings: string[] = [];
  if (!options.zitadelProjectId) {
    warnings.push(
      "no --zitadel-project-id: the project :aud scope is left out, so roles reach Pomerium only if the " +
        'Zitadel project has "assert roles on authentication" on (deploy/zitadel/SETUP.md)',
    );
  }
  const environment = pomeriumEnvironment(options.target);
  const document = new Document(config, { aliasDuplicateObjects: false });
  document.commentBefore = headerComment(options, environment, warnings);
  // ":443" is a valid plain scalar in YAML 1.2, but quoting keeps older parsers from misreading it.
  visit(document, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === "string" && node.value.startsWith(":")) {
        node.type = Scalar.QUOTE_DOUBLE;
      }
    },
  });
  return {
    options,
    config,
    yaml: document.toString({ lineWidth: 0 }),
    environment,
    warnings,
  };
}

/** The command that reproduces a config, written into its header. */
export function generatorCommand(options: PomeriumOptions): string {
  const parts = [
    "pnpm --filter @neosc/deploy pomerium",
    `--domain ${options.domain}`,
    `--mode ${options.mode}`,
  ];
  parts.push(`--target ${options.target}`);
  if (options.issuer) parts.push(`--issuer ${options.issuer}`);
  if (options.zitadelProjectId) parts.push(`--zitadel-project-id ${options.zitadelProjectId}`);
  if (options.zitadelOrgId) parts.push(`--zitadel-org-id ${options.zitadelOrgId}`);
  if (options.zitadelOrgDomain) parts.push(`--zitadel-org-domain ${options.zitadelOrgDomain}`);
  return parts.join(" ");
}

function headerComment(options: PomeriumOptions, environment: PomeriumEnvVar[], warnings: string[]): string {
  const matching =
    options.mode === "flat-claim"
      ? `flat claim ${FLAT_ROLES_CLAIM}, added by the Zitadel Action in deploy/zitadel/flat-roles.js`
      : `Zitadel's flattened roles claim ${ZITADEL_ROLES_CLAIM}.<role>.${options.zitadelOrgId}`;
  const lines = [
    " Pomerium (v0.33) configuration for NeoSC. Generated from packages/core/src/routes.ts; do not edit.",
    ` Regenerate: ${generatorCommand(options)}`,
    ` Roles: ${matching}.`,
    " Not in this file — Pomerium reads them from environment variables:",
    ...environment.map((variable) => `   ${variable.name}`),
    ...warnings.map((warning) => ` WARNING: ${warning}`),
  ];
  return lines.join("\n");
}

function zitadelOrg(options: PomeriumOptions): { orgId: string; orgDomain: string } {
  if (!options.zitadelOrgId || !options.zitadelOrgDomain) {
    throw new Error("zitadel-roles mode needs zitadelOrgId and zitadelOrgDomain");
  }
  return { orgId: options.zitadelOrgId, orgDomain: options.zitadelOrgDomain };
}

function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
