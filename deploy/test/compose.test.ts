import { readFileSync } from "node:fs";
import { assertionAudiences } from "@neosc/core/routes";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { POMERIUM_PATHS, POMERIUM_PORTS, pomeriumEnvironment } from "../src/pomerium.ts";

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  restart?: string;
  user?: string;
  ports?: unknown[];
  expose?: unknown[];
  network_mode?: string;
  privileged?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  networks?: Record<string, { aliases?: string[] } | null>;
  healthcheck?: { test?: string[] };
  deploy?: { resources?: { limits?: { cpus?: string; memory?: string } } };
}

interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { driver?: string; internal?: boolean }>;
  volumes?: Record<string, unknown>;
}

const composeText = readFileSync(new URL("../compose/docker-compose.yml", import.meta.url), "utf8");
const compose = parse(composeText, { merge: true }) as Compose;
const envExample = readFileSync(new URL("../compose/.env.example", import.meta.url), "utf8");
const services = Object.entries(compose.services);
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
};

/** How the compose file writes the domain: a variable from .env. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation syntax, not a JS template.
const DOMAIN_VAR = "${NEOSC_DOMAIN}";
/** Hosts as compose writes them, with the domain variable in place of a domain. */
const composeHosts = (hosts: string[]) => hosts.map((host) => host.replace("domain.invalid", DOMAIN_VAR));

describe("docker-compose.yml: isolation", () => {
  it("has exactly pomerium, portal, api, the workspace gateway and mongo", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["api", "gateway", "mongo", "pomerium", "portal"]);
  });

  it("lets only Pomerium publish ports, and only 80 and 443", () => {
    for (const [name, definition] of services) {
      if (name === "pomerium") continue;
      expect(definition.ports, name).toBeUndefined();
      expect(definition.network_mode, name).toBeUndefined();
    }
    expect(service("pomerium").ports).toEqual(["80:80", "443:443"]);
    expect(POMERIUM_PORTS.compose).toEqual({ https: 443, http: 80 });
  });

  it("keeps the internal network internal and puts only Pomerium on the proxy network", () => {
    expect(compose.networks.internal?.internal).toBe(true);
    expect(compose.networks.proxy?.internal).toBeUndefined();
    for (const [name, definition] of services) {
      const networks = Object.keys(definition.networks ?? {}).sort();
      expect(networks, name).toEqual(name === "pomerium" ? ["internal", "proxy"] : ["internal"]);
    }
  });

  it("runs every container as a non-root user, unprivileged, with CPU and memory limits", () => {
    for (const [name, definition] of services) {
      expect(definition.user, name).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(definition.privileged, name).toBeUndefined();
      expect(definition.cap_add, name).toBeUndefined();
      expect(definition.cap_drop, name).toEqual(["ALL"]);
      expect(definition.deploy?.resources?.limits?.cpus, name).toMatch(/^\d+(\.\d+)?$/);
      expect(definition.deploy?.resources?.limits?.memory, name).toMatch(/^\d+[MG]$/);
      expect(definition.restart, name).toBe("unless-stopped");
      expect(definition.healthcheck?.test?.length, name).toBeGreaterThan(1);
    }
  });

  it("checks the API on its own port: /readyz before Pomerium sends traffic", () => {
    const test = service("api").healthcheck?.test?.join(" ") ?? "";
    expect(test).toMatch(/http:\/\/127\.0\.0\.1:8080\/(readyz|healthz)/);
    expect(service("api").environment?.PORT).toBe("8080");
    expect(service("portal").healthcheck?.test?.join(" ")).toContain("http://127.0.0.1:3000/healthz");
    expect(service("pomerium").healthcheck?.test).toEqual(["CMD", "pomerium", "health"]);
    expect(service("gateway").healthcheck?.test?.join(" ")).toContain("http://127.0.0.1:8081/readyz");
    expect(service("gateway").environment?.PORT).toBe("8081");
  });

  it("runs MongoDB 7 with its data on a named volume", () => {
    expect(service("mongo").image).toMatch(/^mongo:7(\.\d+)*$/);
    const data = service("mongo").volumes?.find((volume) => volume.endsWith(":/data/db"));
    expect(data).toBe("mongo-data:/data/db");
    expect(compose.volumes).toHaveProperty("mongo-data");
    expect(service("api").environment?.MONGO_URL).toMatch(
      /^mongodb:\/\/\$\{[A-Z_:?a-zA-Z .]+}:\$\{.+}@mongo:27017\//,
    );
  });
});

