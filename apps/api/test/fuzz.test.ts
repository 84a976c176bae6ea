import type { LoginOutput } from "@neosc/core/auth";
import { PROCEDURE_PATHS, type ProcedurePath } from "@neosc/core/permissions";
import { REST_ROUTES, type RestProcedurePath, type RestRoute } from "@neosc/core/rest";
import type { WorkspaceSession } from "@neosc/core/session";
import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { appRouter } from "@neosc/router/root";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, useApi } from "./support/api.ts";
import { bearer, mutation, query } from "./support/http.ts";

/*
 * Property-based fuzzing of every procedure over real HTTP, through `/trpc` and through its REST
 * face under `/api`: malformed and hostile inputs (wrong types, huge strings and bodies,
 * `$`-operators in strings, keys and query strings, prototype keys, unknown fields, broken JSON and
 * envelopes) from anonymous, user and admin callers. No answer may be a 5xx, and the stored data
 * must be byte-for-byte what it was (only the append-only audit log and login-attempt log grow,
 * and the audit chain must still verify).
 */

const RUNS_PER_PROCEDURE = Number(process.env.NEOSC_FUZZ_RUNS ?? 20);
const RUNS_RAW = Number(process.env.NEOSC_FUZZ_RAW_RUNS ?? 150);

const api = useApi();
let server: RunningServer;
const tokens: Record<"anonymous" | "user" | "admin", string | null> = {
  anonymous: null,
  user: null,
  admin: null,
};
const known: { workspaceId: string; sessionId: string; userId: string } = {
  workspaceId: "",
  sessionId: "",
  userId: "",
};
let requests = 0;
const statuses = new Map<number, number>();

interface ProcedureInfo {
  type: "query" | "mutation";
  /** Whether sending no input at all is valid (no input parser, or one with a default). */
  inputOptional: boolean;
}

function hasSafeParse(value: unknown): value is { safeParse(input: unknown): { success: boolean } } {
  return (
    typeof value === "object" &&
    value !== null &&
    "safeParse" in value &&
    typeof value.safeParse === "function"
  );
}

function procedureInfo(path: ProcedurePath): ProcedureInfo {
  const procedures: Record<string, unknown> = appRouter._def.procedures;
  const procedure = procedures[path];
  const def: unknown =
    typeof procedure === "function" && "_def" in procedure
      ? (procedure as { _def: unknown })._def
      : undefined;
  if (typeof def !== "object" || def === null || !("type" in def) || !("inputs" in def)) {
    throw new Error(`${path} is not registered`);
  }
  const { type, inputs } = def;
  if ((type !== "query" && type !== "mutation") || !Array.isArray(inputs))
    throw new Error(`${path}: unexpected shape`);
  return {
    type,
    inputOptional: inputs.every((parser) => hasSafeParse(parser) && parser.safeParse(undefined).success),
  };
}

/**
 * A mutation that is valid without input does its job whatever garbage accompanies it (reset,
 * TOTP enrolment, logout), so signed-in callers would legitimately change data with it.
 */
function legitimateWithoutInput(path: ProcedurePath, caller: keyof typeof tokens): boolean {
  const info = procedureInfo(path);
  return info.type === "mutation" && info.inputOptional && caller !== "anonymous";
}

// ---------------------------------------------------------------- hostile values

const OPERATOR_KEYS = [
  "$gt",
  "$ne",
  "$in",
  "$nin",
  "$where",
  "$regex",
  "$expr",
  "$function",
  "$set",
  "$unset",
  "__proto__",
  "constructor",
  "prototype",
];
const SCHEMA_KEYS = [
  "id",
  "workspaceId",
  "sessionId",
  "userId",
  "email",
  "password",
  "name",
  "slug",
  "key",
  "enabled",
  "settings",
  "patch",
  "limit",
  "cursor",
  "format",
  "from",
  "to",
  "role",
  "search",
  "kind",
  "tag",
  "note",
  "totp",
  "recoveryCode",
  "code",
  "idToken",
  "everywhere",
  "organizationId",
  "allowedRoles",
  "url",
  "image",
  "domain",
  "actorId",
  "actorEmail",
  "action",
  "result",
  "status",
  "currentPassword",
  "newPassword",
  "cidrs",
];

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "$gt",
    "$ne",
    "$where",
    '{"$gt":""}',
    "'; db.dropDatabase(); //",
    ".*",
    "(",
    "[",
    "\\",
    "\u0000",
    "__proto__",
    "$$ROOT",
    "this.password.match(/.*/)",
    "=cmd|' /C calc'!A0",
    "../../etc/passwd",
    "<script>alert(1)</script>",
  ),
  fc.integer({ min: 5_000, max: 120_000 }).map((length) => "A".repeat(length)),
);

