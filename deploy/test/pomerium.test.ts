import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { Role } from "@neosc/core/roles";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  FLAT_ROLES_CLAIM,
  generatePomeriumConfig,
  type PomeriumConfig,
  type PomeriumOptionsInput,
  ZITADEL_ROLES_CLAIM,
} from "../src/pomerium.ts";
import { ENVIRONMENT_ONLY_KEYS, GLOBAL_KEYS, ROUTE_KEYS } from "../src/pomerium-keys.ts";
import { validatePomeriumConfig } from "../src/pomerium-validate.ts";
import { evaluatePolicy, type FlattenedClaims, flattenClaims } from "./ppl.ts";
import { EXAMPLE, type Grant, runFlatRolesAction, zitadelClaims } from "./zitadel.ts";

const FLAT: PomeriumOptionsInput = { domain: EXAMPLE.domain, zitadelProjectId: EXAMPLE.projectId };
const ZITADEL: PomeriumOptionsInput = {
  domain: EXAMPLE.domain,
  mode: "zitadel-roles",
  zitadelProjectId: EXAMPLE.projectId,
  zitadelOrgId: EXAMPLE.orgId,
  zitadelOrgDomain: EXAMPLE.orgDomain,
};

const HOSTS = {
  portal: "portal.kappa4.com",
  api: "api.portal.kappa4.com",
  admin: "admin.portal.kappa4.com",
  workspace: "workspace.portal.kappa4.com",
  apps: "*.apps.portal.kappa4.com",
} as const;
const EVERYONE = [HOSTS.portal, HOSTS.api, HOSTS.workspace, HOSTS.apps].sort();
const ADMINS = [HOSTS.admin, HOSTS.api, HOSTS.portal, HOSTS.workspace, HOSTS.apps].sort();
// The auditor reads through the portal and the API; it reaches no workspace.
const AUDITORS = [HOSTS.api, HOSTS.portal].sort();

function grant(roles: string[], overrides: Partial<Grant> = {}): Grant {
  return {
    projectId: EXAMPLE.projectId,
    orgId: EXAMPLE.orgId,
    orgDomain: EXAMPLE.orgDomain,
    roles,
    ...overrides,
  };
}

/** People as Zitadel describes them: their project grants. */
const PEOPLE: { name: string; grants: Grant[]; hosts: string[] }[] = [
  { name: "user", grants: [grant(["user"])], hosts: EVERYONE },
  { name: "neosc", grants: [grant(["neosc"])], hosts: EVERYONE },
  { name: "admin", grants: [grant(["admin"])], hosts: ADMINS },
  { name: "user+admin", grants: [grant(["user", "admin"])], hosts: ADMINS },
  { name: "no grant", grants: [], hosts: [] },
  { name: "auditor", grants: [grant(["auditor"])], hosts: AUDITORS },
  { name: "unknown role only", grants: [grant(["superuser"])], hosts: [] },
  {
    name: "admin of another project",
    grants: [grant(["admin"], { projectId: "111111111111111111" }), grant(["user"])],
    hosts: EVERYONE,
  },
];

/** The routes of whole hosts (the REST path route is checked on its own below). */
function hostRoutes(config: PomeriumConfig) {
  return config.routes.filter((route) => route.prefix === undefined);
}

/** Hosts whose route policy admits a person with these (flattened) claims. */
function reachableHosts(config: PomeriumConfig, claims: FlattenedClaims): string[] {
  return hostRoutes(config)
    .filter((route) => evaluatePolicy(route.policy, claims))
    .map((route) => new URL(route.from).host)
    .sort();
}

