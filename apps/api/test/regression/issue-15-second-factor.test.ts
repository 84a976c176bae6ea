import { generateTotp } from "@neosc/auth/totp";
import type { AuditEntry } from "@neosc/core/audit";
import type { LoginOutput, Me } from "@neosc/core/auth";
import type { WorkspaceSession } from "@neosc/core/session";
import type { Workspace } from "@neosc/core/workspace";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server.ts";
import { useApi } from "../support/api.ts";
import { bearer, mutation, query } from "../support/http.ts";
import { createPerson, type Person, signInAdmin } from "../support/people.ts";

/*
 * Issue 15, second factor, over real HTTP against two API replicas on one database: enrolment
 * needs the password again, recovery codes sign in once each, a step-up on one replica lets the
 * launch through on the other, and an admin's reset (REST) signs the person out.
 */

const api = useApi();
let first: RunningServer;
let second: RunningServer;
let adminToken: string;

beforeAll(async () => {
  first = await api.start();
  second = await api.start();
  adminToken = await signInAdmin(first);
});

async function auditEntries(action: string, actorEmail: string) {
  const page = await query<{ items: AuditEntry[] }>(
    first.url,
    "audit.list",
    { action, actorEmail, limit: 10 },
    {
      headers: bearer(adminToken),
    },
  );
  return page.data?.items ?? [];
}

/** Enrols `person` over HTTP; answers the secret, the recovery codes and when the codes were made. */
async function enrol(person: Person) {
  const enrolled = await mutation<{ secret: string }>(
    first.url,
    "auth.mfa.enroll",
    { password: person.password },
    { headers: bearer(person.token) },
  );
  const secret = enrolled.data?.secret ?? "";
  const at = new Date();
  const confirmed = await mutation<{ recoveryCodes: string[] }>(
    first.url,
    "auth.mfa.confirm",
    { code: generateTotp(secret, at) },
    { headers: bearer(person.token) },
  );
  expect(confirmed.status).toBe(200);
  return { secret, at, recoveryCodes: confirmed.data?.recoveryCodes ?? [] };
}

describe("auth.mfa.enroll", () => {
  it("answers 403 invalid_credentials for a wrong password, audits it and starts nothing", async () => {
    const person = await createPerson(first, adminToken);
    const refused = await mutation(
      first.url,
      "auth.mfa.enroll",
      { password: "not-the-password" },
      { headers: bearer(person.token) },
    );
    expect(refused.status).toBe(403);
    expect(refused.error?.data.domain?.reason).toBe("invalid_credentials");
    const [entry] = await auditEntries("auth.mfa.enroll", person.email);
    expect(entry).toMatchObject({ result: "denied", reason: "invalid_credentials" });
    // Without a password at all the input is refused before anything runs.
    expect((await mutation(first.url, "auth.mfa.enroll", {}, { headers: bearer(person.token) })).status).toBe(
      400,
    );
    // Nothing was started: confirming has nothing to confirm.
    const confirm = await mutation(
      first.url,
      "auth.mfa.confirm",
      { code: "123456" },
      { headers: bearer(person.token) },
    );
    expect(confirm.error?.data.domain?.reason).toBe("totp_not_enrolled");
  });
});

describe("recovery codes", () => {
  it("sign in once each in place of a code, and the account shows how many are left", async () => {
    const person = await createPerson(first, adminToken);
    const { recoveryCodes } = await enrol(person);
    expect(recoveryCodes).toHaveLength(10);
    const code = recoveryCodes[0] ?? "";
    const login = (url: string) =>
      mutation<LoginOutput>(url, "auth.login", {
        email: person.email,
        password: person.password,
        recoveryCode: code,
      });
    const signedIn = await login(second.url);
    expect(signedIn.status).toBe(200);
    const me = await query<Me>(first.url, "auth.me", undefined, {
      headers: bearer(signedIn.data?.token ?? ""),
    });
    expect(me.data).toMatchObject({ mfa: true, recoveryCodesLeft: 9 });
    const again = await login(first.url);
    expect(again.status).toBe(401);
    expect(again.error?.data.domain?.reason).toBe("invalid_totp");
    const [used] = await auditEntries("auth.mfa.recoveryCodeUsed", person.email);
    expect(used).toMatchObject({ result: "success", details: { during: "auth.login", left: 9 } });
  });
});

describe("step-up at launch", () => {
  it("a code on one replica raises the sign-in, and the launch the other refused then starts there", async () => {
    const person = await createPerson(first, adminToken);
    const { secret, at } = await enrol(person);
    // A password-only sign-in, though the person has an authenticator now.
    const plain = await mutation(first.url, "auth.login", { email: person.email, password: person.password });
    expect(plain.error?.data.domain?.reason).toBe("totp_required");
    const headers = bearer(person.token);
    const workspaces = await query<Workspace[]>(first.url, "workspace.list", {}, { headers });
    const desktop = workspaces.data?.find((workspace) => workspace.slug === "linux-desktop");
    if (desktop === undefined) throw new Error("linux-desktop missing");

    const toggle = (enabled: boolean) =>
      mutation(first.url, "policy.toggle", { key: "mfa-required", enabled }, { headers: bearer(adminToken) });
    expect((await toggle(true)).status).toBe(200);
    try {
      // Refused by the replica that switched the policy on (it dropped its copy at once; the
      // other revalidates its copy within a second).
      const refused = await mutation(first.url, "workspace.launch", { workspaceId: desktop.id }, { headers });
      expect(refused.status).toBe(403);
      expect(refused.error?.data.domain?.reason).toBe("mfa_required");

      const wrong = await mutation(second.url, "auth.mfa.stepUp", { code: "000000" }, { headers });
      expect(wrong.error?.data.domain?.reason).toBe("invalid_totp");
      // The next time step: the enrolment's code is used up (the API accepts ±1 step).
      const next = generateTotp(secret, new Date(at.getTime() + 30_000));
      expect((await mutation(second.url, "auth.mfa.stepUp", { code: next }, { headers })).status).toBe(200);
      expect((await query<Me>(first.url, "auth.me", undefined, { headers })).data?.mfa).toBe(true);

      const launched = await mutation<WorkspaceSession>(
        first.url,
        "workspace.launch",
        { workspaceId: desktop.id },
        { headers },
      );
      expect(launched.status).toBe(200);
      await mutation(first.url, "workspace.stop", { workspaceId: desktop.id }, { headers });
      const [entry] = await auditEntries("auth.mfa.stepUp", person.email);
      expect(entry).toMatchObject({ result: "success", details: { factor: "totp" } });
    } finally {
      await toggle(false);
    }
  });
});

describe("user.resetMfa over REST", () => {
  it("removes the factor and revokes the person's sign-ins; audited", async () => {
    const person = await createPerson(first, adminToken);
    await enrol(person);
    const response = await fetch(`${second.url}/api/users/${person.user.id}/reset-mfa`, {
      method: "POST",
      headers: bearer(adminToken),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: person.user.id, totpEnabled: false });
    const me = await query(first.url, "auth.me", undefined, { headers: bearer(person.token) });
    expect(me.status).toBe(401);
    expect(me.error?.data.domain?.reason).toBe("session_revoked");
    const [entry] = await auditEntries("user.resetMfa", "admin@neosc.test");
    expect(entry).toMatchObject({ resource: { id: person.user.id }, details: { revokedLoginSessions: 1 } });
    // A password alone signs them in again.
    const again = await mutation(first.url, "auth.login", { email: person.email, password: person.password });
    expect(again.status).toBe(200);
  });
});
