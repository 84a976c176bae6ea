import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNeoscClient, errorDomain, errorReason, trpcEndpoint } from "../src/client.ts";

/*
 * The client against the real API as a separate process over HTTP (the embedded default: its own
 * throwaway database folder). The client knows the server only by its router's types, so the
 * server is started the way a person starts it, not imported.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const apiDir = path.resolve(here, "../../../apps/api");
const ADMIN_EMAIL = "client-tests@example.test";
const ADMIN_PASSWORD = "client-tests-password-1";

let api: ChildProcess;
let dataDir: string;
let url: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "neosc-client-test-"));
  api = spawn(path.join(apiDir, "node_modules/.bin/tsx"), ["src/main.ts"], {
    cwd: apiDir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(process.env.XDG_CACHE_HOME ? { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } : {}),
      PORT: "0",
      METRICS_ENABLED: "false",
      NEOSC_DATA_DIR: dataDir,
      NEOSC_ADMIN_EMAIL: ADMIN_EMAIL,
      NEOSC_ADMIN_PASSWORD: ADMIN_PASSWORD,
      NEOSC_PORTAL_DIST: path.join(dataDir, "no-portal"),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  url = await new Promise<string>((done, fail) => {
    const lines = createInterface({ input: api.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "neosc api listening" && entry.url) done(entry.url);
      } catch {
        // not a log line
      }
    });
    api.once("exit", (code) => fail(new Error(`the API exited (${code}) before listening`)));
  });
}, 120_000);

afterAll(async () => {
  if (api && api.exitCode === null) {
    const exited = new Promise((done) => api.once("exit", done));
    api.kill("SIGTERM");
    await exited;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 30_000);

describe("@neosc/client over HTTP", () => {
  it("normalises the endpoint", () => {
    expect(trpcEndpoint("http://localhost:8080")).toBe("http://localhost:8080/trpc");
    expect(trpcEndpoint("http://localhost:8080/")).toBe("http://localhost:8080/trpc");
    expect(trpcEndpoint("https://api.example.test/trpc")).toBe("https://api.example.test/trpc");
  });

  it("signs in, then sends the token a function hands it before every request (dates are Dates)", async () => {
    let token: string | null = null;
    const client = createNeoscClient({ url, token: () => token });
    const login = await client.auth.login.mutate({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    expect(login.expiresAt).toBeInstanceOf(Date);
    token = login.token;
    expect((await client.auth.me.query()).user.email).toBe(ADMIN_EMAIL);

    const byString = createNeoscClient({ url: `${url}/trpc`, token: login.token });
    expect((await byString.auth.me.query()).user.role).toBe("admin");
  });

  it("passes its headers and the bearer token through the given fetch", async () => {
    const seen: { authorization: string | null; extra: string | null }[] = [];
    const anonymous = createNeoscClient({ url });
    const { token } = await anonymous.auth.login.mutate({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    const client = createNeoscClient({
      url,
      token,
      headers: { "x-request-id": "client-test-1" },
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        seen.push({ authorization: headers.get("authorization"), extra: headers.get("x-request-id") });
        return fetch(input, init);
      },
    });
    await client.workspace.list.query({});
    expect(seen).toEqual([{ authorization: `Bearer ${token}`, extra: "client-test-1" }]);
  });

  it("gives refusals their reason, status and typed data", async () => {
    const anonymous = createNeoscClient({ url });
    const unauthenticated = await anonymous.auth.me.query().catch((error: unknown) => error);
    expect(unauthenticated).toBeInstanceOf(TRPCClientError);
    expect(errorReason(unauthenticated)).toBe("not_authenticated");
    expect((unauthenticated as TRPCClientError<never>).data).toMatchObject({
      code: "UNAUTHORIZED",
      httpStatus: 401,
    });

    const wrong = await anonymous.auth.login
      .mutate({ email: ADMIN_EMAIL, password: "not-the-password" })
      .catch((error: unknown) => error);
    expect(errorReason(wrong)).toBe("invalid_credentials");
    expect(errorDomain(wrong)).toEqual({
      reason: "invalid_credentials",
      details: null,
      retryAfterSeconds: null,
    });

    const invalid = await anonymous.auth.login
      .mutate({ email: "not an email", password: "x" })
      .catch((error: unknown) => error);
    expect(errorReason(invalid)).toBeNull();
    expect((invalid as TRPCClientError<never>).data).toMatchObject({ httpStatus: 400, domain: null });
    expect(errorReason(new Error("not from the API"))).toBeNull();
    expect(errorDomain(invalid)).toBeNull();
  });
});