describe("Pomerium config, flat-claim mode (default)", () => {
  const generated = generatePomeriumConfig(FLAT);
  const { config } = generated;

  it("is the default mode and matches the flat claim only", () => {
    expect(generated.options.mode).toBe("flat-claim");
    const criteria = hostRoutes(config).flatMap((route) =>
      route.policy.flatMap((block) => block.allow?.or ?? []),
    );
    expect(criteria.length).toBeGreaterThan(0);
    for (const criterion of criteria) expect(Object.keys(criterion)).toEqual([`claim/${FLAT_ROLES_CLAIM}`]);
  });

  it("admits each person to exactly the hosts of their role (claims from the Zitadel Action)", () => {
    for (const person of PEOPLE) {
      const tokenClaims = runFlatRolesAction(
        person.grants,
        EXAMPLE.projectId,
        zitadelClaims(person.grants, EXAMPLE.projectId),
      );
      expect(reachableHosts(config, flattenClaims(tokenClaims)), person.name).toEqual(person.hosts);
    }
  });

  it("fails closed while the Action still holds its project id placeholder", () => {
    const tokenClaims = runFlatRolesAction([grant(["admin"])], null);
    expect(tokenClaims[FLAT_ROLES_CLAIM]).toEqual([]);
    expect(reachableHosts(config, flattenClaims(tokenClaims))).toEqual([]);
  });

  it("puts the role claim into the signed assertion", () => {
    expect(Object.values(config.jwt_claims_headers)).toEqual([FLAT_ROLES_CLAIM]);
  });

  it("passes the assertion to the API hosts and websockets to the workspace gateway only", () => {
    const byName = Object.fromEntries(config.routes.map((route) => [route.name, route]));
    expect(byName.api?.pass_identity_headers).toBe(true);
    expect(byName.workspace?.pass_identity_headers).toBe(true);
    expect(byName.portal?.pass_identity_headers).toBe(false);
    expect(byName.admin?.pass_identity_headers).toBe(false);
    // Web apps get no identity from Pomerium: the gateway's web proxy strips it and admits by ticket.
    expect(byName.apps?.pass_identity_headers).toBe(false);
    expect(config.routes.filter((route) => route.allow_websockets).map((route) => route.name)).toEqual([
      "workspace",
      "apps",
    ]);
    expect(byName.apps?.from).toBe("https://*.apps.portal.kappa4.com");
    expect(byName.apps?.to).toBe("http://gateway:8081");
    expect(byName.api?.cors_allow_preflight).toBe(true);
    expect(byName.api?.to).toBe("http://api:8080");
    expect(byName.workspace?.to).toBe("http://gateway:8081");
    expect(byName.admin?.to).toBe("http://portal:3000");
  });

  it("routes the REST paths of the API host first, admitting API-token callers without forwarding an identity", () => {
    const [first, ...rest] = config.routes;
    expect(first).toMatchObject({
      name: "api-rest",
      from: "https://api.portal.kappa4.com",
      prefix: "/api/",
      to: "http://api:8080",
      pass_identity_headers: false,
      cors_allow_preflight: false,
      policy: [{ allow: { or: [{ accept: true }] } }],
    });
    expect(rest.map((route) => route.name)).toEqual(["portal", "api", "admin", "workspace", "apps"]);
    // The same host's own route keeps its role policy for /trpc and everything else.
    const api = rest.find((route) => route.name === "api");
    expect(api?.prefix).toBeUndefined();
    expect(evaluatePolicy(api?.policy ?? [], {})).toBe(false);
    // Listed after the host route it would never match: the checks refuse that order.
    const swapped = structuredClone(config);
    swapped.routes = [...rest, first as (typeof config.routes)[number]];
    expect(validatePomeriumConfig(swapped).join("\n")).toContain(
      "must come before the route for api.portal.kappa4.com",
    );
  });
});

