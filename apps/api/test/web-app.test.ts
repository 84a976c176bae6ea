import type { LoginOutput } from "@neosc/core/auth";
import type { ConnectSessionOutput } from "@neosc/core/connection";
import type { WorkspaceSession } from "@neosc/core/session";
import type { Workspace } from "@neosc/core/workspace";
import { type InspectorApp, startInspectorApp } from "@neosc/gateway/inspector-app";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, PUBLIC_ORIGIN, useApi } from "./support/api.ts";
import { bearer, mutation } from "./support/http.ts";

/*
 * A web workspace as the API serves it (path mode: the public URL is not on localhost): launch
 * opens the session page, session.connect hands out a ticket for the session's entry, the entry
 * trades it for the session cookie, the app behind it never sees the portal's cookie, and an
 * administrator's end reaches the next request.
 */

const api = useApi();
let app: InspectorApp;
let server: RunningServer;
let adminToken: string;
let workspace: Workspace;

beforeAll(async () => {
  app = await startInspectorApp();
  server = await api.start({ NEOSC_INSPECTOR_PORT: "0" });
  const login = await mutation<LoginOutput>(server.url, "auth.login", {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  adminToken = login.data?.token ?? "";
  const created = await mutation<Workspace>(
    server.url,
    "workspace.create",
    { slug: "inspector-test", name: "Inspector", kind: "web", url: app.url, allowedRoles: ["admin"] },
    { headers: bearer(adminToken) },
  );
  if (created.data === null) throw new Error(`workspace.create failed: ${JSON.stringify(created.error)}`);
  workspace = created.data;
});

afterAll(async () => {
  await app?.close();
});

/** The same path on the test server (the public URL names a host that does not resolve here). */
const onServer = (url: string) => {
  const parsed = new URL(url);
  return `${server.url}${parsed.pathname}${parsed.search}`;
};

describe("a web workspace through the API", () => {
  it("opens through the session's entry, hides the portal's cookie from the app, and ends with the reason", async () => {
    const launched = await mutation<WorkspaceSession>(
      server.url,
      "workspace.launch",
      { workspaceId: workspace.id },
      { headers: bearer(adminToken) },
    );
    const session = launched.data;
    if (session === null) throw new Error(`launch failed: ${JSON.stringify(launched.error)}`);
    expect(session.connectionUrl).toBe(`/workspace/${session.id}`);

    const connect = await mutation<ConnectSessionOutput>(
      server.url,
      "session.connect",
      { sessionId: session.id },
      { headers: bearer(adminToken) },
    );
    expect(connect.data).toMatchObject({
      protocol: "http",
      url: `${PUBLIC_ORIGIN}/apps/${session.id}/.neosc/enter`,
    });
    const entry = await fetch(onServer(connect.data?.url ?? ""), {
      method: "POST",
      // As the entry page's script posts it: from the session's origin (the portal's, in path mode).
      headers: { origin: PUBLIC_ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: `ticket=${encodeURIComponent(connect.data?.ticket ?? "")}`,
    });
    expect(entry.status).toBe(200);
    expect(await entry.json()).toEqual({ location: `${PUBLIC_ORIGIN}/apps/${session.id}/` });
    const setCookie = entry.headers.get("set-cookie") ?? "";
    expect(setCookie).toContain(`Path=/apps/${session.id}; HttpOnly; SameSite=Lax`);
    const appCookie = setCookie.split(";")[0] ?? "";

    // Path mode shares the portal's origin: the browser sends the portal's cookie along too.
    const headers = await fetch(`${server.url}/apps/${session.id}/headers`, {
      headers: { cookie: `neosc_session=${adminToken}; ${appCookie}`, authorization: `Bearer ${adminToken}` },
    });
    expect(headers.status).toBe(200);
    const seen = (await headers.json()) as { headers: Record<string, string> };
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers.authorization).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(adminToken);

    const home = await fetch(`${server.url}/apps/${session.id}/`, { headers: { cookie: appCookie } });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain("Request inspector");

    const socket = new WebSocket(`${server.url.replace("http", "ws")}/apps/${session.id}/echo`, {
      headers: { cookie: appCookie },
      origin: PUBLIC_ORIGIN,
    });
    const greeting = await new Promise<string>((resolve, reject) => {
      socket.once("message", (data) => resolve(String(data)));
      socket.once("error", reject);
      socket.once("unexpected-response", (_request, response) =>
        reject(new Error(`refused ${response.statusCode}`)),
      );
    });
    expect(JSON.parse(greeting)).toMatchObject({ cookie: null });
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));

    await mutation(
      server.url,
      "session.disconnect",
      { sessionId: session.id },
      { headers: bearer(adminToken) },
    );
    const endedAt = Date.now();
    const next = () => fetch(`${server.url}/apps/${session.id}/`, { headers: { cookie: appCookie } });
    await expect.poll(async () => (await next()).status, { timeout: 3000, interval: 200 }).toBe(410);
    expect(Date.now() - endedAt).toBeLessThan(3000);
    expect(await (await next()).text()).toContain("This session ended: Ended by you");
    await closed;
  });

  it("frames session origins only from the portal: the portal's CSP allows its own origin in path mode", async () => {
    const response = await fetch(`${server.url}/healthz`);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
  });
});
