import {
  AUDITOR_PROCEDURES,
  PROCEDURE_ACCESS,
  PROCEDURE_PATHS,
  type ProcedurePath,
} from "@neosc/core/permissions";
import { hasRole, ROLES, type Role } from "@neosc/core/roles";
import type { User } from "@neosc/core/user";
import { TRPCError } from "@trpc/server";
import { beforeAll, describe, expect, it } from "vitest";
import { domainErrorOf } from "../src/errors.ts";
import { appRouter } from "../src/root.ts";
import { callerFor, createLocalUser } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";

/*
 * Who may call what, written out by hand: one row per procedure, one column per caller. It is
 * compared with the live router (real gates, real database), never derived from
 * PROCEDURE_ACCESS, so changing a cell there without changing it here fails. "yes" means the
 * gate let the call through (it may then fail validation or find nothing); "no" means the gate
 * answered UNAUTHORIZED `not_authenticated` (anonymous) or FORBIDDEN `role_required`.
 */

type Cell = "yes" | "no";
type Row = readonly [anonymous: Cell, user: Cell, neosc: Cell, admin: Cell, auditor: Cell];

// biome-ignore format: a table is read down its columns
const MATRIX: Record<string, Row> = {
  //                        anonymous user   neosc  admin  auditor
  "auth.register":         ["yes",    "yes", "yes", "yes", "yes"],
  "auth.login":            ["yes",    "yes", "yes", "yes", "yes"],
  "auth.logout":           ["no",     "yes", "yes", "yes", "yes"],
  "auth.sso":              ["yes",    "yes", "yes", "yes", "yes"],
  "auth.tokenExchange":    ["yes",    "yes", "yes", "yes", "yes"],
  "auth.config":           ["yes",    "yes", "yes", "yes", "yes"],
  "auth.me":               ["no",     "yes", "yes", "yes", "yes"],
  "auth.mfa.enroll":       ["no",     "yes", "yes", "yes", "yes"],
  "auth.mfa.confirm":      ["no",     "yes", "yes", "yes", "yes"],
  "auth.mfa.disable":      ["no",     "yes", "yes", "yes", "yes"],
  "auth.mfa.regenerateRecoveryCodes": ["no", "yes", "yes", "yes", "yes"],
  "auth.mfa.stepUp":       ["no",     "yes", "yes", "yes", "yes"],
  "auth.changePassword":   ["no",     "yes", "yes", "yes", "yes"],
  "workspace.list":        ["no",     "yes", "yes", "yes", "no" ],
  "workspace.get":         ["no",     "yes", "yes", "yes", "no" ],
  "workspace.create":      ["no",     "no",  "no",  "yes", "no" ],
  "workspace.update":      ["no",     "no",  "no",  "yes", "no" ],
  "workspace.delete":      ["no",     "no",  "no",  "yes", "no" ],
  "workspace.launch":      ["no",     "yes", "yes", "yes", "no" ],
  "workspace.stop":        ["no",     "yes", "yes", "yes", "no" ],
  "workspace.reset":       ["no",     "no",  "no",  "yes", "no" ],
  "session.list":          ["no",     "yes", "yes", "yes", "yes"],
  "session.active":        ["no",     "yes", "yes", "yes", "yes"],
  "session.heartbeat":     ["no",     "yes", "yes", "yes", "no" ],
  "session.disconnect":    ["no",     "yes", "yes", "yes", "no" ],
  "session.connect":       ["no",     "yes", "yes", "yes", "no" ],
  "session.watch":         ["no",     "no",  "no",  "yes", "no" ],
  "audit.list":            ["no",     "no",  "no",  "yes", "yes"],
  "audit.verify":          ["no",     "no",  "no",  "yes", "yes"],
  "audit.export":          ["no",     "no",  "no",  "yes", "yes"],
  "audit.checkpoint":      ["no",     "no",  "no",  "yes", "no" ],
  "recording.list":        ["no",     "no",  "no",  "yes", "yes"],
  "recording.chunk":       ["no",     "no",  "no",  "yes", "yes"],
  "recording.verify":      ["no",     "no",  "no",  "yes", "yes"],
  "policy.list":           ["no",     "yes", "yes", "yes", "yes"],
  "policy.toggle":         ["no",     "no",  "no",  "yes", "no" ],
  "policy.update":         ["no",     "no",  "no",  "yes", "no" ],
  "policy.preview":        ["no",     "no",  "no",  "yes", "no" ],
  "organization.list":     ["no",     "yes", "yes", "yes", "no" ],
  "organization.create":   ["no",     "no",  "no",  "yes", "no" ],
  "organization.update":   ["no",     "no",  "no",  "yes", "no" ],
  "organization.delete":   ["no",     "no",  "no",  "yes", "no" ],
  "user.list":             ["no",     "no",  "no",  "yes", "no" ],
  "user.create":           ["no",     "no",  "no",  "yes", "no" ],
  "user.setRole":          ["no",     "no",  "no",  "yes", "no" ],
  "user.disable":          ["no",     "no",  "no",  "yes", "no" ],
  "user.enable":           ["no",     "no",  "no",  "yes", "no" ],
  "user.resetPassword":    ["no",     "no",  "no",  "yes", "no" ],
  "user.remove":           ["no",     "no",  "no",  "yes", "no" ],
  "user.anonymize":        ["no",     "no",  "no",  "yes", "no" ],
  "user.resetMfa":         ["no",     "no",  "no",  "yes", "no" ],
  "stats.overview":        ["no",     "no",  "no",  "yes", "no" ],
  "apiToken.list":         ["no",     "yes", "yes", "yes", "no" ],
  "apiToken.create":       ["no",     "yes", "yes", "yes", "no" ],
  "apiToken.revoke":       ["no",     "yes", "yes", "yes", "no" ],
  "serviceAccount.list":   ["no",     "no",  "no",  "yes", "no" ],
  "serviceAccount.create": ["no",     "no",  "no",  "yes", "no" ],
};

