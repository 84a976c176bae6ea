import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { EnvError } from "@neosc/core/env-schema";
import { describe, expect, it } from "vitest";
import { parseEnv } from "../src/env.ts";

describe("configuration", () => {
  it("has working defaults for the embedded mode", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      PORT: 8080,
      METRICS_PORT: 9464,
      NEOSC_TRUSTED_PROXIES: 0,
      NEOSC_SESSION_TTL_SECONDS: 28_800,
      NEOSC_PORTAL_ORIGINS: [],
    });
    expect(env.MONGO_URL).toBeUndefined();
  });

  it("listens on loopback in the embedded mode and on every interface as a service", () => {
    expect(parseEnv({})).toMatchObject({ HOST: "127.0.0.1", METRICS_HOST: "127.0.0.1" });
    const service = parseEnv({ MONGO_URL: "mongodb://db:27017", NEOSC_SESSION_SECRET: "s".repeat(32) });
    expect(service).toMatchObject({ HOST: "0.0.0.0", METRICS_HOST: "0.0.0.0" });
    expect(parseEnv({ HOST: "0.0.0.0" }).HOST).toBe("0.0.0.0");
  });

  it("resolves relative folders against the directory the command was started in", () => {
    const env = parseEnv({ INIT_CWD: "/srv/neosc", NEOSC_PORTAL_DIST: "apps/portal/dist" });
    expect(env.NEOSC_DATA_DIR).toBe("/srv/neosc/.neosc");
    expect(env.NEOSC_PORTAL_DIST).toBe("/srv/neosc/apps/portal/dist");
    expect(parseEnv({ NEOSC_DATA_DIR: "/var/lib/neosc" }).NEOSC_DATA_DIR).toBe("/var/lib/neosc");
  });

  it("parses lists, hop counts and proxy addresses", () => {
    const env = parseEnv({
      NEOSC_PORTAL_ORIGINS: "https://portal.example.com, https://admin.portal.example.com",
      NEOSC_TRUSTED_PROXIES: "loopback, 10.0.0.0/8",
      NEOSC_POMERIUM_JWKS_URL: "https://api.portal.example.com/.well-known/pomerium/jwks.json",
      NEOSC_POMERIUM_AUDIENCES: "api.portal.example.com",
    });
    expect(env.NEOSC_PORTAL_ORIGINS).toEqual([
      "https://portal.example.com",
      "https://admin.portal.example.com",
    ]);
    expect(env.NEOSC_TRUSTED_PROXIES).toEqual(["loopback", "10.0.0.0/8"]);
    expect(parseEnv({ NEOSC_TRUSTED_PROXIES: "2" }).NEOSC_TRUSTED_PROXIES).toBe(2);
  });

  it.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ METRICS_PORT: "70000" }, "METRICS_PORT"],
    [{ MONGO_URL: "postgres://db" }, "MONGO_URL"],
    [{ MONGO_URL: "mongodb://db:27017" }, "NEOSC_SESSION_SECRET"],
    [{ NEOSC_SESSION_SECRET: "short" }, "NEOSC_SESSION_SECRET"],
    [{ NEOSC_OIDC_ISSUER: "https://id.example.com" }, "NEOSC_OIDC_CLIENT_ID"],
    [{ NEOSC_POMERIUM_JWKS_URL: "https://p.example.com/jwks.json" }, "NEOSC_POMERIUM_AUDIENCES"],
    [{ NEOSC_TRUSTED_PROXIES: "everyone" }, "NEOSC_TRUSTED_PROXIES"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
  ])("names the variable of a bad value: %o", (source, variable) => {
    expect(() => parseEnv(source)).toThrow(EnvError);
    expect(() => parseEnv(source)).toThrow(new RegExp(`${variable}:`));
  });

  it("stops the process with a message naming the variable", () => {
    const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
    const result = spawnSync(process.execPath, ["--import", "tsx", main], {
      env: { PATH: process.env.PATH, PORT: "not-a-port" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("PORT");
  });
});
