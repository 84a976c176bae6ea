import { readFileSync } from "node:fs";
import {
  allowedRoles,
  assertionAudiences,
  DomainSchema,
  pomeriumCallbackUrl,
  ROUTES,
  RouteDefinitionSchema,
  routeById,
  routeHost,
  upstreamRoutes,
} from "@neosc/core/routes";
import { describe, expect, it } from "vitest";

describe("route definitions (@neosc/core/routes)", () => {
  it("are well-formed, with unique ids and hosts", () => {
    for (const route of ROUTES) RouteDefinitionSchema.parse(route);
    expect(new Set(ROUTES.map((route) => route.id)).size).toBe(ROUTES.length);
    expect(new Set(ROUTES.map((route) => route.hostPrefix)).size).toBe(ROUTES.length);
    expect(ROUTES.map((route) => route.id).sort()).toEqual([
      "admin",
      "api",
      "apps",
      "gate",
      "portal",
      "workspace",
    ]);
  });

  it("build every host from the domain argument", () => {
    expect(ROUTES.map((route) => routeHost(route, "example.org"))).toEqual([
      "gate.example.org",
      "portal.example.org",
      "api.portal.example.org",
      "admin.portal.example.org",
      "workspace.portal.example.org",
      "*.apps.portal.example.org",
    ]);
    const source = readFileSync(new URL("../../packages/core/src/routes.ts", import.meta.url), "utf8");
    // Only documentation examples may name a domain; no host is fixed in code.
    expect(source).not.toMatch(/kappa4/);
  });

  it("accept only bare domain names", () => {
    expect(DomainSchema.parse(" Kappa4.COM ")).toBe("kappa4.com");
    for (const bad of [
      "",
      "kappa4",
      "https://kappa4.com",
      "kappa4.com:443",
      "kappa4.com.",
      "-a.com",
      "a..com",
    ]) {
      expect(DomainSchema.safeParse(bad).success, bad).toBe(false);
    }
    expect(() => routeHost(routeById("api"), "https://kappa4.com")).toThrow();
  });

  it("honour the role order admin > neosc > user", () => {
    expect(allowedRoles(routeById("portal"))).toEqual(["user", "neosc", "admin", "auditor"]);
    expect(allowedRoles(routeById("api"))).toEqual(["user", "neosc", "admin", "auditor"]);
    expect(allowedRoles(routeById("workspace"))).toEqual(["user", "neosc", "admin"]);
    expect(allowedRoles(routeById("apps"))).toEqual(["user", "neosc", "admin"]);
    expect(allowedRoles(routeById("admin"))).toEqual(["admin"]);
    expect(allowedRoles(routeById("gate"))).toEqual([]);
  });

  it("leave the gate to Pomerium and route everything else to api, portal or the gateway", () => {
    const gate = routeById("gate");
    expect(gate.upstream).toBeNull();
    expect(gate.minimumRole).toBeNull();
    expect(upstreamRoutes().map((route) => route.id)).toEqual([
      "portal",
      "api",
      "admin",
      "workspace",
      "apps",
    ]);
    for (const route of upstreamRoutes()) expect(route.minimumRole).not.toBeNull();
  });

  it("forward the signed assertion only to the hosts of the API and the gateway, never to web apps", () => {
    for (const route of ROUTES) {
      expect(route.passIdentityHeaders, route.id).toBe(
        (route.upstream === "api" || route.upstream === "gateway") && route.id !== "apps",
      );
    }
    expect(routeById("workspace").upstream).toBe("gateway");
    expect(assertionAudiences("kappa4.com")).toEqual([
      "api.portal.kappa4.com",
      "workspace.portal.kappa4.com",
    ]);
  });

  it("disable the whole-request timeout only where websockets stream", () => {
    for (const route of upstreamRoutes()) {
      expect(route.timeoutSeconds === null, route.id).toBe(route.websockets);
    }
    expect(routeById("workspace").websockets).toBe(true);
    expect(routeById("apps").websockets).toBe(true);
  });

  it("name Pomerium's OIDC callback on the gate host", () => {
    expect(pomeriumCallbackUrl("kappa4.com")).toBe("https://gate.kappa4.com/oauth2/callback");
  });
});