describe("Pomerium config, zitadel-roles mode", () => {
  const { config } = generatePomeriumConfig(ZITADEL);

  it("matches Zitadel's flattened roles key with org id and org domain", () => {
    const admin = config.routes.find((route) => route.name === "admin");
    expect(admin?.policy).toEqual([
      { allow: { or: [{ [`claim/${ZITADEL_ROLES_CLAIM}.admin.${EXAMPLE.orgId}`]: EXAMPLE.orgDomain }] } },
    ]);
  });

  it("admits each person to exactly the hosts of their role (Zitadel claims flattened as Pomerium does)", () => {
    for (const person of PEOPLE) {
      const claims = flattenClaims(zitadelClaims(person.grants, EXAMPLE.projectId));
      expect(reachableHosts(config, claims), person.name).toEqual(person.hosts);
    }
  });

  it("ignores the same role granted by another organization", () => {
    const elsewhere = [grant(["admin"], { orgId: "555555555555555555", orgDomain: "other.example.net" })];
    expect(reachableHosts(config, flattenClaims(zitadelClaims(elsewhere, EXAMPLE.projectId)))).toEqual([]);
  });

  it("shows why the naive roles criterion never matches", () => {
    const claims = flattenClaims(zitadelClaims([grant(["admin", "neosc", "user"])], EXAMPLE.projectId));
    expect(Object.keys(claims)).toContain(`${ZITADEL_ROLES_CLAIM}.admin.${EXAMPLE.orgId}`);
    expect(claims[`${ZITADEL_ROLES_CLAIM}.admin.${EXAMPLE.orgId}`]).toEqual([EXAMPLE.orgDomain]);
    for (const role of ["admin", "neosc", "user"] as Role[]) {
      const naive = [{ allow: { or: [{ [`claim/${ZITADEL_ROLES_CLAIM}`]: role }] } }];
      expect(evaluatePolicy(naive, claims), role).toBe(false);
      expect(
        validatePomeriumConfig(withRoute({ allowed_idp_claims: { [ZITADEL_ROLES_CLAIM]: [role] } })),
      ).toContain("routes[0]: allowed_idp_claims is deprecated; use a policy");
    }
  });

  it("copies the per-role flattened claims into the signed assertion", () => {
    expect(Object.values(config.jwt_claims_headers).sort()).toEqual(
      ["admin", "auditor", "neosc", "user"].map((role) => `${ZITADEL_ROLES_CLAIM}.${role}.${EXAMPLE.orgId}`),
    );
  });

  it("needs the organization id and primary domain", () => {
    expect(() => generatePomeriumConfig({ domain: EXAMPLE.domain, mode: "zitadel-roles" })).toThrow(
      /zitadelOrgId/,
    );
    expect(() =>
      generatePomeriumConfig({ domain: EXAMPLE.domain, mode: "zitadel-roles", zitadelOrgId: EXAMPLE.orgId }),
    ).toThrow(/zitadelOrgDomain/);
  });
});