const leaf = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308),
);

const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("value"), { maxLength: 4 }),
    fc
      .array(fc.tuple(fc.constantFrom(...OPERATOR_KEYS, ...SCHEMA_KEYS), tie("value")), { maxLength: 4 })
      .map((entries) => Object.fromEntries(entries)),
  ),
}));

/** Never valid for a strict object schema: not an object, or an object with a key no schema has. */
const invalidInput = fc.oneof(
  leaf,
  fc.array(value, { maxLength: 4 }),
  fc
    .tuple(
      fc.array(fc.tuple(fc.constantFrom(...SCHEMA_KEYS), value), { maxLength: 4 }),
      fc.array(fc.tuple(fc.constantFrom(...OPERATOR_KEYS, "x".repeat(300), "unknownField"), value), {
        minLength: 1,
        maxLength: 3,
      }),
    )
    .map(([knownEntries, unknownEntries]) => Object.fromEntries([...knownEntries, ...unknownEntries])),
);

// ---------------------------------------------------------------- wire

function headersFor(caller: keyof typeof tokens): Record<string, string> {
  const token = tokens[caller];
  return token === null ? {} : bearer(token);
}

/** Sends `input` as the `json` of a superjson envelope without superjson's help (raw shapes). */
async function send(path: string, type: "query" | "mutation", caller: keyof typeof tokens, input: unknown) {
  requests += 1;
  const envelope = JSON.stringify({ json: input });
  const headers = headersFor(caller);
  if (type === "query") {
    return fetch(`${server.url}/trpc/${path}?input=${encodeURIComponent(envelope)}`, { headers });
  }
  return fetch(`${server.url}/trpc/${path}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: envelope,
  });
}

async function expectNo5xx(response: Response, what: string) {
  statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  const body = await response.text();
  expect(response.status, `${what} answered ${response.status}: ${body.slice(0, 300)}`).toBeLessThan(500);
}

// ---------------------------------------------------------------- stored data

// The audit log and the login-attempt log only grow; the signed checkpoint of the audit chain's
// head is rewritten by the API itself on a timer, so a long run crosses one.
const APPEND_ONLY = new Set(["audit_logs", "login_attempts", "audit_checkpoints"]);

async function snapshot(): Promise<Record<string, string>> {
  const db = api.database.connection.client.db(api.database.dbName);
  const out: Record<string, string> = {};
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (APPEND_ONLY.has(name)) continue;
    const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
    // A gateway replica's liveness record and a workspace host's heartbeat are rewritten every few
    // seconds by the process itself; they are not data a request could change.
    // The audit chain's head moves with the (append-only) audit log.
    const stored =
      name === "gateway_state"
        ? docs.filter((d) => !String(d._id).startsWith("replica:"))
        : name === "workspace_hosts"
          ? // Heartbeats and the warm sandboxes a host announces change as the host works.
            docs.map(({ _id, capabilities }) => ({ _id, capabilities }))
          : name === "markers"
            ? docs.filter((d) => String(d._id) !== "audit-head")
            : docs;
    // An empty collection is no data (background writers create theirs when they first run).
    if (stored.length > 0) out[name] = JSON.stringify(stored);
  }
  return out;
}

// ---------------------------------------------------------------- setup

beforeAll(async () => {
  server = await api.start();
  const login = await mutation<LoginOutput>(server.url, "auth.login", {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  tokens.admin = login.data?.token ?? null;
  if (tokens.admin === null) throw new Error("admin login failed");

  const created = await mutation<{ user: User; oneTimePassword: string }>(
    server.url,
    "user.create",
    { email: "fuzz-user@example.test", name: "Fuzz User", role: "user" },
    { headers: bearer(tokens.admin) },
  );
  if (created.data === null) throw new Error("user.create failed");
  known.userId = created.data.user.id;
  const first = await mutation<LoginOutput>(server.url, "auth.login", {
    email: "fuzz-user@example.test",
    password: created.data.oneTimePassword,
  });
  await mutation(
    server.url,
    "auth.changePassword",
    { currentPassword: created.data.oneTimePassword, newPassword: "fuzz-user-password-1" },
    { headers: bearer(first.data?.token ?? "") },
  );
  const login2 = await mutation<LoginOutput>(server.url, "auth.login", {
    email: "fuzz-user@example.test",
    password: "fuzz-user-password-1",
  });
  tokens.user = login2.data?.token ?? null;
  if (tokens.user === null) throw new Error("user login failed");

  const workspaces = await query<Workspace[]>(
    server.url,
    "workspace.list",
    {},
    { headers: bearer(tokens.user) },
  );
  const workspace = workspaces.data?.[0];
  if (workspace === undefined) throw new Error("the catalogue is empty");
  known.workspaceId = workspace.id;
  const launched = await mutation<WorkspaceSession>(
    server.url,
    "workspace.launch",
    { workspaceId: workspace.id },
    { headers: bearer(tokens.user) },
  );
  if (launched.data === null) throw new Error(`launch failed: ${launched.error?.message}`);
  known.sessionId = launched.data.id;
  await mutation(
    server.url,
    "organization.create",
    { name: "Fuzz Org", slug: "fuzz-org" },
    { headers: bearer(tokens.admin) },
  );
});

// ---------------------------------------------------------------- properties

describe("hostile input fuzzing over HTTP", () => {
  it(`sends ${RUNS_PER_PROCEDURE} invalid inputs per procedure and caller: no 5xx, no change to stored data`, {
    timeout: 900_000,
  }, async () => {
    const before = await snapshot();
    for (const path of PROCEDURE_PATHS) {
      const info = procedureInfo(path);
      for (const caller of ["anonymous", "user", "admin"] as const) {
        if (legitimateWithoutInput(path, caller)) continue;
        await fc.assert(
          fc.asyncProperty(invalidInput, async (input) => {
            await expectNo5xx(await send(path, info.type, caller, input), `${caller} ${path}`);
          }),
          { numRuns: RUNS_PER_PROCEDURE },
        );
      }
    }
    expect(await snapshot()).toEqual(before);
    const chain = await query<{ ok: boolean }>(server.url, "audit.verify", undefined, {
      headers: headersFor("admin"),
    });
    expect(chain.data?.ok).toBe(true);
  });

  it("answers lookups and filters with hostile but well-shaped values without 5xx or leaks", {
    timeout: 600_000,
  }, async () => {
    const before = await snapshot();
    const idLike = fc.oneof(
      fc.uuid(),
      hostileString,
      fc.constantFrom(known.workspaceId.toUpperCase(), `${known.workspaceId} `, "$ne", '{"$ne":null}'),
    );
    const textLike = fc.oneof(
      hostileString.filter((text) => text.length <= 120),
      fc.constantFrom(".*", "(", "$", "^"),
    );
    const cases: [ProcedurePath, fc.Arbitrary<unknown>, keyof typeof tokens][] = [
      ["workspace.get", idLike.map((id) => ({ id })), "user"],
      ["workspace.launch", idLike.map((workspaceId) => ({ workspaceId })), "user"],
      ["workspace.stop", idLike.map((workspaceId) => ({ workspaceId })), "user"],
      ["session.heartbeat", idLike.map((sessionId) => ({ sessionId })), "admin"],
      ["session.disconnect", idLike.map((sessionId) => ({ sessionId, note: "fuzz" })), "user"],
      ["workspace.list", textLike.map((search) => ({ search })), "user"],
      ["workspace.list", textLike.map((search) => ({ search })), "admin"],
      ["user.list", textLike.map((search) => ({ search })), "admin"],
      ["audit.list", textLike.map((action) => ({ action })), "admin"],
      ["audit.list", textLike.map((actorEmail) => ({ actorEmail })), "admin"],
      ["audit.list", textLike.map((cursor) => ({ cursor })), "admin"],
      ["session.list", textLike.map((cursor) => ({ cursor })), "admin"],
      ["auth.login", textLike.map((password) => ({ email: "nobody@example.test", password })), "anonymous"],
    ];
    for (const [path, arbitrary, caller] of cases) {
      const { type } = procedureInfo(path);
      await fc.assert(
        fc.asyncProperty(arbitrary, async (input) => {
          const response = await send(path, type, caller, input);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const body = await response.text();
          expect(response.status, `${caller} ${path} ${body.slice(0, 200)}`).toBeLessThan(500);
          if (path === "workspace.list" && caller === "user" && response.status === 200) {
            expect(body).not.toContain("admin-desktop");
          }
        }),
        { numRuns: RUNS_PER_PROCEDURE },
      );
    }
    // The known session still belongs to its owner and is still running.
    expect(await snapshot()).toEqual(before);
  });

  it("survives broken envelopes, bodies and batches", { timeout: 600_000 }, async () => {
    const before = await snapshot();
    const paths = PROCEDURE_PATHS.filter((path) => procedureInfo(path).type === "mutation");
    const rawBody = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      value.map((input) => JSON.stringify({ json: input, meta: { values: { "": ["Date"], a: ["set"] } } })),
      fc.constantFrom(
        '{"json":{"id":"x"},"meta":{"values":{"__proto__.polluted":["Date"]}}}',
        '{"json":{},"meta":{"values":{"constructor.prototype.polluted":["Date"]}}}',
        '{"json":{"a":1},"meta":{"values":{"a":[["custom","evil"]]}}}',
        '{"json":1,"meta":{"referentialEqualities":{"":["__proto__"]}}}',
        '{"0":{"json":{}},"1":{"json":null}}',
        "[1,2,3]",
        "null",
        "{",
        `{"json":${"[".repeat(5000)}${"]".repeat(5000)}}`,
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        rawBody,
        fc.constantFrom("anonymous", "user", "admin"),
        fc.boolean(),
        fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded"),
        async (path, body, caller, batch, contentType) => {
          const target = legitimateWithoutInput(path, caller) ? "auth.login" : path;
          requests += 1;
          const response = await fetch(`${server.url}/trpc/${target}${batch ? "?batch=1" : ""}`, {
            method: "POST",
            headers: { ...headersFor(caller), "content-type": contentType },
            body,
          });
          await expectNo5xx(response, `raw ${caller} ${target}`);
        },
      ),
      { numRuns: RUNS_RAW },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (text) => {
        requests += 1;
        const response = await fetch(`${server.url}/trpc/workspace.list?input=${encodeURIComponent(text)}`, {
          headers: headersFor("user"),
        });
        await expectNo5xx(response, "malformed query input");
      }),
      { numRuns: RUNS_RAW },
    );
    expect(await snapshot()).toEqual(before);
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("reached the validators, the gates and the handlers (not only a front door)", () => {
    expect(requests).toBeGreaterThan(PROCEDURE_PATHS.length * RUNS_PER_PROCEDURE);
    // 400: input validation; 401/403: identity and role gates; 404: handlers looking things up.
    for (const status of [400, 401, 403, 404])
      expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    const spread = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`);
    console.info(
      `fuzz: ${requests} HTTP requests over ${PROCEDURE_PATHS.length} procedures (${spread.join(", ")})`,
    );
  });
});

