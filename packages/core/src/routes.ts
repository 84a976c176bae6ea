import { z } from "zod";
import { hasRole, ROLES, type Role, RoleSchema } from "./roles.ts";

/**
 * The public hosts of a NeoSC deployment (ARCHITECTURE §1). Every request enters through
 * Pomerium; these definitions are the one source the Pomerium config generator, the compose and
 * Kubernetes manifests and the API's expected assertion audiences are derived from. Hosts are
 * built from a domain argument — no domain is fixed here.
 */

/** Port the API listens on inside the private network. */
export const API_PORT = 8080;
/** Prometheus port of the API; never routed through Pomerium. */
export const API_METRICS_PORT = 9464;
/** Port the portal's static file server listens on. */
export const PORTAL_PORT = 3000;
/** Port the workspace gateway process (`apps/gateway`) listens on for WebSocket upgrades. */
export const GATEWAY_PORT = 8081;

export const UPSTREAM_SERVICES = {
  api: { service: "api", port: API_PORT },
  portal: { service: "portal", port: PORTAL_PORT },
  gateway: { service: "gateway", port: GATEWAY_PORT },
} as const;
export type UpstreamServiceName = keyof typeof UPSTREAM_SERVICES;

/** Lower-case labels of letters, digits and inner dashes, at least two, the last not numeric. */
export const DOMAIN_NAME_PATTERN =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS name such as `example.com`: lower-case labels, no scheme, port or trailing dot. */
export const DomainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(DOMAIN_NAME_PATTERN, "a domain name such as example.com");
export type Domain = z.infer<typeof DomainSchema>;

export const ROUTE_IDS = ["gate", "portal", "api", "admin", "workspace", "apps"] as const;
export const RouteIdSchema = z.enum(ROUTE_IDS);
export type RouteId = z.infer<typeof RouteIdSchema>;

const HostPrefixSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/, "DNS labels");

export const RouteDefinitionSchema = z.strictObject({
  id: RouteIdSchema,
  /** Labels in front of the domain: `api.portal` → `api.portal.<domain>`. */
  hostPrefix: HostPrefixSchema,
  /** Also every host one label below it (`*.apps.portal.<domain>`): one host per session. */
  wildcard: z.boolean().optional(),
  /** What answers on this host; null means Pomerium's own authenticate service (sign-in). */
  upstream: z.enum(["api", "portal", "gateway"]).nullable(),
  /**
   * Least role that may pass the proxy (roles are ordered admin > neosc > user); null means the
   * host is not role-gated at the proxy (only the authenticate service).
   */
  minimumRole: RoleSchema.nullable(),
  /**
   * The `auditor` role (outside that order) passes too: the hosts it reads the audit log,
   * sessions and recordings through. Never the workspace hosts: an auditor launches nothing.
   */
  auditor: z.boolean().optional(),
  websockets: z.boolean(),
  /** Forward the signed `X-Pomerium-Jwt-Assertion`; only hosts whose upstream verifies it. */
  passIdentityHeaders: z.boolean(),
  /** Keep the public Host header (the API checks origins and builds URLs from it). */
  preserveHost: z.boolean(),
  /** Let CORS preflights through unauthenticated (browsers send them without cookies). */
  corsPreflight: z.boolean(),
  /** Whole-request upstream timeout; null disables it (long-lived websocket streams). */
  timeoutSeconds: z.number().int().positive().nullable(),
  /** Closes connections idle this long; null keeps Pomerium's default. */
  idleTimeoutSeconds: z.number().int().positive().nullable(),
  description: z.string().min(1),
});
export type RouteDefinition = z.infer<typeof RouteDefinitionSchema>;

