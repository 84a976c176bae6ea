import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import {
  createTestDatabase,
  describeRoundTrips as describeTrips,
  findsByIdOnly,
  type RoundTrip,
  roundTripsOf,
  type TestDatabase,
} from "@neosc/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createInnerContext, type ExternalIdentity } from "../src/context.ts";
import { openLoginSession, resolveIdentity } from "../src/domain/identity/identity.ts";
import { sweepSessions } from "../src/domain/sessions/sweeper.ts";
import {
  callerFor,
  createCaller,
  createLocalUser,
  makeContext,
  resetCatalogue,
  TEST_CONFIG,
  testServices,
} from "./support/context.ts";
import { registerTestHost, TEST_HOST_ID } from "./support/database.ts";

/*
 * The hot paths cost O(1) on the embedded engine (ARCHITECTURE §5, issue 14): FerretDB 1.24 on
 * SQLite finds a document cheaply only by `_id` equality and scans its whole collection for any
 * other filter. These tests count the database commands of one request each (the driver's
 * command monitoring) and check that every one of them finds its documents by `_id` alone, with
 * history already stored, so a scan or an extra round trip that creeps back fails here.
 */

let database: TestDatabase;

async function tripsOf(run: () => Promise<unknown>): Promise<RoundTrip[]> {
  return roundTripsOf(database.connection, run);
}

function scans(list: RoundTrip[]): RoundTrip[] {
  return list.filter((trip) => !findsByIdOnly(trip));
}

let admin: User;
let person: User;
let token: string;
let web: Workspace;
let desktop: Workspace;
let app: Workspace;

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"), { cacheMaxAgeMs: 60_000 });
  const { db } = database;
  await db.policies.seedDefaults();
  await registerTestHost(db);
  admin = (await createLocalUser(db, "admin")).user;
  const bySlug = await resetCatalogue(db, { user: admin });
  web = bySlug("api-docs");
  desktop = bySlug("linux-desktop");
  app = bySlug("firefox");
  person = (await createLocalUser(db, "user")).user;
  const opened = await openLoginSession(makeContext(db), person, { method: "local", mfa: false });
  token = opened.output.token;

  // History: other people's ended sessions and audit entries the hot paths must not read.
  for (let index = 0; index < 5; index++) {
    const someone = (await createLocalUser(db, "user")).user;
    const asSomeone = callerFor(db, { user: someone });
    for (let round = 0; round < 4; round++) {
      await asSomeone.workspace.launch({ workspaceId: web.id });
      await asSomeone.workspace.stop({ workspaceId: web.id });
    }
  }
  // The person has one workspace running, as in the benchmark's dashboard rows.
  await callerFor(db, { user: person }).workspace.launch({ workspaceId: desktop.id });
});

afterAll(async () => {
  await database?.drop();
});

/** The trips that read or write people and their sign-in keys (the login throttle is its own matter). */
function personTrips(list: RoundTrip[]): RoundTrip[] {
  return list.filter((trip) => trip.collection === "users" || trip.collection === "lookups");
}

/** One HTTP request's worth of work: resolve the bearer token, then run the procedures. */
async function request<T>(run: (caller: ReturnType<typeof createCaller>) => Promise<T>): Promise<T> {
  const { db } = database;
  const clock = () => new Date();
  const services = testServices();
  const cookies = { setSession: () => {}, clearSession: () => {} };
  const { identity, credentialError } = await resolveIdentity(
    {
      db,
      clock,
      request: { clientIp: "192.0.2.10", userAgent: "vitest" },
      services: { ...services, responseCookies: cookies },
    },
    { bearerToken: token },
  );
  const ctx = createInnerContext({
    db,
    clock,
    config: TEST_CONFIG,
    identity,
    credentialError,
    request: { clientIp: "192.0.2.10", userAgent: "vitest" },
    services: { ...services, responseCookies: cookies },
  });
  return run(createCaller(ctx));
}