describe("Pomerium global settings", () => {
  it("use Zitadel as the OIDC provider with scopes that release roles", () => {
    const { config, warnings } = generatePomeriumConfig(FLAT);
    expect(config.authenticate_service_url).toBe("https://gate.kappa4.com");
    expect(config.idp_provider).toBe("oidc");
    expect(config.idp_provider_url).toBe("https://manager.kappa4.com");
    expect(config.idp_scopes).toEqual([
      "openid",
      "profile",
      "email",
      "offline_access",
      "urn:zitadel:iam:org:projects:roles",
      `urn:zitadel:iam:org:project:id:${EXAMPLE.projectId}:aud`,
      "urn:zitadel:iam:user:resourceowner",
    ]);
    expect(config.cookie_domain).toBe("kappa4.com");
    expect(warnings).toEqual([]);
  });

  it("warns and leaves out the :aud scope when no project id is given", () => {
    const generated = generatePomeriumConfig({ domain: EXAMPLE.domain });
    expect(generated.config.idp_scopes.some((scope) => scope.endsWith(":aud"))).toBe(false);
    expect(generated.warnings).toHaveLength(1);
    expect(generated.yaml).toContain("# WARNING: no --zitadel-project-id");
  });

  it("takes another issuer", () => {
    const { config } = generatePomeriumConfig({ ...FLAT, issuer: "https://id.example.net" });
    expect(config.idp_provider_url).toBe("https://id.example.net");
    expect(() => generatePomeriumConfig({ ...FLAT, issuer: "http://id.example.net" })).toThrow();
  });

  it("keeps every secret out of the file and names each variable the deployment must set", () => {
    for (const target of ["compose", "kubernetes"] as const) {
      const generated = generatePomeriumConfig({ ...FLAT, target });
      const parsed = parse(generated.yaml) as Record<string, unknown>;
      for (const key of ENVIRONMENT_ONLY_KEYS) expect(parsed).not.toHaveProperty(key);
      expect(generated.yaml).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|secret:/i);
      const names = generated.environment.map((variable) => variable.name);
      expect(names).toEqual(
        expect.arrayContaining([
          "IDP_CLIENT_ID",
          "IDP_CLIENT_SECRET",
          "SHARED_SECRET",
          "COOKIE_SECRET",
          "SIGNING_KEY",
        ]),
      );
      expect(names.includes("DATABROKER_STORAGE_CONNECTION_STRING")).toBe(target === "kubernetes");
      for (const name of names) expect(generated.yaml).toContain(`#   ${name}`);
    }
  });

  it("uses Let's Encrypt on one server and shared postgres storage on Kubernetes", () => {
    const compose = generatePomeriumConfig({ ...FLAT, target: "compose" }).config;
    expect(compose).toMatchObject({ autocert: true, address: ":443", http_redirect_addr: ":80" });
    expect(compose.databroker_storage_type).toBeUndefined();
    const kubernetes = generatePomeriumConfig({ ...FLAT, target: "kubernetes" }).config;
    expect(kubernetes).toMatchObject({ databroker_storage_type: "postgres", address: ":8443" });
    expect(kubernetes.certificate_file).toBeDefined();
    expect(kubernetes.autocert).toBeUndefined();
  });

  it("renders YAML that reads back as the checked config, with only accepted keys", () => {
    for (const input of [FLAT, ZITADEL, { ...FLAT, target: "kubernetes" as const }]) {
      const generated = generatePomeriumConfig(input);
      const parsed = parse(generated.yaml) as PomeriumConfig;
      expect(parsed).toEqual(generated.config);
      expect(validatePomeriumConfig(parsed)).toEqual([]);
      for (const key of Object.keys(parsed)) expect(GLOBAL_KEYS).toContain(key);
      for (const route of parsed.routes) {
        for (const key of Object.keys(route)) expect(ROUTE_KEYS).toContain(key);
        expect(route.policy.length).toBeGreaterThan(0);
        expect(route).not.toHaveProperty("allow_any_authenticated_user");
      }
      expect(generated.yaml).not.toMatch(/[&*]a\d/);
    }
  });
});

/** A valid config with the first route changed. */
function withRoute(changes: Record<string, unknown>, drop: string[] = []): Record<string, unknown> {
  const config = structuredClone(generatePomeriumConfig(FLAT).config) as unknown as Record<string, unknown>;
  const routes = config.routes as Record<string, unknown>[];
  const route = { ...routes[0], ...changes };
  for (const key of drop) delete route[key];
  routes[0] = route;
  return config;
}

function withPolicy(policy: unknown): Record<string, unknown> {
  return withRoute({ policy });
}