// ---------------------------------------------------------------- REST surface

const REST_OPERATIONS = (Object.entries(REST_ROUTES) as [RestProcedurePath, RestRoute][]).map(
  ([procedure, route]) => ({ procedure, ...route }),
);

/** `/workspaces/{id}/launch` with every `{param}` replaced by `id`, percent-encoded. */
function restUrl(template: string, id: string, query: Record<string, string> = {}): string {
  const filled = template.replace(/\{[^}]+\}/g, () => encodeURIComponent(id));
  const search = new URLSearchParams(query).toString();
  return `${server.url}/api${filled}${search === "" ? "" : `?${search}`}`;
}

async function sendRest(
  method: RestRoute["method"],
  url: string,
  caller: keyof typeof tokens,
  body?: { text: string; contentType: string },
) {
  requests += 1;
  return fetch(url, {
    method,
    headers: {
      ...headersFor(caller),
      ...(body === undefined ? {} : { "content-type": body.contentType }),
    },
    body: body?.text,
  });
}

/** No 5xx, and every refusal is problem+json with a reason (the REST error contract). */
async function expectRestRefusalOrAnswer(response: Response, what: string) {
  statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  const text = await response.text();
  expect(response.status, `${what} answered ${response.status}: ${text.slice(0, 300)}`).toBeLessThan(500);
  if (response.status >= 400) {
    expect(response.headers.get("content-type"), what).toContain("application/problem+json");
    const problem = JSON.parse(text) as { status: number; reason: string };
    expect(problem.status, what).toBe(response.status);
    expect(typeof problem.reason, what).toBe("string");
  }
  return text;
}

