import type { LoginOutput } from "@neosc/core/auth";
import type { ErrorShape, RestProblem } from "@neosc/core/errors";
import type { Workspace } from "@neosc/core/workspace";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, useApi } from "./support/api.ts";
import { bearer, mutation, query } from "./support/http.ts";

/*
 * The one error shape (`ErrorShape` and `ReasonDetails` of @neosc/core/errors) as it leaves the
 * API over real HTTP: tRPC's `error.data` and REST's problem+json carry the same reason, the same
 * details (only the keys `ReasonDetails` names) and the same field errors.
 */

const api = useApi();
let server: RunningServer;
let admin: string;

beforeAll(async () => {
  server = await api.start();
  const login = await mutation<LoginOutput>(server.url, "auth.login", {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  admin = login.data?.token ?? "";
  expect(admin).not.toBe("");
});

async function rest(method: string, route: string, token: string | null, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${server.url}/api${route}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return (await response.json()) as RestProblem;
}

describe("the error shape", () => {
  it("tRPC: code, status, path, field errors and the domain block, nothing else", async () => {
    const anonymous = await query(server.url, "auth.me");
    expect(anonymous.error).toEqual({
      message: "Sign in first",
      code: -32001,
      data: {
        code: "UNAUTHORIZED",
        httpStatus: 401,
        path: "auth.me",
        zod: null,
        domain: { reason: "not_authenticated", details: null, retryAfterSeconds: null },
      },
    } satisfies ErrorShape);

    const invalid = await mutation(server.url, "auth.login", { email: "not an email", password: "x" });
    expect(invalid.error?.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, domain: null });
    expect(Object.keys(invalid.error?.data.zod?.fieldErrors ?? {})).toEqual(["email"]);
  });

  it("a refusal's details are the keys ReasonDetails names, the same over tRPC and REST", async () => {
    const id = "00000000-0000-4000-8000-000000000000";
    const missing = await query(server.url, "workspace.get", { id }, { headers: bearer(admin) });
    expect(missing.error?.data.domain).toEqual({
      reason: "not_found",
      details: { workspaceId: id },
      retryAfterSeconds: null,
    });
    const problem = await rest("GET", `/workspaces/${id}`, admin);
    expect(problem).toEqual({
      type: "urn:neosc:problem:not_found",
      title: "Not Found",
      status: 404,
      detail: "No such workspace",
      code: "NOT_FOUND",
      reason: "not_found",
      details: { workspaceId: id },
      retryAfterSeconds: null,
      fieldErrors: {},
      formErrors: [],
      requestId: expect.any(String),
    } satisfies RestProblem);
    // The documented order (README), which scripts printing the raw answer show.
    expect(Object.keys(problem)).toEqual([
      "type",
      "title",
      "status",
      "detail",
      "code",
      "reason",
      "details",
      "fieldErrors",
      "formErrors",
      "retryAfterSeconds",
      "requestId",
    ]);
  });

  it("mfa_required names how the refused sign-in was made (a password here), over tRPC and REST", async () => {
    const workspaces = await query<Workspace[]>(server.url, "workspace.list", {}, { headers: bearer(admin) });
    const workspace = workspaces.data?.find((candidate) => candidate.enabled);
    if (workspace === undefined) throw new Error("no enabled workspace in the catalogue");
    const toggle = (enabled: boolean) =>
      mutation(server.url, "policy.toggle", { key: "mfa-required", enabled }, { headers: bearer(admin) });
    expect((await toggle(true)).status).toBe(200);
    try {
      const refused = await mutation(
        server.url,
        "workspace.launch",
        { workspaceId: workspace.id },
        { headers: bearer(admin) },
      );
      expect(refused.error?.data.domain).toEqual({
        reason: "mfa_required",
        details: { method: "local" },
        retryAfterSeconds: null,
      });
      const problem = await rest("POST", `/workspaces/${workspace.id}/launch`, admin);
      expect(problem).toMatchObject({ status: 403, reason: "mfa_required", details: { method: "local" } });
    } finally {
      await toggle(false);
    }
  });

  it("token_scope names the procedure and the scope's kind over REST", async () => {
    const created = await mutation<{ secret: string }>(
      server.url,
      "apiToken.create",
      { name: "read-only", scope: { kind: "read" }, expiresInDays: 1 },
      { headers: bearer(admin) },
    );
    const secret = created.data?.secret ?? "";
    expect(secret).not.toBe("");
    const problem = await rest("POST", "/organizations", secret, { name: "Not allowed" });
    expect(problem).toMatchObject({
      status: 403,
      code: "FORBIDDEN",
      reason: "token_scope",
      details: { procedure: "organization.create", scope: "read" },
    });
  });
});