export const ROUTES: readonly RouteDefinition[] = [
  {
    id: "gate",
    hostPrefix: "gate",
    upstream: null,
    minimumRole: null,
    websockets: false,
    passIdentityHeaders: false,
    preserveHost: false,
    corsPreflight: false,
    timeoutSeconds: null,
    idleTimeoutSeconds: null,
    description: "Pomerium authenticate service: sign-in and the OIDC callback",
  },
  {
    id: "portal",
    hostPrefix: "portal",
    upstream: "portal",
    minimumRole: "user",
    auditor: true,
    websockets: false,
    passIdentityHeaders: false,
    preserveHost: false,
    corsPreflight: false,
    timeoutSeconds: 30,
    idleTimeoutSeconds: null,
    description: "NeoSC portal (static single-page app)",
  },
  {
    id: "api",
    hostPrefix: "api.portal",
    upstream: "api",
    minimumRole: "user",
    auditor: true,
    websockets: false,
    passIdentityHeaders: true,
    preserveHost: true,
    corsPreflight: true,
    timeoutSeconds: 30,
    idleTimeoutSeconds: null,
    description: "NeoSC API (tRPC); verifies the Pomerium assertion",
  },
  {
    id: "admin",
    hostPrefix: "admin.portal",
    upstream: "portal",
    minimumRole: "admin",
    websockets: false,
    passIdentityHeaders: false,
    preserveHost: false,
    corsPreflight: false,
    timeoutSeconds: 30,
    idleTimeoutSeconds: null,
    description: "NeoSC administration (the portal, admins only)",
  },
  {
    id: "workspace",
    hostPrefix: "workspace.portal",
    upstream: "gateway",
    minimumRole: "user",
    websockets: true,
    passIdentityHeaders: true,
    preserveHost: true,
    corsPreflight: false,
    timeoutSeconds: null,
    idleTimeoutSeconds: 600,
    description:
      "Workspace gateway (websockets): a single-use ticket per connection, the assertion's subject checked",
  },
  {
    id: "apps",
    hostPrefix: "apps.portal",
    wildcard: true,
    upstream: "gateway",
    minimumRole: "user",
    websockets: true,
    // The web proxy forwards none of Pomerium's headers to an app, and admits by its own ticket and
    // per-session cookie; the assertion's audience would be the per-session host.
    passIdentityHeaders: false,
    preserveHost: true,
    corsPreflight: false,
    timeoutSeconds: null,
    idleTimeoutSeconds: 600,
    description: "Internal web apps through the gateway: one host per session (<session>.apps.portal)",
  },
];

export function routeById(id: RouteId): RouteDefinition {
  const route = ROUTES.find((candidate) => candidate.id === id);
  if (!route) throw new Error(`no route ${id}`);
  return route;
}

/** `routeHost(routeById("api"), "example.com")` → `api.portal.example.com`. */
export function routeHost(route: RouteDefinition, domain: string): string {
  return `${route.wildcard === true ? "*." : ""}${route.hostPrefix}.${DomainSchema.parse(domain)}`;
}

export function routeOrigin(route: RouteDefinition, domain: string): string {
  return `https://${routeHost(route, domain)}`;
}

/** Every role that may pass the proxy on this host, least privileged first (the auditor last). */
export function allowedRoles(route: RouteDefinition): Role[] {
  const minimum = route.minimumRole;
  if (minimum === null) return [];
  return ROLES.filter((role) => (role === "auditor" ? route.auditor === true : hasRole(role, minimum)));
}

/** Routes Pomerium proxies to an upstream (everything but the authenticate host). */
export function upstreamRoutes(): RouteDefinition[] {
  return ROUTES.filter((route) => route.upstream !== null);
}

/**
 * Hosts whose requests carry the signed assertion: its `aud` (and `iss`) is the request host, so
 * this is the audience list the API must accept (`NEOSC_POMERIUM_AUDIENCES`).
 */
export function assertionAudiences(domain: string): string[] {
  return ROUTES.filter((route) => route.passIdentityHeaders).map((route) => routeHost(route, domain));
}

/** The OIDC redirect URI Pomerium uses at the IdP (`authenticate_callback_path` default). */
export function pomeriumCallbackUrl(domain: string): string {
  return `${routeOrigin(routeById("gate"), domain)}/oauth2/callback`;
}
