import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LoginOutput } from "@neosc/core/auth";
import type { Workspace } from "@neosc/core/workspace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, useApi } from "./support/api.ts";
import { bearer, mutation, query } from "./support/http.ts";

/* The embedded default serves the built portal itself, with a fallback for client-side routes. */

const api = useApi();
let dist = "";
let server: RunningServer;

beforeAll(async () => {
  dist = await mkdtemp(path.join(tmpdir(), "neosc-portal-"));
  await mkdir(path.join(dist, "assets"));
  await writeFile(path.join(dist, "index.html"), "<!doctype html><title>NeoSC</title><div id=root></div>");
  await writeFile(path.join(dist, "assets", "app-1234.js"), "console.log('portal');");
  await writeFile(path.join(dist, "assets", "vendor-5678.js"), "export const big = 1;\n".repeat(2000));
  server = await api.start({ NEOSC_PORTAL_DIST: dist });
});

afterAll(async () => {
  await rm(dist, { recursive: true, force: true });
});

describe("the built portal", () => {
  it("is served at / and for client-side routes, with hashed assets cached for long", async () => {
    const root = await fetch(`${server.url}/`, { headers: { accept: "text/html" } });
    expect(root.status).toBe(200);
    expect(await root.text()).toContain("NeoSC");
    const deep = await fetch(`${server.url}/admin/workspaces`, { headers: { accept: "text/html" } });
    expect(deep.status).toBe(200);
    expect(deep.headers.get("cache-control")).toBe("no-cache");
    const asset = await fetch(`${server.url}/assets/app-1234.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
    expect(
      (await fetch(`${server.url}/nothing.json`, { headers: { accept: "application/json" } })).status,
    ).toBe(404);
  });

  it("compresses the portal's files but not API answers", async () => {
    const asset = await fetch(`${server.url}/assets/vendor-5678.js`, {
      headers: { "accept-encoding": "gzip" },
    });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-encoding")).toBe("gzip");
    expect(await asset.text()).toContain("export const big = 1;");
    const api = await fetch(`${server.url}/trpc/auth.config`, { headers: { "accept-encoding": "gzip" } });
    expect(api.status).toBe(200);
    expect(api.headers.get("content-encoding")).toBeNull();
  });

  it("leaves /trpc to the API, and counts launches in the metrics", async () => {
    expect((await query(server.url, "auth.config")).status).toBe(200);
    const login = await mutation<LoginOutput>(server.url, "auth.login", {
      email: ADMIN_EMAIL,
      password: ADMIN_PASSWORD,
    });
    const token = login.data?.token ?? "";
    const changed = await mutation(
      server.url,
      "auth.changePassword",
      { currentPassword: ADMIN_PASSWORD, newPassword: `${ADMIN_PASSWORD}-2` },
      { headers: bearer(token) },
    );
    expect(changed.status).toBe(200);
    const workspace = await mutation<Workspace>(
      server.url,
      "workspace.create",
      { slug: "docs", name: "Docs", kind: "web", url: "https://docs.example.test", allowedRoles: ["admin"] },
      { headers: bearer(token) },
    );
    expect(workspace.status).toBe(200);
    const launch = await mutation(
      server.url,
      "workspace.launch",
      { workspaceId: workspace.data?.id },
      { headers: bearer(token) },
    );
    expect(launch.status).toBe(200);
    const metrics = await (await fetch(server.metricsUrl ?? "")).text();
    expect(metrics).toMatch(/workspace_launches_total\{result="success"\} 1/);
    expect(metrics).toMatch(/workspace_launch_duration_seconds_count\{result="success"\} 1/);
  });
});
