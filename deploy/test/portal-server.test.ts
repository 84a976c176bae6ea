import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SERVER = fileURLToPath(new URL("../docker/portal-server.mjs", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "neosc-portal-root-"));
let child: ChildProcess | undefined;
let base = "";

const ENV = {
  PORT: "0",
  HOST: "127.0.0.1",
  NEOSC_PORTAL_ROOT: root,
  NEOSC_API_BASE_URL: "https://api.portal.kappa4.com/",
  NEOSC_SSO_ISSUER: "https://manager.kappa4.com",
  NEOSC_SSO_CLIENT_ID: "284@neosc",
  NEOSC_SSO_SCOPES: "openid profile, email",
};

beforeAll(async () => {
  writeFileSync(join(root, "index.html"), "<!doctype html><div id=root></div>");
  writeFileSync(join(root, "config.json"), '{"apiBaseUrl":"baked-in","sso":null}');
  writeFileSync(join(root, ".env"), "SECRET=1");
  mkdirSync(join(root, "assets"));
  writeFileSync(join(root, "assets", "index-abc123.js"), "console.log(1)");
  writeFileSync(join(tmpdir(), "neosc-outside.txt"), "outside");

  const started = spawn(process.execPath, [SERVER], { env: { PATH: process.env.PATH ?? "", ...ENV } });
  child = started;
  base = await new Promise<string>((resolvePort, reject) => {
    let output = "";
    started.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((candidate) => candidate.includes("portal listening"));
      if (line) resolvePort(`http://127.0.0.1:${JSON.parse(line).port}`);
    });
    started.on("exit", (code) => reject(new Error(`portal server exited with ${code}`)));
  });
});

afterAll(() => {
  child?.kill("SIGTERM");
  rmSync(root, { recursive: true, force: true });
  rmSync(join(tmpdir(), "neosc-outside.txt"), { force: true });
});

describe("portal container server", () => {
  it("serves config.json from the environment, not the baked-in file", async () => {
    const response = await fetch(`${base}/config.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toEqual({
      apiBaseUrl: "https://api.portal.kappa4.com",
      sso: {
        issuer: "https://manager.kappa4.com",
        clientId: "284@neosc",
        scopes: ["openid", "profile", "email"],
      },
    });
  });

  it("answers client-side routes with the app shell and missing files with 404", async () => {
    for (const path of ["/", "/workspaces", "/admin/audit"]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(await response.text()).toContain("<div id=root>");
    }
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
  });

  it("serves hashed assets as immutable with their type", async () => {
    const response = await fetch(`${base}/assets/index-abc123.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/javascript");
    expect(response.headers.get("cache-control")).toContain("immutable");
  });

  it("sends security headers that allow only the API and the IdP as remote origins", async () => {
    const response = await fetch(`${base}/`);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("connect-src 'self' https://api.portal.kappa4.com https://manager.kappa4.com");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("never leaves the root or serves dotfiles", async () => {
    for (const path of [
      "/../neosc-outside.txt",
      "/%2e%2e/neosc-outside.txt",
      "/assets/..%2f..%2fneosc-outside.txt",
    ]) {
      const response = await fetch(`${base}${path}`);
      expect(await response.text(), path).not.toContain("outside");
    }
    expect((await fetch(`${base}/.env`)).status).toBe(404);
  });

  it("answers health checks and refuses writes", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const post = await fetch(`${base}/config.json`, { method: "POST", body: "{}" });
    expect(post.status).toBe(405);
  });

  it("stops at start on a bad setting, naming the variable", () => {
    for (const [name, env] of [
      ["NEOSC_API_BASE_URL", { NEOSC_API_BASE_URL: "api.portal.kappa4.com" }],
      ["NEOSC_SSO_CLIENT_ID", { NEOSC_SSO_ISSUER: "https://manager.kappa4.com" }],
      ["PORT", { PORT: "http" }],
    ] as const) {
      const result = spawnSync(process.execPath, [SERVER], {
        env: { PATH: process.env.PATH ?? "", NEOSC_PORTAL_ROOT: root, PORT: "0", HOST: "127.0.0.1", ...env },
        encoding: "utf8",
        timeout: 10_000,
      });
      expect(result.status, name).toBe(1);
      expect(result.stderr).toContain(name);
    }
  });
});
