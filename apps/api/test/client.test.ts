import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createNeoscClient, errorReason, trpcEndpoint } from "@neosc/client/client";
import { TRPCClientError } from "@trpc/client";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, useApi } from "./support/api.ts";

/*
 * @neosc/client against a real API over HTTP: superjson dates, error shapes and status codes of
 * the domain procedures, and the README's Node script run as written.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const apiDir = path.resolve(here, "..");
const readme = path.resolve(here, "../../../packages/client/README.md");
const run = promisify(execFile);

const api = useApi();
let server: RunningServer;

beforeAll(async () => {
  server = await api.start();
});

async function signIn(email: string, password: string) {
  let token: string | null = null;
  const client = createNeoscClient({ url: server.url, token: () => token });
  const login = await client.auth.login.mutate({ email, password });
  token = login.token;
  return { client, login };
}

async function newPerson(admin: ReturnType<typeof createNeoscClient>, role: "user" | "neosc") {
  const email = `client-${randomUUID().slice(0, 8)}@example.test`;
  const { oneTimePassword } = await admin.user.create.mutate({ email, name: "Client Test", role });
  const first = await signIn(email, oneTimePassword);
  await first.client.auth.changePassword.mutate({
    currentPassword: oneTimePassword,
    newPassword: "client-password-1",
  });
  return (await signIn(email, "client-password-1")).client;
}

describe("createNeoscClient", () => {
  it("normalises the endpoint", () => {
    expect(trpcEndpoint("http://localhost:8080")).toBe("http://localhost:8080/trpc");
    expect(trpcEndpoint("http://localhost:8080/")).toBe("http://localhost:8080/trpc");
    expect(trpcEndpoint("https://api.example.test/trpc")).toBe("https://api.example.test/trpc");
  });

  it("speaks superjson (dates are Dates) and sends the bearer token through the given fetch", async () => {
    const seen: string[] = [];
    const { login } = await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
    const client = createNeoscClient({
      url: `${server.url}/trpc`,
      token: login.token,
      fetch: (input, init) => {
        seen.push(new Headers(init?.headers).get("authorization") ?? "");
        return fetch(input, init);
      },
    });
    const [workspaces, policies] = await Promise.all([
      client.workspace.list.query({}),
      client.policy.list.query(),
    ]);
    expect(workspaces.length).toBeGreaterThan(0);
    expect(workspaces[0]?.createdAt).toBeInstanceOf(Date);
    expect(policies.map((policy) => policy.key)).toContain("ip-allowlist");
    // One batched request carried both calls.
    expect(seen).toEqual([`Bearer ${login.token}`]);
  });

  it("gives refusals their HTTP status, reason and details", async () => {
    const admin = (await signIn(ADMIN_EMAIL, ADMIN_PASSWORD)).client;
    const person = await newPerson(admin, "user");
    const all = await admin.workspace.list.query({});
    const toolkit = all.find((workspace) => workspace.slug === "admin-desktop");
    const desktop = all.find((workspace) => workspace.slug === "linux-desktop");
    if (toolkit === undefined || desktop === undefined) throw new Error("catalogue missing");

    const roleError = await person.workspace.launch
      .mutate({ workspaceId: toolkit.id })
      .catch((error: unknown) => error);
    expect(roleError).toBeInstanceOf(TRPCClientError);
    // A workspace the person may not see answers as missing (issue 15).
    expect(errorReason(roleError)).toBe("not_found");
    if (!(roleError instanceof TRPCClientError)) throw new Error("unreachable");
    expect(roleError.data?.httpStatus).toBe(404);

    await admin.policy.update.mutate({ key: "max-concurrent-sessions", settings: { limit: 1 } });
    try {
      const session = await person.workspace.launch.mutate({ workspaceId: desktop.id });
      expect(session.startedAt).toBeInstanceOf(Date);
      expect(session.endsAt?.getTime()).toBe(session.startedAt.getTime() + 480 * 60_000);
      const limitError = await person.workspace.launch
        .mutate({ workspaceId: desktop.id })
        .catch((e: unknown) => e);
      expect(errorReason(limitError)).toBe("max_concurrent_sessions");
      if (!(limitError instanceof TRPCClientError)) throw new Error("unreachable");
      expect(limitError.data?.domain?.details).toEqual({ limit: 1, active: 1 });
      await person.session.disconnect.mutate({ sessionId: session.id });
    } finally {
      await admin.policy.update.mutate({ key: "max-concurrent-sessions", settings: { limit: 3 } });
    }

    const missing = await person.workspace.get.query({ id: toolkit.id }).catch((error: unknown) => error);
    expect(errorReason(missing)).toBe("not_found");
    if (!(missing instanceof TRPCClientError)) throw new Error("unreachable");
    expect(missing.data?.httpStatus).toBe(404);

    const invalid = await admin.workspace.update
      .mutate({ id: toolkit.id, patch: { kind: "web" } })
      .catch((error: unknown) => error);
    expect(errorReason(invalid)).toBe("invalid_input");
    if (!(invalid instanceof TRPCClientError)) throw new Error("unreachable");
    expect(invalid.data?.httpStatus).toBe(400);

    const bounds = await admin.policy.update
      .mutate({ key: "idle-timeout", settings: { minutes: 0 } })
      .catch((error: unknown) => error);
    if (!(bounds instanceof TRPCClientError)) throw new Error("policy bounds were not enforced");
    expect(bounds.data?.httpStatus).toBe(400);
    expect(Object.keys(bounds.data?.zod?.fieldErrors ?? {})).toEqual(["settings.minutes"]);
  });
});

describe("the README script", () => {
  it("signs in, launches, sees the session active, disconnects, and every step is in a verifying chain", async () => {
    const text = await readFile(readme, "utf8");
    const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
    const script = blocks.find((block) => block.includes("workspace.launch.mutate"));
    if (script === undefined) throw new Error("the README has no launch script");

    const file = path.join(apiDir, "test", `.readme-example-${randomUUID()}.ts`);
    await writeFile(file, script);
    let stdout = "";
    try {
      ({ stdout } = await run(path.join(apiDir, "node_modules", ".bin", "tsx"), [file], {
        cwd: apiDir,
        env: {
          ...process.env,
          NEOSC_URL: server.url,
          NEOSC_ADMIN_EMAIL: ADMIN_EMAIL,
          NEOSC_ADMIN_PASSWORD: ADMIN_PASSWORD,
        },
        timeout: 60_000,
      }));
    } finally {
      await rm(file, { force: true });
    }
    expect(stdout).toContain(`signed in as ${ADMIN_EMAIL} (admin)`);
    expect(stdout).toMatch(/launched Linux Desktop: \/workspace\/[0-9a-f-]{36}/);
    expect(stdout).toContain("disconnected: user_disconnected");
    expect(stdout).toMatch(/audit chain verifies \(\d+ entries\)/);

    const admin = (await signIn(ADMIN_EMAIL, ADMIN_PASSWORD)).client;
    const trail = await admin.audit.list.query({ actorEmail: ADMIN_EMAIL, limit: 50 });
    const actions = trail.items.map((entry) => entry.action);
    for (const action of ["auth.login", "workspace.launch", "session.disconnect", "auth.logout"]) {
      expect(actions).toContain(action);
    }
    expect((await admin.audit.verify.query()).ok).toBe(true);

    const metricsUrl = server.metricsUrl;
    if (metricsUrl === null) throw new Error("metrics are off");
    const metrics = await (await fetch(metricsUrl)).text();
    expect(metrics).toMatch(/^workspace_launches_total\{result="success"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^workspace_launch_duration_seconds_count\{result="success"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^http_requests_total\{[^}]*route="workspace\.launch"[^}]*\} [1-9]\d*$/m);
    // Every database round trip is counted by command name (the benchmark divides these by requests).
    expect(metrics).toMatch(/^db_commands_total\{command="find"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^db_commands_total\{command="insert"\} [1-9]\d*$/m);
  });
});
