import type { LoginOutput, Me } from "@neosc/core/auth";
import type { User } from "@neosc/core/user";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, PUBLIC_ORIGIN, useApi } from "./support/api.ts";
import { bearer, cookie, mutation, query, sessionCookieOf } from "./support/http.ts";

/*
 * Login sessions over real HTTP, across two API instances on one database: whatever one replica
 * decides (logout, disable, throttle) the other honours, because all of it lives in MongoDB.
 */

const api = useApi();
let first: RunningServer;
let second: RunningServer;

const THROTTLE = { NEOSC_LOGIN_MAX_FAILURES: "3", NEOSC_LOGIN_MAX_FAILURES_PER_IP: "100" };

beforeAll(async () => {
  first = await api.start(THROTTLE);
  second = await api.start(THROTTLE);
});

async function loginAdmin(server: RunningServer) {
  const response = await mutation<LoginOutput>(server.url, "auth.login", {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  expect(response.status).toBe(200);
  const output = response.data;
  if (output === null) throw new Error("no login output");
  return { output, headers: response.headers };
}

async function createPerson(adminToken: string, role: "user" | "neosc" = "user") {
  const email = `person-${Math.random().toString(36).slice(2)}@example.test`;
  const created = await mutation<{ user: User; oneTimePassword: string }>(
    first.url,
    "user.create",
    { email, name: "Person", role },
    { headers: bearer(adminToken) },
  );
  expect(created.status).toBe(200);
  if (created.data === null) throw new Error("no user");
  const login = await mutation<LoginOutput>(second.url, "auth.login", {
    email,
    password: created.data.oneTimePassword,
  });
  const token = login.data?.token ?? "";
  const changed = await mutation(
    second.url,
    "auth.changePassword",
    { currentPassword: created.data.oneTimePassword, newPassword: "person-password-1" },
    { headers: bearer(token) },
  );
  expect(changed.status).toBe(200);
  return { email, password: "person-password-1", user: created.data.user, token };
}

describe("login sessions", () => {
  it("returns a bearer token and sets an HttpOnly SameSite=Lax cookie; both identify the caller", async () => {
    const { output, headers } = await loginAdmin(first);
    const sessionCookie = sessionCookieOf(headers);
    expect(sessionCookie?.value).toBe(output.token);
    expect(sessionCookie?.attributes).toMatch(/HttpOnly/i);
    expect(sessionCookie?.attributes).toMatch(/SameSite=Lax/i);
    expect(sessionCookie?.attributes).not.toMatch(/Secure/i);

    const viaBearer = await query<Me>(second.url, "auth.me", undefined, { headers: bearer(output.token) });
    expect(viaBearer.status).toBe(200);
    expect(viaBearer.data?.user.email).toBe(ADMIN_EMAIL);
    expect(viaBearer.data?.sessionExpiresAt).toBeInstanceOf(Date);
    const viaCookie = await query<Me>(second.url, "auth.me", undefined, { headers: cookie(output.token) });
    expect(viaCookie.data?.user.email).toBe(ADMIN_EMAIL);

    const anonymous = await query(first.url, "auth.me");
    expect(anonymous.status).toBe(401);
    expect(anonymous.error?.data.domain?.reason).toBe("not_authenticated");
  });

  it("logout on one instance makes the token useless on the other, and clears the cookie", async () => {
    const { output } = await loginAdmin(first);
    const logout = await mutation(first.url, "auth.logout", {}, { headers: bearer(output.token) });
    expect(logout.status).toBe(200);
    expect(sessionCookieOf(logout.headers)?.attributes).toMatch(/Expires=Thu, 01 Jan 1970/);

    const refused = await query(second.url, "auth.me", undefined, { headers: bearer(output.token) });
    expect(refused.status).toBe(401);
    expect(refused.error?.data.domain?.reason).toBe("session_revoked");

    const staleCookie = await query(second.url, "auth.config", undefined, { headers: cookie(output.token) });
    expect(staleCookie.status).toBe(200);
    expect(sessionCookieOf(staleCookie.headers)?.value).toBe("");
  });

  it("disabling a person ends their sessions on every instance", async () => {
    const admin = await loginAdmin(first);
    const person = await createPerson(admin.output.token);
    expect((await query(first.url, "auth.me", undefined, { headers: bearer(person.token) })).status).toBe(
      200,
    );

    const disabled = await mutation(
      second.url,
      "user.disable",
      { userId: person.user.id },
      { headers: bearer(admin.output.token) },
    );
    expect(disabled.status).toBe(200);
    const refused = await query(first.url, "auth.me", undefined, { headers: bearer(person.token) });
    expect(refused.status).toBe(401);
    const login = await mutation(first.url, "auth.login", { email: person.email, password: person.password });
    expect(login.status).toBe(403);
    expect(login.error?.data.domain?.reason).toBe("account_disabled");
  });

  it("throttles after the configured failures on one instance and holds on the other (429 + Retry-After)", async () => {
    const admin = await loginAdmin(first);
    const person = await createPerson(admin.output.token);
    for (let attempt = 0; attempt < 3; attempt++) {
      const failed = await mutation(first.url, "auth.login", {
        email: person.email,
        password: "wrong-password",
      });
      expect(failed.status).toBe(401);
      expect(failed.error?.data.domain?.reason).toBe("invalid_credentials");
    }
    const throttled = await mutation(second.url, "auth.login", {
      email: person.email,
      password: person.password,
    });
    expect(throttled.status).toBe(429);
    expect(throttled.error?.data.domain?.reason).toBe("throttled");
    const retryAfter = Number(throttled.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(throttled.error?.data.domain?.retryAfterSeconds).toBe(retryAfter);
  });
});

describe("input and errors", () => {
  it("answers malformed input with 400 naming the field", async () => {
    const response = await mutation(first.url, "auth.login", { email: "not-an-email", password: "x" });
    expect(response.status).toBe(400);
    expect(response.error?.data.code).toBe("BAD_REQUEST");
    expect(Object.keys(response.error?.data.zod?.fieldErrors ?? {})).toEqual(["email"]);
    expect(response.error?.message).toContain("email");
  });

  it("answers an unknown procedure with 404 and an oversized body with 413", async () => {
    expect((await query(first.url, "nope.nothing")).status).toBe(404);
    const huge = await mutation(first.url, "auth.login", { email: "a@b.co", password: "x".repeat(200_000) });
    expect(huge.status).toBe(413);
  });
});

describe("browser protections", () => {
  it("refuses a cookie mutation that is not JSON, or from a foreign origin", async () => {
    const { output } = await loginAdmin(first);
    const formPost = await mutation(
      first.url,
      "auth.logout",
      {},
      { headers: cookie(output.token), contentType: "text/plain" },
    );
    expect(formPost.status).toBe(403);
    expect(formPost.error?.data.domain?.reason).toBe("csrf_rejected");

    const foreign = await mutation(
      first.url,
      "auth.logout",
      {},
      { headers: { ...cookie(output.token), origin: "https://evil.example" } },
    );
    expect(foreign.status).toBe(403);
    expect(foreign.error?.data.domain?.reason).toBe("csrf_rejected");
    expect((await query(first.url, "auth.me", undefined, { headers: cookie(output.token) })).status).toBe(
      200,
    );

    const ours = await mutation(
      first.url,
      "auth.logout",
      {},
      { headers: { ...cookie(output.token), origin: PUBLIC_ORIGIN } },
    );
    expect(ours.status).toBe(200);
  });

  it("accepts the page's own origin when it is not the configured public URL (another port or address)", async () => {
    const { output } = await loginAdmin(first);
    const own = new URL(first.url).origin;
    expect(own).not.toBe(PUBLIC_ORIGIN);
    const sameOrigin = await mutation(
      first.url,
      "auth.logout",
      {},
      { headers: { ...cookie(output.token), origin: own } },
    );
    expect(sameOrigin.status).toBe(200);
    const otherPort = new URL(first.url);
    otherPort.port = String(Number(otherPort.port) + 1);
    const { output: again } = await loginAdmin(first);
    const neighbour = await mutation(
      first.url,
      "auth.logout",
      {},
      { headers: { ...cookie(again.token), origin: otherPort.origin } },
    );
    expect(neighbour.status).toBe(403);
    expect(neighbour.error?.data.domain?.reason).toBe("csrf_rejected");
  });

  it("lets the custom CSRF header stand in for JSON (tRPC itself then judges the body)", async () => {
    const credentials = { email: ADMIN_EMAIL, password: ADMIN_PASSWORD };
    const octets = { contentType: "application/octet-stream" };
    const withoutHeader = await mutation(first.url, "auth.login", credentials, octets);
    expect(withoutHeader.status).toBe(403);
    expect(withoutHeader.error?.data.domain?.reason).toBe("csrf_rejected");
    const withHeader = await mutation(first.url, "auth.login", credentials, {
      ...octets,
      headers: { "x-neosc-csrf": "1" },
    });
    expect(withHeader.status).toBe(400);
    expect(withHeader.error?.data.domain).toBeNull();
  });

  it("allows CORS only for configured origins, with credentials", async () => {
    const allowed = await fetch(`${first.url}/trpc/auth.me`, {
      method: "OPTIONS",
      headers: { origin: PUBLIC_ORIGIN, "access-control-request-method": "POST" },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(PUBLIC_ORIGIN);
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    const refused = await fetch(`${first.url}/trpc/auth.me`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("marks the cookie Secure and sends HSTS when the public URL is https", async () => {
    const https = await api.start({ NEOSC_PUBLIC_URL: "https://portal.neosc.test" });
    const login = await mutation(https.url, "auth.login", { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    expect(login.status).toBe(200);
    expect(sessionCookieOf(login.headers)?.attributes).toMatch(/; Secure/);
    expect(login.headers.get("strict-transport-security")).toContain("max-age=");
    expect((await fetch(`${first.url}/healthz`)).headers.get("strict-transport-security")).toBeNull();
  });

  it("sends security headers", async () => {
    const response = await fetch(`${first.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("x-request-id")).toMatch(/^[\w-]+$/);
    expect(response.headers.get("x-powered-by")).toBeNull();
  });
});

describe("operations", () => {
  it("reports readiness and serves metrics only on the internal port", async () => {
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${first.url}/metrics`)).status).toBe(404);
    const metrics = await (await fetch(first.metricsUrl ?? "")).text();
    expect(metrics).toMatch(/http_requests_total\{method="POST",route="auth\.login",status="200"\} \d+/);
    expect(metrics).toContain("http_request_duration_seconds_bucket");
    expect(metrics).toContain("process_cpu_user_seconds_total");
    expect(metrics).not.toMatch(/route="nope/);
  });

  it("takes the client address from X-Forwarded-For only through the configured proxy hops", async () => {
    const behindProxy = await api.start({ NEOSC_TRUSTED_PROXIES: "1" });
    await mutation(
      behindProxy.url,
      "auth.login",
      { email: "ghost@example.test", password: "nope" },
      {
        headers: { "x-forwarded-for": "203.0.113.9" },
      },
    );
    await mutation(
      first.url,
      "auth.login",
      { email: "ghost2@example.test", password: "nope" },
      {
        headers: { "x-forwarded-for": "203.0.113.10" },
      },
    );
    const proxied = await api.database.db.audit.list({ actorEmail: "ghost@example.test", limit: 1 });
    expect(proxied.items[0]?.clientIp).toBe("203.0.113.9");
    const direct = await api.database.db.audit.list({ actorEmail: "ghost2@example.test", limit: 1 });
    expect(direct.items[0]?.clientIp).toMatch(/127\.0\.0\.1/);
  });
});
