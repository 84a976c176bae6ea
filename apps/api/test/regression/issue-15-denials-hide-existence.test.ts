import type { WorkspaceSession } from "@neosc/core/session";
import type { Workspace } from "@neosc/core/workspace";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server.ts";
import { useApi } from "../support/api.ts";
import { bearer, mutation, type WireResponse } from "../support/http.ts";
import { createPerson, type Person, signInAdmin } from "../support/people.ts";

/*
 * A person who may not see a workspace or a session learns nothing from a refusal: launching a
 * disabled workspace, one their role may not use, or one of another organization, and opening,
 * keeping alive or ending someone else's session, answer exactly as for an id that does not
 * exist. The audit log keeps the real reason for admins.
 */

const api = useApi();
let server: RunningServer;
let adminToken: string;
let person: Person;
const NOWHERE = "7b0b1f5e-7a35-4d2c-9c43-8b7d1b0c9f10";

async function createWorkspace(slug: string, extra: Record<string, unknown>): Promise<Workspace> {
  const created = await mutation<Workspace>(
    server.url,
    "workspace.create",
    { slug, name: slug, kind: "web", url: "https://docs.example.test", allowedRoles: ["user"], ...extra },
    { headers: bearer(adminToken) },
  );
  if (created.data === null) throw new Error(`workspace.create refused: ${JSON.stringify(created.error)}`);
  return created.data;
}

/** The answer with the id it was about replaced, so answers about different ids compare. */
function shapeOf(response: WireResponse, id: string) {
  return {
    status: response.status,
    error: JSON.parse(JSON.stringify(response.error).replaceAll(id, "<id>")),
  };
}

beforeAll(async () => {
  server = await api.start();
  adminToken = await signInAdmin(server);
  person = await createPerson(server, adminToken);
});

describe("refusals that would reveal existence", () => {
  it("answer a launch of a workspace the person may not see exactly like one of no workspace", async () => {
    const organization = await mutation<{ id: string }>(
      server.url,
      "organization.create",
      { name: "Elsewhere", slug: "elsewhere" },
      { headers: bearer(adminToken) },
    );
    const hidden = [
      await createWorkspace("switched-off", { enabled: false }),
      await createWorkspace("admins-only", { allowedRoles: ["admin"] }),
      await createWorkspace("their-own", { organizationId: organization.data?.id }),
    ];
    const launch = (workspaceId: string) =>
      mutation(server.url, "workspace.launch", { workspaceId }, { headers: bearer(person.token) });
    const missing = shapeOf(await launch(NOWHERE), NOWHERE);
    expect(missing).toMatchObject({ status: 404, error: { data: { domain: { reason: "not_found" } } } });
    for (const workspace of hidden)
      expect(shapeOf(await launch(workspace.id), workspace.id)).toEqual(missing);

    const audit = await api.database.db.audit.list({
      action: "workspace.launch",
      result: "denied",
      limit: 10,
    });
    expect(audit.items.map((entry) => entry.reason).slice(0, 3)).toEqual([
      "not_found",
      "role_not_allowed",
      "workspace_disabled",
    ]);
  });

  it("still tells an admin, who sees every workspace, why a launch is refused", async () => {
    const off = await createWorkspace("off-for-admins", { enabled: false, allowedRoles: ["admin"] });
    const response = await mutation(
      server.url,
      "workspace.launch",
      { workspaceId: off.id },
      { headers: bearer(adminToken) },
    );
    expect(response.status).toBe(403);
    expect(response.error?.data.domain?.reason).toBe("workspace_disabled");
  });

  it("answers connect, heartbeat and disconnect of someone else's session like those of no session", async () => {
    const workspace = await createWorkspace("shared-docs", {});
    const owner = await createPerson(server, adminToken);
    const launched = await mutation<WorkspaceSession>(
      server.url,
      "workspace.launch",
      { workspaceId: workspace.id },
      { headers: bearer(owner.token) },
    );
    const session = launched.data;
    if (session === null) throw new Error(`launch refused: ${JSON.stringify(launched.error)}`);
    for (const procedure of ["session.connect", "session.heartbeat", "session.disconnect"]) {
      const call = (sessionId: string) =>
        mutation(server.url, procedure, { sessionId }, { headers: bearer(person.token) });
      const missing = shapeOf(await call(NOWHERE), NOWHERE);
      expect(missing, procedure).toMatchObject({ status: 404 });
      expect(shapeOf(await call(session.id), session.id), procedure).toEqual(missing);
      const denied = await api.database.db.audit.list({ action: procedure, result: "denied", limit: 1 });
      expect(denied.items[0], procedure).toMatchObject({ reason: "not_owner", resource: { id: session.id } });
    }
  });
});