/** A query string of hostile keys and values, including qs-style `a[$ne]` keys. */
const hostileQuery = fc.dictionary(
  fc.constantFrom(...SCHEMA_KEYS, ...OPERATOR_KEYS, "search[$ne]", "id[$gt]", "limit[$where]", "cursor[]"),
  hostileString.filter((text) => text.length <= 2_000),
  { maxKeys: 4 },
);

const hostileBody = fc.oneof(
  invalidInput.map((input) => ({ text: JSON.stringify(input), contentType: "application/json" })),
  fc
    .oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom("{", '{"a":', "[1,2", "nul", '{"$where":"sleep(1000)"}', `${"[".repeat(5000)}`),
    )
    .map((text) => ({ text, contentType: "application/json" })),
  fc.json({ maxDepth: 3 }).map((text) => ({ text, contentType: "text/plain" })),
  fc.constantFrom({ text: "a=1&b[$ne]=2", contentType: "application/x-www-form-urlencoded" }),
);

describe("hostile input fuzzing over REST", () => {
  it(`sends ${RUNS_PER_PROCEDURE} hostile requests per REST operation and caller: 4xx problem+json, no 5xx, nothing stored`, {
    timeout: 900_000,
  }, async () => {
    const before = await snapshot();
    const id = fc.oneof(
      fc.uuid(),
      hostileString.filter((text) => text.length <= 2_000),
    );
    for (const operation of REST_OPERATIONS) {
      const info = procedureInfo(operation.procedure);
      for (const caller of ["anonymous", "user", "admin"] as const) {
        if (legitimateWithoutInput(operation.procedure, caller)) continue;
        const hasBody = operation.method !== "GET" && operation.method !== "DELETE";
        await fc.assert(
          fc.asyncProperty(id, hostileQuery, hostileBody, async (pathId, query, body) => {
            const what = `${caller} ${operation.method} ${operation.path}`;
            const url = restUrl(operation.path, pathId, hasBody ? {} : query);
            await expectRestRefusalOrAnswer(
              await sendRest(operation.method, url, caller, hasBody ? body : undefined),
              what,
            );
          }),
          { numRuns: RUNS_PER_PROCEDURE },
        );
        expect(info.type, operation.procedure).toBe(operation.method === "GET" ? "query" : "mutation");
      }
    }
    expect(await snapshot()).toEqual(before);
    const chain = await query<{ ok: boolean }>(server.url, "audit.verify", undefined, {
      headers: headersFor("admin"),
    });
    expect(chain.data?.ok).toBe(true);
  });

  it("refuses bodies over the limit with 413, and filters with operators leak nothing", {
    timeout: 300_000,
  }, async () => {
    const before = await snapshot();
    const limit = 100 * 1024;
    for (const operation of REST_OPERATIONS.filter((op) => op.method !== "GET" && op.method !== "DELETE")) {
      const huge = JSON.stringify({ name: "A".repeat(limit + 1) });
      const response = await sendRest(operation.method, restUrl(operation.path, known.workspaceId), "admin", {
        text: huge,
        contentType: "application/json",
      });
      await expectRestRefusalOrAnswer(response, `huge ${operation.method} ${operation.path}`);
      expect(response.status, `huge ${operation.path}`).toBe(413);
    }
    // The user must never see the admin-only workspace, whatever the filter says.
    for (const search of ['{"$ne":null}', ".*", "$where", "admin"]) {
      for (const key of ["search", "search[$ne]", "search[$regex]"]) {
        const text = await expectRestRefusalOrAnswer(
          await sendRest("GET", restUrl("/workspaces", "", { [key]: search }), "user"),
          `workspace list ${key}=${search}`,
        );
        expect(text).not.toContain("admin-desktop");
      }
    }
    // Another person's session by id: not found, not theirs to end, nothing changed.
    const other = await sendRest(
      "POST",
      restUrl("/sessions/{sessionId}/disconnect", known.sessionId),
      "anonymous",
    );
    await expectRestRefusalOrAnswer(other, "anonymous disconnect");
    expect(other.status).toBe(401);
    expect(await snapshot()).toEqual(before);
  });
});