describe("the generator's own checks", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["a deprecated key", withRoute({ allowed_users: ["a@kappa4.com"] }), "allowed_users is deprecated"],
    ["a removed key", withRoute({ allowed_groups: ["admins"] }), "allowed_groups was removed"],
    ["a misspelt key", withRoute({ polciy: [] }), "unknown route key polciy"],
    ["a route without policy", withRoute({}, ["policy"]), "every route needs a policy"],
    [
      "allow_any_authenticated_user beside a policy",
      withRoute({ allow_any_authenticated_user: true }),
      "allow_any_authenticated_user is OR-ed",
    ],
    ["public access", withRoute({ allow_public_unauthenticated_access: true }), "bypasses the policy"],
    [
      "a policy that is not a list",
      withPolicy({ allow: { or: [{ accept: true }] } }),
      "a policy is a list of blocks",
    ],
    ["an empty policy", withPolicy([]), "at least one block"],
    ["a block without action", withPolicy([{}]), "neither allow nor deny"],
    ["an unknown action", withPolicy([{ permit: { or: [{ accept: true }] } }]), "permit is not an action"],
    ["an unknown operator", withPolicy([{ allow: { any: [{ accept: true }] } }]), "any is not an operator"],
    [
      "nested operators",
      withPolicy([{ allow: { or: [{ and: [{ accept: true }] }] } }]),
      "operators cannot nest",
    ],
    ["an empty criteria list", withPolicy([{ allow: { or: [] } }]), "non-empty list of criteria"],
    [
      "an Enterprise criterion",
      withPolicy([{ allow: { and: [{ day_of_week: "mon" }] } }]),
      "day_of_week: Enterprise",
    ],
    ["groups in Core", withPolicy([{ allow: { or: [{ groups: { has: "admins" } }] } }]), "use claim/groups"],
    ["an unknown criterion", withPolicy([{ allow: { or: [{ role: "admin" }] } }]), "unknown criterion role"],
    [
      "a two-key criterion",
      withPolicy([{ allow: { or: [{ accept: true, reject: true }] } }]),
      "single-key mapping",
    ],
    [
      "a claim without name",
      withPolicy([{ allow: { or: [{ "claim/": "admin" }] } }]),
      "claim/ needs a claim name",
    ],
    [
      "a claim with a list value",
      withPolicy([{ allow: { or: [{ "claim/x": ["a"] }] } }]),
      "needs a string value",
    ],
    [
      "a host outside the cookie domain",
      withRoute({ from: "https://portal.other.net" }),
      "outside cookie_domain",
    ],
    ["plain http", withRoute({ from: "http://portal.kappa4.com" }), "from must be an https URL"],
    ["a bad upstream", withRoute({ to: "portal:3000" }), "to must be an http(s) upstream URL"],
    [
      "the authenticate host as a route",
      withRoute({ from: "https://gate.kappa4.com" }),
      "served by Pomerium itself",
    ],
    ["a bad timeout", withRoute({ timeout: 30 }), "timeout must be a Go duration"],
  ];

  it.each(cases)("reject %s", (_name, config, expected) => {
    const problems = validatePomeriumConfig(config);
    expect(problems.join("\n")).toContain(expected);
  });

  it("reject secrets written into the file, unknown globals, duplicate hosts and weak scopes", () => {
    const config = structuredClone(generatePomeriumConfig(FLAT).config) as unknown as Record<string, unknown>;
    const routes = config.routes as unknown[];
    const problems = validatePomeriumConfig({
      ...config,
      shared_secret: "c2VjcmV0",
      idp_client_secret: "secret",
      signing_key: "pem",
      allowed_domains: ["kappa4.com"],
      idp_scopes: ["openid", "email"],
      cookie_domain: "",
      routes: [...routes, routes[1]],
    }).join("\n");
    expect(problems).toContain("shared_secret must come from the environment (SHARED_SECRET)");
    expect(problems).toContain("idp_client_secret must come from the environment");
    expect(problems).toContain("signing_key must come from the environment");
    expect(problems).toContain("unknown or unexpected global key allowed_domains");
    expect(problems).toContain("idp_scopes must include urn:zitadel:iam:org:projects:roles");
    expect(problems).toContain("cookie_domain must be set");
    expect(problems).toContain("duplicate route for portal.kappa4.com");
  });

  it("accept what the generator emits", () => {
    expect(validatePomeriumConfig(generatePomeriumConfig(ZITADEL).config)).toEqual([]);
    expect(validatePomeriumConfig(withPolicy([{ allow: { and: [{ authenticated_user: true }] } }]))).toEqual(
      [],
    );
  });
});

describe("golden files", () => {
  const GOLDEN: [string, PomeriumOptionsInput][] = [
    ["pomerium.kappa4.com.flat-claim.compose.yaml", FLAT],
    ["pomerium.kappa4.com.zitadel-roles.compose.yaml", ZITADEL],
    ["pomerium.kappa4.com.flat-claim.kubernetes.yaml", { ...FLAT, target: "kubernetes" }],
  ];

  it.each(GOLDEN)("%s matches the generator (UPDATE_GOLDEN=1 rewrites it)", (file, input) => {
    const url = new URL(`./__golden__/${file}`, import.meta.url);
    const { yaml } = generatePomeriumConfig(input);
    if (process.env.UPDATE_GOLDEN === "1") {
      mkdirSync(new URL("./__golden__/", import.meta.url), { recursive: true });
      writeFileSync(url, yaml);
    }
    expect(existsSync(url), `${file} missing: run pnpm --filter @neosc/deploy test:update-golden`).toBe(true);
    expect(yaml).toBe(readFileSync(url, "utf8"));
  });
});
