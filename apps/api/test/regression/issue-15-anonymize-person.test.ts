import type { AuditEntry } from "@neosc/core/audit";
import type { WorkspaceSession } from "@neosc/core/session";
import type { AnonymizeUserOutput, User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server.ts";
import { useApi } from "../support/api.ts";
import { bearer, mutation, query } from "../support/http.ts";
import { createPerson, signInAdmin } from "../support/people.ts";

/*
 * Issue 15, "remove or anonymize a person", over real HTTP: anonymizing keeps the account's id (so
 * sessions and audit entries still link to it) but replaces its name, email and IdP link, signs the
 * person out, ends their sessions, frees the email, and leaves every earlier audit entry as it was.
 */

const api = useApi();
let server: RunningServer;
let adminToken: string;

beforeAll(async () => {
  server = await api.start();
  adminToken = await signInAdmin(server);
});

const asAdmin = () => ({ headers: bearer(adminToken) });

describe("user.anonymize", () => {
  it("replaces who they were, keeps their id and history, signs them out and ends their sessions", async () => {
    const person = await createPerson(server, adminToken);
    const workspace = await mutation<Workspace>(
      server.url,
      "workspace.create",
      {
        slug: `anon-${Date.now()}`,
        name: "Anon Wiki",
        description: "",
        kind: "web",
        image: null,
        url: "https://wiki.example.test",
        cpu: 1,
        memoryMb: 512,
        warm: 0,
        allowedRoles: ["user"],
        organizationId: null,
        enabled: true,
        tags: [],
      },
      asAdmin(),
    );
    // One session that ended before (the history) and one still running.
    const launch = () =>
      mutation<WorkspaceSession>(
        server.url,
        "workspace.launch",
        { workspaceId: workspace.data?.id },
        { headers: bearer(person.token) },
      );
    expect((await launch()).status).toBe(200);
    const stopped = await mutation(
      server.url,
      "workspace.stop",
      { workspaceId: workspace.data?.id },
      { headers: bearer(person.token) },
    );
    expect(stopped.status).toBe(200);
    expect((await launch()).status).toBe(200);

    const answer = await mutation<AnonymizeUserOutput>(
      server.url,
      "user.anonymize",
      { userId: person.user.id },
      asAdmin(),
    );
    expect(answer.status).toBe(200);
    expect(answer.data).toMatchObject({
      user: {
        id: person.user.id,
        name: "Anonymized person",
        email: `anonymized-${person.user.id}@anonymized.invalid`,
        externalId: null,
        disabled: true,
        totpEnabled: false,
      },
      endedSessions: 1,
      revokedLoginSessions: 1,
    });

    // Signed out at once: the old token is refused, and the old email and password sign in nobody.
    expect((await query(server.url, "auth.me", undefined, { headers: bearer(person.token) })).status).toBe(
      401,
    );
    const again = await mutation(server.url, "auth.login", {
      email: person.email,
      password: person.password,
    });
    expect(again.status).toBe(401);

    // Both sessions are ended, still link to the (anonymized) account by id, and their copy of the
    // email is the placeholder: the admin's sessions and history pages name nobody.
    const placeholder = `anonymized-${person.user.id}@anonymized.invalid`;
    const sessions = await query<{ items: WorkspaceSession[] }>(
      server.url,
      "session.list",
      { userId: person.user.id, limit: 10 },
      asAdmin(),
    );
    expect(sessions.data?.items).toHaveLength(2);
    for (const session of sessions.data?.items ?? []) {
      expect(session).toMatchObject({ userId: person.user.id, status: "ended", userEmail: placeholder });
    }
    const everyone = await query<{ items: WorkspaceSession[] }>(
      server.url,
      "session.list",
      { workspaceId: workspace.data?.id, limit: 10 },
      asAdmin(),
    );
    expect(everyone.data?.items).toHaveLength(2);
    expect(JSON.stringify(everyone.data?.items)).not.toContain(person.email);

    // Nobody by the old email any more: the address is free for a new account.
    const search = await query<{ items: User[] }>(
      server.url,
      "user.list",
      { search: person.email, limit: 10 },
      asAdmin(),
    );
    expect(search.data?.items).toEqual([]);
    const reused = await mutation<{ user: User }>(
      server.url,
      "user.create",
      { email: person.email, name: "Someone new", role: "user" },
      asAdmin(),
    );
    expect(reused.status).toBe(200);
    expect(reused.data?.user.id).not.toBe(person.user.id);

    // Earlier entries keep the actor as they were (the chain is not rewritten and still verifies);
    // the anonymization's own entry names nobody.
    const theirs = await query<{ items: AuditEntry[] }>(
      server.url,
      "audit.list",
      { actorId: person.user.id, limit: 50 },
      asAdmin(),
    );
    expect(theirs.data?.items.length).toBeGreaterThan(0);
    expect(theirs.data?.items.every((entry) => entry.actor.email === person.email)).toBe(true);
    const entry = await query<{ items: AuditEntry[] }>(
      server.url,
      "audit.list",
      { action: "user.anonymize", resourceId: person.user.id, limit: 1 },
      asAdmin(),
    );
    expect(entry.data?.items[0]).toMatchObject({
      result: "success",
      details: { revokedLoginSessions: 1, endedSessions: 1 },
    });
    expect(JSON.stringify(entry.data?.items[0]?.details)).not.toContain(person.email);
    const verified = await query<{ ok: boolean }>(server.url, "audit.verify", undefined, asAdmin());
    expect(verified.data?.ok).toBe(true);
  });

  it("refuses the caller's own account and an unknown id, and asks a bad id to be fixed", async () => {
    const me = await query<{ user: User }>(server.url, "auth.me", undefined, asAdmin());
    const own = await mutation(server.url, "user.anonymize", { userId: me.data?.user.id }, asAdmin());
    expect(own.status).toBe(409);
    expect(own.error?.data.domain?.reason).toBe("own_account");
    const unknown = await mutation(
      server.url,
      "user.anonymize",
      { userId: "7b0b1f5e-7a35-4d2c-9c43-8b7d1b0c9f10" },
      asAdmin(),
    );
    expect(unknown.status).toBe(404);
    const bad = await mutation(server.url, "user.anonymize", { userId: "nope" }, asAdmin());
    expect(bad.status).toBe(400);
    const person = await createPerson(server, adminToken);
    const asPerson = await mutation(
      server.url,
      "user.anonymize",
      { userId: person.user.id },
      { headers: bearer(person.token) },
    );
    expect(asPerson.status).toBe(403);
  });
});
