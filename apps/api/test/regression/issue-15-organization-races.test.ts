import type { Organization } from "@neosc/core/organization";
import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server.ts";
import { useApi } from "../support/api.ts";
import { bearer, mutation, query, type WireResponse } from "../support/http.ts";
import { signInAdmin } from "../support/people.ts";

/*
 * Issue 15, organizations under concurrent admins, over real HTTP on two API replicas sharing one
 * database: a domain is held by one organization even when two admins claim it at the same moment,
 * and "delete when empty" cannot delete an organization that a member or a workspace is joining.
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

const ROUNDS = 12;
const unique = () => Math.random().toString(36).slice(2, 10);

function call<T>(server: RunningServer, path: string, input: unknown): Promise<WireResponse<T>> {
  return mutation<T>(server.url, path, input, { headers: bearer(adminToken) });
}

async function createOrganization(domain?: string): Promise<Organization> {
  const tag = unique();
  const created = await call<Organization>(first, "organization.create", {
    name: `Org ${tag}`,
    slug: `org-${tag}`,
    ...(domain === undefined ? {} : { domain }),
  });
  if (created.data === null) throw new Error(`organization.create refused: ${JSON.stringify(created.error)}`);
  return created.data;
}

function expectDomainRefusal(response: WireResponse) {
  expect(response.status).toBe(409);
  expect(response.error?.data.domain?.reason).toBe("duplicate");
  expect(response.error?.data.domain?.details).toMatchObject({ field: "domain" });
}

describe("organization domains under concurrent admins", () => {
  it("lets exactly one of two simultaneous creates with one domain have it; the other is a 409 naming the field", async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const domain = `race-${unique()}.example.test`;
      const answers = await Promise.all(
        [first, second].map((server) => {
          const tag = unique();
          return call<Organization>(server, "organization.create", {
            name: `Racer ${tag}`,
            slug: `racer-${tag}`,
            domain,
          });
        }),
      );
      const winners = answers.filter((answer) => answer.status === 200);
      expect(winners, `round ${round}`).toHaveLength(1);
      expectDomainRefusal(answers.find((answer) => answer.status !== 200) as WireResponse);
    }
  });

  it("lets exactly one of two simultaneous updates to one domain have it", async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const domain = `move-${unique()}.example.test`;
      const [a, b] = await Promise.all([createOrganization(), createOrganization()]);
      const answers = await Promise.all([
        call<Organization>(first, "organization.update", { id: a.id, domain }),
        call<Organization>(second, "organization.update", { id: b.id, domain }),
      ]);
      expect(
        answers.filter((answer) => answer.status === 200),
        `round ${round}`,
      ).toHaveLength(1);
      expectDomainRefusal(answers.find((answer) => answer.status !== 200) as WireResponse);
    }
  });

  it("frees a domain when its organization lets it go or is deleted", async () => {
    const domain = `freed-${unique()}.example.test`;
    const holder = await createOrganization(domain);
    expect((await call(first, "organization.update", { id: holder.id, domain: null })).status).toBe(200);
    const next = await createOrganization(domain);
    expect((await call(second, "organization.delete", { id: next.id })).status).toBe(200);
    await expect(createOrganization(domain)).resolves.toMatchObject({ domain });
  });
});

describe("organization.delete against a member or workspace joining", () => {
  it("either refuses the delete (the newcomer is counted) or refuses the newcomer (the organization is gone)", async () => {
    let deleted = 0;
    let refused = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const organization = await createOrganization();
      const tag = unique();
      const [deletion, member, workspace] = await Promise.all([
        call(first, "organization.delete", { id: organization.id }),
        call<{ user: User }>(second, "user.create", {
          email: `joiner-${tag}@example.test`,
          name: "Joiner",
          role: "user",
          organizationId: organization.id,
        }),
        call<Workspace>(second, "workspace.create", {
          slug: `joined-${tag}`,
          name: "Joined",
          description: "",
          kind: "web",
          image: null,
          url: "https://joined.example.test",
          cpu: 1,
          memoryMb: 512,
          warm: 0,
          allowedRoles: ["user"],
          organizationId: organization.id,
          enabled: true,
          tags: [],
        }),
      ]);
      const stillThere = await query<Organization[]>(first.url, "organization.list", undefined, {
        headers: bearer(adminToken),
      });
      const exists = (stillThere.data ?? []).some((item) => item.id === organization.id);
      if (deletion.status === 200) {
        deleted += 1;
        expect(exists, `round ${round}`).toBe(false);
        // Nothing may have joined an organization that is gone.
        expect(member.status, `round ${round}: member`).toBe(404);
        expect(workspace.status, `round ${round}: workspace`).toBe(400);
        expect(workspace.error?.data.domain?.details).toMatchObject({ field: "organizationId" });
      } else {
        refused += 1;
        expect(deletion.status, `round ${round}`).toBe(409);
        expect(deletion.error?.data.domain?.reason).toBe("organization_not_empty");
        expect(exists).toBe(true);
      }
      // Whoever won, no person or workspace points at an organization that does not exist.
      const members = await query<{ items: User[] }>(
        first.url,
        "user.list",
        { organizationId: organization.id, limit: 10 },
        { headers: bearer(adminToken) },
      );
      const workspaces = await query<Workspace[]>(
        first.url,
        "workspace.list",
        {},
        {
          headers: bearer(adminToken),
        },
      );
      const orphans =
        (members.data?.items.length ?? 0) +
        (workspaces.data ?? []).filter((item) => item.organizationId === organization.id).length;
      if (!exists) expect(orphans, `round ${round}: orphans of a deleted organization`).toBe(0);
    }
    expect(deleted + refused).toBe(ROUNDS);
  });
});