describe("database round trips of the hot paths", () => {
  it("the dashboard (workspace.list + session.active, one batch)", async () => {
    // The first request may fill the replica's catalogue cache; the steady state is measured.
    await request(async (caller) => Promise.all([caller.workspace.list({}), caller.session.active({})]));
    const list = await tripsOf(() =>
      request(async (caller) => {
        const [workspaces, active] = await Promise.all([
          caller.workspace.list({}),
          caller.session.active({}),
        ]);
        expect(workspaces.length).toBeGreaterThan(0);
        expect(active.map((session) => session.workspaceId)).toEqual([desktop.id]);
      }),
    );
    console.log(`dashboard: ${list.length} round trips\n${describeTrips(list)}`);
    expect(scans(list), describeTrips(list)).toEqual([]);
    expect(list.length, describeTrips(list)).toBeLessThanOrEqual(3);
  });

  it("launch and stop", async () => {
    const launch = await tripsOf(() => request((caller) => caller.workspace.launch({ workspaceId: web.id })));
    console.log(`launch: ${launch.length} round trips\n${describeTrips(launch)}`);
    const stop = await tripsOf(() => request((caller) => caller.workspace.stop({ workspaceId: web.id })));
    console.log(`stop: ${stop.length} round trips\n${describeTrips(stop)}`);
    expect(scans(launch), describeTrips(launch)).toEqual([]);
    expect(scans(stop), describeTrips(stop)).toEqual([]);
    // identity 2, workspace 1, person 1, the person's lock + read + active entry + session + copy
    // + unlock 6, audit 2 (the entry, the head).
    expect(launch.length, describeTrips(launch)).toBeLessThanOrEqual(12);
    // identity 2, person 1, the end (read, claim, write, active entry) 4, the copy removed under
    // the lock 4, revocation 1, audit 2.
    expect(stop.length, describeTrips(stop)).toBeLessThanOrEqual(14);
  });

  it("launch and stop of a workspace placed on a host (its load read and written by _id)", async () => {
    // Other people's apps on the host: placement must not count them (issues 11 and 14).
    for (let index = 0; index < 3; index++) {
      const someone = (await createLocalUser(database.db, "user")).user;
      await callerFor(database.db, { user: someone }).workspace.launch({ workspaceId: app.id });
    }
    const launch = await tripsOf(() => request((caller) => caller.workspace.launch({ workspaceId: app.id })));
    console.log(`launch on a host: ${launch.length} round trips\n${describeTrips(launch)}`);
    const stop = await tripsOf(() => request((caller) => caller.workspace.stop({ workspaceId: app.id })));
    console.log(`stop on a host: ${stop.length} round trips\n${describeTrips(stop)}`);
    expect(scans(launch), describeTrips(launch)).toEqual([]);
    expect(scans(stop), describeTrips(stop)).toEqual([]);
    const loads = (list: RoundTrip[]) => list.filter((trip) => trip.collection === "host_loads");
    // The load read for placement, then read + write under the host's load lock.
    expect(
      loads(launch).map((trip) => trip.command),
      describeTrips(launch),
    ).toEqual(["find", "find", "update"]);
    expect(
      loads(stop).map((trip) => trip.command),
      describeTrips(stop),
    ).toEqual(["find", "update"]);
    // The web launch's 12, the load read 1, the host's lock + read + write + unlock 4.
    expect(launch.length, describeTrips(launch)).toBeLessThanOrEqual(17);
    // The web stop's 14, the host's lock + read + write + unlock 4.
    expect(stop.length, describeTrips(stop)).toBeLessThanOrEqual(18);
    expect(await database.db.sessions.activeCountsByHost([TEST_HOST_ID])).toEqual(
      new Map([[TEST_HOST_ID, 4]]),
    );
  });

  it("a sweep reads sessions by _id only, however many ended sessions are stored", async () => {
    const { db } = database;
    // A lost host (its sessions are looked for) and a session past its deadline.
    await db.workspaceHosts.heartbeat(
      { id: "host-lost", name: "lost", url: null, capacity: 10, capabilities: {} },
      new Date("2020-01-01T00:00:00Z"),
    );
    const someone = (await createLocalUser(db, "user")).user;
    const due = await db.sessions.createWithinLimit(
      {
        workspaceId: web.id,
        workspaceSlug: web.slug,
        workspaceName: web.name,
        workspaceKind: web.kind,
        userId: someone.id,
        userEmail: someone.email,
        organizationId: null,
        startedAt: new Date(Date.now() - 60_000),
        clientIp: null,
        connectionUrl: null,
        endsAt: new Date(Date.now() - 1000),
        idleEndsAt: null,
      },
      null,
    );
    const clock = () => new Date();
    // The first sweep may fill the replica's host and policy caches; the steady state is measured.
    await sweepSessions({ db, clock });
    expect((await db.sessions.findById(due?.id ?? ""))?.endReason).toBe("max_duration");
    const again = await db.sessions.createWithinLimit(
      { ...(due as NonNullable<typeof due>), id: undefined, endsAt: new Date(Date.now() - 1000) },
      null,
    );
    let result: Awaited<ReturnType<typeof sweepSessions>> | undefined;
    const sweep = await tripsOf(async () => {
      result = await sweepSessions({ db, clock });
    });
    console.log(`sweep: ${sweep.length} round trips\n${describeTrips(sweep)}`);
    expect(result?.maxDuration).toBe(1);
    expect((await db.sessions.findById(again?.id ?? ""))?.endReason).toBe("max_duration");
    // Only the active sessions collection (as large as what is active) is read by another filter.
    const history = scans(sweep).filter((trip) => trip.collection !== "active_sessions");
    expect(history, describeTrips(sweep)).toEqual([]);
    expect(sweep.filter((trip) => trip.collection === "sessions").length, describeTrips(sweep)).toBeLessThan(
      10,
    );
  });

  it("sign-in finds the person by email with reads by _id", async () => {
    const { db } = database;
    const { email, password } = await createLocalUser(db, "user");
    const trips = await tripsOf(() => callerFor(db).auth.login({ email: email.toUpperCase(), password }));
    const lookups = personTrips(trips);
    console.log(`login: ${trips.length} round trips\n${describeTrips(trips)}`);
    expect(lookups.length, describeTrips(trips)).toBeGreaterThan(0);
    expect(scans(lookups), describeTrips(trips)).toEqual([]);
  });

  it("a Pomerium request (a known person) resolves them by IdP subject with reads by _id only", async () => {
    const { db } = database;
    const external: ExternalIdentity = {
      subject: `pomerium-sub-${Date.now()}`,
      email: `pomerium-${Date.now()}@example.test`,
      name: "Pomerium Person",
      roles: ["user"],
      mfa: false,
      organization: null,
    };
    const resolve = () =>
      resolveIdentity(
        {
          db,
          clock: () => new Date(),
          request: { clientIp: "192.0.2.10", userAgent: "vitest" },
          services: {
            ...testServices({ pomerium: { verify: async () => external } }),
            responseCookies: { setSession: () => {}, clearSession: () => {} },
          },
        },
        { pomeriumAssertion: "verified-by-the-stand-in" },
      );
    const first = await resolve();
    expect(first.identity?.user.email).toBe(external.email);
    const trips = await tripsOf(async () => {
      const again = await resolve();
      expect(again.identity?.user.id).toBe(first.identity?.user.id);
    });
    console.log(`pomerium request: ${trips.length} round trips\n${describeTrips(trips)}`);
    expect(scans(trips), describeTrips(trips)).toEqual([]);
    expect(trips.length, describeTrips(trips)).toBeLessThanOrEqual(2);
  });

  it("a Pomerium request of a person in an IdP organization finds that organization by _id too", async () => {
    const { db } = database;
    const stamp = Date.now();
    const external: ExternalIdentity = {
      subject: `pomerium-org-sub-${stamp}`,
      email: `pomerium-org-${stamp}@example.test`,
      name: "Pomerium Member",
      roles: ["user"],
      mfa: false,
      organization: { externalId: `idp-org-${stamp}`, name: "Round Trip Labs", domain: null },
    };
    const resolve = () =>
      resolveIdentity(
        {
          db,
          clock: () => new Date(),
          request: { clientIp: "192.0.2.11", userAgent: "vitest" },
          services: {
            ...testServices({ pomerium: { verify: async () => external } }),
            responseCookies: { setSession: () => {}, clearSession: () => {} },
          },
        },
        { pomeriumAssertion: "verified-by-the-stand-in" },
      );
    const first = await resolve();
    expect(first.identity?.user.organizationId).not.toBeNull();
    const trips = await tripsOf(async () => {
      const again = await resolve();
      expect(again.identity?.user.organizationId).toBe(first.identity?.user.organizationId);
    });
    console.log(`pomerium request in an organization: ${trips.length} round trips\n${describeTrips(trips)}`);
    expect(scans(trips), describeTrips(trips)).toEqual([]);
    expect(trips.length, describeTrips(trips)).toBeLessThanOrEqual(3);
  });
});
