import { PROCEDURE_ACCESS, PROCEDURE_PATHS, type ProcedurePath } from "@neosc/core/permissions";
import { hasRole, ROLES, type Role } from "@neosc/core/roles";
import type { User } from "@neosc/core/user";
import { TRPCError } from "@trpc/server";
import { beforeAll, describe, expect, it } from "vitest";
import { domainErrorOf } from "../src/errors.ts";
import { appRouter } from "../src/root.ts";
import { callerFor, createLocalUser } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";

/*
 * Generated from PROCEDURE_ACCESS: every procedure × {anonymous, user, neosc, admin}. "Allowed"
 * means the gate let the call through (it may then fail validation or find nothing); "denied"
 * means the gate answered UNAUTHORIZED `not_authenticated` or FORBIDDEN `role_required`. A
 * procedure listed in the table but missing from the router fails, so new ones join by
 * themselves.
 */

const database = useTestDatabase();
type Caller = "anonymous" | Role;
const CALLERS: Caller[] = ["anonymous", ...ROLES];
const users = new Map<Role, User>();

beforeAll(async () => {
  for (const role of ROLES) users.set(role, (await createLocalUser(database.db, role)).user);
});

function expectedAllowed(path: ProcedurePath, caller: Caller): boolean {
  const access = PROCEDURE_ACCESS[path];
  if (access === "public") return true;
  return caller !== "anonymous" && hasRole(caller, access);
}

const registered = appRouter._def.procedures as Record<string, unknown>;

type Outcome = { gate: "allowed" } | { gate: "denied"; code: string; reason: string };

async function outcomeOf(path: ProcedurePath, caller: Caller): Promise<Outcome> {
  const user = caller === "anonymous" ? null : (users.get(caller) ?? null);
  let target: unknown = callerFor(database.db, { user });
  for (const segment of path.split(".")) {
    target = (target as Record<string, unknown>)[segment];
  }
  if (typeof target !== "function") throw new Error(`${path} is not callable`);
  try {
    await (target as (input: unknown) => Promise<unknown>)(undefined);
    return { gate: "allowed" };
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    const reason = domainErrorOf(error)?.reason;
    if (error.code === "UNAUTHORIZED" && reason === "not_authenticated") {
      return { gate: "denied", code: error.code, reason };
    }
    if (error.code === "FORBIDDEN" && reason === "role_required")
      return { gate: "denied", code: error.code, reason };
    return { gate: "allowed" };
  }
}

describe("the router", () => {
  it("registers every procedure of the permission table", () => {
    const missing = PROCEDURE_PATHS.filter((path) => !(path in registered));
    expect(missing).toEqual([]);
  });

  it("declares input and output schemas on every procedure", () => {
    const incomplete = Object.entries(registered)
      .filter(([, procedure]) => {
        const def = (procedure as { _def: { inputs: unknown[]; output?: unknown } })._def;
        return def.inputs.length === 0 || def.output === undefined;
      })
      .map(([path]) => path);
    expect(incomplete).toEqual([]);
  });

  it("has no procedure outside the permission table", () => {
    const known = new Set<string>(PROCEDURE_PATHS);
    expect(Object.keys(registered).filter((path) => !known.has(path))).toEqual([]);
  });
});

describe.each(PROCEDURE_PATHS)("%s", (path) => {
  it.each(CALLERS)(`as %s matches PROCEDURE_ACCESS["${path}"]`, async (caller) => {
    if (!(path in registered)) throw new Error(`${path} is in PROCEDURE_ACCESS but not in the router`);
    const outcome = await outcomeOf(path, caller);
    if (expectedAllowed(path, caller)) {
      expect(outcome).toEqual({ gate: "allowed" });
    } else if (caller === "anonymous") {
      expect(outcome).toEqual({ gate: "denied", code: "UNAUTHORIZED", reason: "not_authenticated" });
    } else {
      expect(outcome).toEqual({ gate: "denied", code: "FORBIDDEN", reason: "role_required" });
    }
  });
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