const THIS_FILE = "packages/router/test/authorization-matrix.test.ts";
type Caller = "anonymous" | Role;
const CALLERS = ["anonymous", ...ROLES] as const satisfies readonly Caller[];

const database = useTestDatabase();
const users = new Map<Role, User>();

beforeAll(async () => {
  for (const role of ROLES) users.set(role, (await createLocalUser(database.db, role)).user);
});

const registered = Object.keys(appRouter._def.procedures as Record<string, unknown>);

/** The row PROCEDURE_ACCESS implies today, as a line to paste into MATRIX (a suggestion to check). */
function rowToAdd(path: string): string {
  const access = (PROCEDURE_ACCESS as Record<string, string | undefined>)[path];
  const cells = CALLERS.map((caller) => {
    if (access === "public") return "yes";
    if (access === undefined || caller === "anonymous") return "no";
    if (caller === "auditor") return AUDITOR_PROCEDURES.has(path as ProcedurePath) ? "yes" : "no";
    return hasRole(caller, access as Role) ? "yes" : "no";
  });
  return `"${path}": [${cells.map((cell) => `"${cell}"`).join(", ")}],`;
}

/** What the gate did with a call of `path` by `caller`: "yes" it let it through, "no" it refused. */
async function gateOf(path: string, caller: Caller): Promise<Cell | string> {
  const user = caller === "anonymous" ? null : (users.get(caller) ?? null);
  let target: unknown = callerFor(database.db, { user });
  for (const segment of path.split(".")) target = (target as Record<string, unknown>)[segment];
  if (typeof target !== "function") throw new Error(`${path} is not callable`);
  try {
    await (target as (input: unknown) => Promise<unknown>)(undefined);
    return "yes";
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    const refusal = `${error.code} ${domainErrorOf(error)?.reason}`;
    const gateRefusal = caller === "anonymous" ? "UNAUTHORIZED not_authenticated" : "FORBIDDEN role_required";
    if (refusal === gateRefusal) return "no";
    // A gate refusal of the other kind is neither cell: report it as it is.
    if (refusal === "UNAUTHORIZED not_authenticated" || refusal === "FORBIDDEN role_required") return refusal;
    return "yes";
  }
}

describe("the permission matrix", () => {
  it("has a row for every procedure of the router", () => {
    const missing = registered.filter((path) => !(path in MATRIX));
    expect(
      missing,
      missing.length === 0
        ? ""
        : `add to MATRIX in ${THIS_FILE} (check each cell: who may call it?):\n${missing.map(rowToAdd).join("\n")}`,
    ).toEqual([]);
  });

  it("has no row for a procedure the router lacks", () => {
    expect(Object.keys(MATRIX).filter((path) => !registered.includes(path))).toEqual([]);
  });

  it("names the same procedures as PROCEDURE_ACCESS and the router", () => {
    expect([...PROCEDURE_PATHS].sort()).toEqual([...registered].sort());
  });

  it("declares input and output schemas on every procedure", () => {
    const incomplete = Object.entries(appRouter._def.procedures as Record<string, unknown>)
      .filter(([, procedure]) => {
        const def = (procedure as { _def: { inputs: unknown[]; output?: unknown } })._def;
        return def.inputs.length === 0 || def.output === undefined;
      })
      .map(([path]) => path);
    expect(incomplete).toEqual([]);
  });
});

describe.each(Object.entries(MATRIX))("%s", (path, row) => {
  it.each(CALLERS.map((caller, column) => [caller, row[column]] as const))(
    "as %s: %s",
    async (caller, expected) => {
      expect(await gateOf(path, caller)).toBe(expected);
    },
  );
});

describe("denials", () => {
  it("are audited with the caller and the required role", async () => {
    const user = users.get("user");
    if (user === undefined) throw new Error("no user");
    await expect(callerFor(database.db, { user }).stats.overview()).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    const page = await database.db.audit.list({ action: "stats.overview", result: "denied", limit: 10 });
    expect(page.items[0]).toMatchObject({
      actor: { id: user.id, role: "user" },
      reason: "role_required",
      details: { required: "admin", role: "user" },
    });
  });
});
