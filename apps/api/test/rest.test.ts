import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { ErrorShape } from "@neosc/core/errors";
import { PROCEDURE_PATHS } from "@neosc/core/permissions";
import { REST_ROUTES } from "@neosc/core/rest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, useApi } from "./support/api.ts";
import { query } from "./support/http.ts";

/*
 * The REST face over real HTTP: the OpenAPI document validates as 3.1 and lists the routes, errors
 * are problem+json, and a Python script (standard library) drives it with an API token.
 */

const run = promisify(execFile);
const api = useApi();
let server: RunningServer;
let session: string;

async function rest(method: string, route: string, options: { token?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${server.url}/api${route}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    body: JSON.parse(text),
  };
}

beforeAll(async () => {
  server = await api.start();
  const login = await rest("POST", "/auth/login", { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
  expect(login.status).toBe(200);
  session = login.body.token;
});

/** Every REST operation, written out: adding, moving or dropping one must show up here. */
const EXPECTED_OPERATIONS = [
  "POST /auth/login",
  "POST /auth/logout",
  "GET /auth/config",
  "GET /auth/me",
  "GET /workspaces",
  "GET /workspaces/{id}",
  "POST /workspaces",
  "PATCH /workspaces/{id}",
  "DELETE /workspaces/{id}",
  "POST /workspaces/{workspaceId}/launch",
  "POST /workspaces/{workspaceId}/stop",
  "POST /catalogue/reset",
  "GET /sessions",
  "GET /sessions/active",
  "POST /sessions/{sessionId}/disconnect",
  "GET /audit-logs",
  "GET /audit-logs/verify",
  "GET /audit-logs/export",
  "POST /audit-logs/checkpoints",
  "GET /sessions/{sessionId}/recordings",
  "GET /sessions/{sessionId}/recordings/{segment}",
  "GET /recordings/verify",
  "GET /policies",
  "PUT /policies/{key}/enabled",
  "PATCH /policies/{key}",
  "GET /organizations",
  "POST /organizations",
  "PATCH /organizations/{id}",
  "DELETE /organizations/{id}",
  "GET /users",
  "POST /users",
  "PUT /users/{userId}/role",
  "POST /users/{userId}/anonymize",
  "POST /users/{userId}/disable",
  "POST /users/{userId}/enable",
  "POST /users/{userId}/reset-password",
  "DELETE /users/{userId}",
  "POST /users/{userId}/reset-mfa",
  "GET /stats",
  "GET /tokens",
  "POST /tokens",
  "DELETE /tokens/{id}",
  "GET /service-accounts",
  "POST /service-accounts",
].sort();

/** Browser flows with no REST route (SSO callbacks, TOTP enrolment, password change, heartbeat, the viewer's ticket). */
const BROWSER_ONLY = [
  "auth.register",
  "auth.sso",
  "auth.tokenExchange",
  "auth.mfa.enroll",
  "auth.mfa.confirm",
  "auth.mfa.disable",
  "auth.mfa.regenerateRecoveryCodes",
  "auth.mfa.stepUp",
  "auth.changePassword",
  "session.heartbeat",
  // A view-only viewer for admins in the portal (its ticket is for the gateway, not a script).
  "session.watch",
  "session.connect",
  "policy.preview",
];

describe("OpenAPI document", () => {
  it("validates as OpenAPI 3.1 and lists exactly the REST operations", async () => {
    const response = await fetch(`${server.url}/api/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    expect(document.openapi).toBe("3.1.0");
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");

    const operations = Object.entries(document.paths)
      .flatMap(([route, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${route}`))
      .sort();
    expect(operations).toEqual(EXPECTED_OPERATIONS);
    for (const [procedure, route] of Object.entries(REST_ROUTES)) {
      expect(document.paths[route.path]?.[route.method.toLowerCase()]?.operationId).toBe(procedure);
    }
    // Every procedure is either on REST or a named browser flow: a new one forces a decision.
    const unrouted = PROCEDURE_PATHS.filter((procedure) => !(procedure in REST_ROUTES));
    expect(unrouted.sort()).toEqual([...BROWSER_ONLY].sort());
  });

  it("serves a reference page with its own assets (no CDN)", async () => {
    const page = await fetch(`${server.url}/api/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      expect(asset.startsWith("/api/docs/"), asset).toBe(true);
      const response = await fetch(`${server.url}${asset}`);
      expect(response.status, asset).toBe(200);
    }
  });
});

describe("REST answers", () => {
  it("are plain JSON with ISO dates, and errors are problem+json with the tRPC reasons and field errors", async () => {
    const list = await rest("GET", "/workspaces", { token: session });
    expect(list.status).toBe(200);
    expect(list.type).toMatch(/^application\/json/);
    expect(list.body[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const anonymous = await rest("GET", "/workspaces");
    expect(anonymous).toMatchObject({
      status: 401,
      type: "application/problem+json",
      body: { status: 401, code: "UNAUTHORIZED", reason: "not_authenticated" },
    });

    const bad = await rest("POST", "/workspaces", { token: session, body: { name: "", slug: "NO" } });
    expect(bad.status).toBe(400);
    expect(bad.type).toBe("application/problem+json");
    expect(bad.body.reason).toBe("invalid_input");
    expect(Object.keys(bad.body.fieldErrors)).toEqual(expect.arrayContaining(["name", "slug"]));
    // The same call over tRPC carries the same field errors.
    const trpc = await fetch(`${server.url}/trpc/workspace.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${session}`, "content-type": "application/json" },
      body: JSON.stringify({ json: { name: "", slug: "NO" } }),
    });
    const trpcError = (await trpc.json()) as { error: { json: ErrorShape } };
    expect(Object.keys(trpcError.error.json.data.zod?.fieldErrors ?? {}).sort()).toEqual(
      Object.keys(bad.body.fieldErrors).sort(),
    );

    const missing = await rest("GET", "/workspaces/00000000-0000-4000-8000-000000000000", { token: session });
    expect(missing).toMatchObject({ status: 404, body: { reason: "not_found" } });
    const nowhere = await rest("GET", "/no-such-route", { token: session });
    expect(nowhere).toMatchObject({ status: 404, type: "application/problem+json" });
  });

  it("coerce query strings only for REST: tRPC still refuses a string where a boolean belongs", async () => {
    const filtered = await rest("GET", "/workspaces?enabled=false", { token: session });
    expect(filtered.status).toBe(200);
    const loose = await query(
      server.url,
      "workspace.list",
      { enabled: "false" },
      { headers: { authorization: `Bearer ${session}` } },
    );
    expect(loose.status).toBe(400);
  });

  it("never read the portal's session cookie (no CSRF surface)", async () => {
    const response = await fetch(`${server.url}/api/auth/me`, {
      headers: { cookie: `neosc_session=${session}` },
    });
    expect(response.status).toBe(401);
  });
});

describe("a Python client with an API token", () => {
  it("signs in, lists, launches, disconnects, reads the audit log and is refused outside its scope", {
    timeout: 120_000,
  }, async () => {
    const account = await rest("POST", "/service-accounts", {
      token: session,
      body: { name: "Python automation", role: "admin" },
    });
    expect(account.status).toBe(200);
    const created = await rest("POST", "/tokens", {
      token: session,
      body: {
        name: "python-ci",
        serviceAccountId: account.body.id,
        expiresInDays: 1,
        scope: {
          kind: "procedures",
          procedures: ["auth.me", "workspace.list", "workspace.launch", "session.disconnect", "audit.list"],
        },
      },
    });
    expect(created.status).toBe(200);
    const script = path.join(import.meta.dirname, "python", "rest_client.py");
    const { stdout } = await run("python3", [script], {
      env: {
        PATH: process.env.PATH,
        NEOSC_URL: server.url,
        NEOSC_TOKEN: created.body.secret,
        NEOSC_TOKEN_NAME: "python-ci",
      },
      timeout: 100_000,
    }).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`rest_client.py failed:\n${error.stdout ?? ""}\n${error.stderr ?? ""}`);
    });
    const steps = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { step?: string; ok?: boolean });
    expect(steps.filter((step) => step.ok === false)).toEqual([]);
    expect(steps.map((step) => step.step).filter(Boolean)).toEqual([
      "me",
      "list workspaces",
      "launch",
      "disconnect",
      "audit log names the token",
      "audit log has the launch",
      "403 outside the scope",
      "400 names the field",
      "401 for a forged token",
    ]);
    // The secret never comes back: the token list shows its prefix only.
    const tokens = await rest("GET", `/tokens?serviceAccountId=${account.body.id}`, { token: session });
    expect(JSON.stringify(tokens.body)).not.toContain(created.body.secret);
    expect(tokens.body[0].lastUsedAt).not.toBeNull();
  });
});