describe("docker-compose.yml: recordings", () => {
  it("gives the gateway, which writes recordings, and the API, which replays them, one folder", () => {
    const mountOf = (name: string) => {
      const folder = service(name).environment?.NEOSC_RECORDINGS_DIR;
      expect(folder, name).toMatch(/^\//);
      const volume = (service(name).volumes ?? []).find((entry) => entry.split(":")[1] === folder);
      expect(volume, `${name} mounts ${folder}`).toBeDefined();
      expect(volume?.split(":")[2], `${name} may write it`).toBeUndefined();
      return volume?.split(":")[0];
    };
    const gateway = mountOf("gateway");
    expect(mountOf("api")).toBe(gateway);
    // A host folder the operator creates for uid 1000, as the header's setup steps say.
    expect(gateway).toBe("./data/recordings");
    expect(compose.services.api?.user).toBe("1000:1000");
    expect(compose.services.gateway?.user).toBe("1000:1000");
  });
});

describe("docker-compose.yml: Pomerium and the API agree", () => {
  it("mounts the generated config where Pomerium reads it, read-only, and keeps certificates", () => {
    const volumes = service("pomerium").volumes ?? [];
    expect(volumes).toContain(`./pomerium/config.yaml:${POMERIUM_PATHS.config}:ro`);
    expect(volumes.some((volume) => volume.endsWith(`:${POMERIUM_PATHS.autocertDir}`))).toBe(true);
    expect(service("pomerium").image).toMatch(/^pomerium\/pomerium:v0\.33\.\d+$/);
  });

  it("passes every setting the generated config leaves to the environment, from .env", () => {
    const environment = service("pomerium").environment ?? {};
    for (const variable of pomeriumEnvironment("compose")) {
      expect(environment[variable.name], variable.name).toMatch(/^\$\{[A-Z_]+:\?.+}$/);
    }
  });

  it("gives the API the assertion audiences and a key set URL it can reach without leaving the network", () => {
    const api = service("api").environment ?? {};
    expect(api.NEOSC_POMERIUM_AUDIENCES?.split(",")).toEqual(
      composeHosts(assertionAudiences("domain.invalid")),
    );
    const jwks = api.NEOSC_POMERIUM_JWKS_URL ?? "";
    expect(jwks).toMatch(/^https:\/\/.+\/\.well-known\/pomerium\/jwks\.json$/);
    const jwksHost = jwks.slice("https://".length).split("/")[0] ?? "";
    expect(api.NEOSC_POMERIUM_AUDIENCES?.split(",")).toContain(jwksHost);
    expect(
      service("pomerium").networks?.internal?.aliases?.map((alias) => alias.replace(/:\?[^}]*/, "")),
    ).toContain(jwksHost);
    expect(api.NEOSC_PORTAL_ORIGINS).toBe(`https://portal.${DOMAIN_VAR},https://admin.portal.${DOMAIN_VAR}`);
    expect(service("portal").environment?.NEOSC_API_BASE_URL).toMatch(
      /^https:\/\/api\.portal\.\$\{NEOSC_DOMAIN/,
    );
  });

  it("sends browsers to the gateway service behind the workspace host, which checks that host's assertions", () => {
    expect(service("api").environment?.NEOSC_GATEWAY_URL).toBe(
      `wss://workspace.portal.${DOMAIN_VAR}/gateway/connect`,
    );
    const gateway = service("gateway").environment ?? {};
    expect(gateway.NEOSC_POMERIUM_AUDIENCES).toBe(`workspace.portal.${DOMAIN_VAR}`);
    expect(gateway.NEOSC_POMERIUM_JWKS_URL).toBe(service("api").environment?.NEOSC_POMERIUM_JWKS_URL);
    expect(gateway.NEOSC_PORTAL_ORIGINS).toMatch(
      /^https:\/\/portal\.\$\{NEOSC_DOMAIN[^}]*},https:\/\/admin\.portal\.\$\{NEOSC_DOMAIN}$/,
    );
    expect(gateway.MONGO_URL).toBe(service("api").environment?.MONGO_URL);
  });
});

describe("docker-compose.yml: secrets come from .env", () => {
  const referenced = [...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((match) => match[1] ?? "");
  const documented = [...envExample.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((match) => ({
    name: match[1] ?? "",
    value: match[2] ?? "",
  }));

  it("documents every variable the compose file uses, and uses every documented one", () => {
    const names = documented.map((entry) => entry.name);
    expect(new Set(referenced)).toEqual(new Set(names));
    const lines = envExample.split("\n");
    for (const name of names) {
      // A comment above the variable, or above the group of variables it belongs to.
      let above = lines.findIndex((text) => text.startsWith(`${name}=`)) - 1;
      while (above >= 0 && /^[A-Z0-9_]+=/.test(lines[above] ?? "")) above -= 1;
      expect(lines[above], `${name} needs a comment above it`).toMatch(/^# \S/);
    }
  });

  it("ships no secret values in .env.example", () => {
    for (const { name, value } of documented) {
      if (/SECRET|PASSWORD|KEY|CLIENT_ID/.test(name)) expect(value, name).toBe("");
    }
  });

  it("writes no literal secret into the compose file", () => {
    for (const [name, definition] of services) {
      for (const [key, value] of Object.entries(definition.environment ?? {})) {
        if (/SECRET|PASSWORD|SIGNING_KEY/.test(key))
          expect(value, `${name}.${key}`).toMatch(/^\$\{[A-Z_]+[:?-]/);
      }
    }
  });
});
