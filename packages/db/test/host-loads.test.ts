import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { COLLECTION_NAMES, type HostLoadDoc, type MarkerDoc } from "../src/collections.ts";
import { connectDatabase, type Database, type DatabaseConnection } from "../src/database.ts";
import type { NewWorkspaceSession } from "../src/repositories/sessions.ts";
import { useTestDatabase } from "./support.ts";

/*
 * Placement reads each workspace host's load by `_id` (its load document) instead of counting
 * sessions (ARCHITECTURE §5, issues 11 and 14). The load must stay exact while two API replicas
 * launch and end at once, each end raced by several callers: never negative, never drifting.
 */

const handle = useTestDatabase();
/** A second API replica: its own connection to the same database. */
let other: DatabaseConnection;

beforeAll(async () => {
  other = await connectDatabase({
    url: inject("mongoUrl"),
    dbName: handle.test.dbName,
    appName: "neosc-test",
  });
});

afterAll(async () => {
  await other?.close();
});

function launch(hostId: string | null): NewWorkspaceSession {
  const userId = randomUUID();
  return {
    workspaceId: "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb",
    workspaceSlug: "linux-desktop",
    workspaceName: "Linux desktop",
    workspaceKind: "desktop",
    userId,
    userEmail: `${userId}@example.com`,
    organizationId: null,
    startedAt: new Date(),
    clientIp: "10.0.0.1",
    hostId,
    connectionUrl: null,
    endsAt: null,
    idleEndsAt: null,
  };
}

/** What a count of the sessions says (the scan placement no longer does). */
async function scanned(db: Database, hostIds: string[]): Promise<Map<string, number>> {
  const counts = await Promise.all(hostIds.map((hostId) => db.sessions.countActive({ hostId })));
  return new Map(hostIds.map((hostId, index) => [hostId, counts[index] ?? 0]));
}

function rawLoads() {
  return handle.test.connection.client
    .db(handle.test.dbName)
    .collection<HostLoadDoc>(COLLECTION_NAMES.hostLoads);
}

describe("workspace host loads", () => {
  it("stay exact while two replicas launch and end at once, every end raced by three callers", async () => {
    const replicas = [handle.db, other.db];
    const hosts: string[] = [randomUUID(), randomUUID()];
    const started: { id: string; hostId: string }[] = [];

    // Round 1: 24 launches at once, alternating replicas and hosts.
    const first = await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        replicas[index % 2]?.sessions.createWithinLimit(launch(hosts[index % 2] ?? null), null),
      ),
    );
    for (const session of first)
      if (session?.hostId) started.push({ id: session.id, hostId: session.hostId });
    expect(started).toHaveLength(24);
    expect(await handle.db.sessions.activeCountsByHost(hosts)).toEqual(new Map(hosts.map((h) => [h, 12])));

    // Round 2: half of them end — each from both replicas and an idle sweep at once — while 10
    // more launch on both replicas.
    const ending = started.filter((_, index) => index % 2 === 0 || index < 6);
    const [, launched] = await Promise.all([
      Promise.all(
        ending.flatMap(({ id }) => [
          handle.db.sessions.end(id, { reason: "user_stopped", at: new Date() }),
          other.db.sessions.end(id, { reason: "admin_disconnected", at: new Date() }),
          handle.db.sessions.end(id, { reason: "idle_timeout", at: new Date() }),
        ]),
      ),
      Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          replicas[index % 2]?.sessions.createWithinLimit(launch(hosts[(index + 1) % 2] ?? null), null),
        ),
      ),
    ]);
    expect(launched.every((session) => session !== null && session !== undefined)).toBe(true);

    const expected = await scanned(handle.db, hosts);
    expect([...expected.values()].reduce((sum, count) => sum + count, 0)).toBe(24 - ending.length + 10);
    expect(await handle.db.sessions.activeCountsByHost(hosts)).toEqual(expected);
    expect(await other.db.sessions.activeCountsByHost(hosts)).toEqual(expected);

    // Ending what already ended changes nothing.
    await Promise.all(
      ending.map(({ id }) => other.db.sessions.end(id, { reason: "host_lost", at: new Date() })),
    );
    expect(await other.db.sessions.activeCountsByHost(hosts)).toEqual(expected);

    // Everything ends, from both replicas at once: every load is back to 0, none below.
    const active = await handle.db.sessions.listActive({});
    const mine = active.filter((session) => session.hostId !== null && hosts.includes(session.hostId));
    await Promise.all(
      mine.flatMap(({ id }) =>
        replicas.map((db) => db.sessions.end(id, { reason: "host_lost", at: new Date() })),
      ),
    );
    expect(await handle.db.sessions.activeCountsByHost(hosts)).toEqual(new Map(hosts.map((h) => [h, 0])));
    for (const hostId of hosts) expect((await rawLoads().findOne({ _id: hostId }))?.sessions).toEqual([]);
  });

  it("gives a host's last place to exactly one of many parallel launches on two replicas", async () => {
    const hostId = randomUUID();
    const replicas = [handle.db, other.db];
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        replicas[index % 2]?.sessions.createPlaced(launch(null), null, [{ id: hostId, capacity: 1 }]),
      ),
    );
    const placed = results.filter((result) => typeof result === "object");
    expect(placed).toHaveLength(1);
    expect(results.filter((result) => result === "hosts_full")).toHaveLength(7);
    expect(placed[0]?.hostId).toBe(hostId);
    // The refused launches leave no session behind, active or counted.
    expect(await handle.db.sessions.activeCountsByHost([hostId])).toEqual(new Map([[hostId, 1]]));
    expect(await scanned(handle.db, [hostId])).toEqual(new Map([[hostId, 1]]));
  });

  it("places the launches that find a host full on the next host with room", async () => {
    const [small, large] = [randomUUID(), randomUUID()];
    const replicas = [handle.db, other.db];
    const hosts = [
      { id: small, capacity: 2 },
      { id: large, capacity: 3 },
    ];
    const results = await Promise.all(
      Array.from({ length: 7 }, (_, index) =>
        replicas[index % 2]?.sessions.createPlaced(launch(null), null, hosts),
      ),
    );
    const placed = results.flatMap((result) => (typeof result === "object" ? [result.hostId] : []));
    expect(placed.filter((hostId) => hostId === small)).toHaveLength(2);
    expect(placed.filter((hostId) => hostId === large)).toHaveLength(3);
    expect(results.filter((result) => result === "hosts_full")).toHaveLength(2);
    expect(await scanned(handle.db, [small, large])).toEqual(
      new Map([
        [small, 2],
        [large, 3],
      ]),
    );
  });

  it("an end racing its own launch on the other replica leaves nothing counted", async () => {
    const hostId = randomUUID();
    for (let round = 0; round < 10; round += 1) {
      const id = randomUUID();
      const endAsSoonAsItExists = async () => {
        for (let attempt = 0; attempt < 500; attempt += 1) {
          if (await other.db.sessions.end(id, { reason: "admin_disconnected", at: new Date() })) return true;
        }
        return false;
      };
      const [, ended] = await Promise.all([
        handle.db.sessions.createWithinLimit({ ...launch(hostId), id }, null),
        endAsSoonAsItExists(),
      ]);
      expect(ended).toBe(true);
    }
    expect(await handle.db.sessions.activeCountsByHost([hostId])).toEqual(new Map([[hostId, 0]]));
  });

  it("counts nothing for web sessions and for hosts never used", async () => {
    const unknown = randomUUID();
    await handle.db.sessions.createWithinLimit(launch(null), null);
    expect(await handle.db.sessions.activeCountsByHost([unknown])).toEqual(new Map([[unknown, 0]]));
  });

  it("a recount repairs a load that a writer dying in between left wrong", async () => {
    const hostId = randomUUID();
    const kept = await handle.db.sessions.createWithinLimit(launch(hostId), null);
    await handle.db.sessions.createWithinLimit(launch(hostId), null);
    // A launch that died after its insert (not listed) and an end that died before its removal.
    await rawLoads().updateOne({ _id: hostId }, { $set: { sessions: [kept?.id ?? "", randomUUID()] } });
    const ghost = await handle.db.sessions.createWithinLimit(launch(hostId), null);
    await rawLoads().updateOne({ _id: hostId }, { $pull: { sessions: ghost?.id ?? "" } });
    expect(await handle.db.sessions.recountHostLoad(hostId)).toBe(3);
    expect(await other.db.sessions.activeCountsByHost([hostId])).toEqual(new Map([[hostId, 3]]));
  });

  it("an install upgraded from before load documents gets them at its next start", async () => {
    const hostId = randomUUID();
    await Promise.all([1, 2, 3].map(() => handle.db.sessions.createWithinLimit(launch(hostId), null)));
    const { client } = handle.test.connection;
    await rawLoads().deleteMany({});
    await client
      .db(handle.test.dbName)
      .collection<MarkerDoc>(COLLECTION_NAMES.markers)
      .deleteOne({ _id: "host-loads-indexed" });
    const restarted = await connectDatabase({ url: inject("mongoUrl"), dbName: handle.test.dbName });
    try {
      expect(await restarted.db.sessions.activeCountsByHost([hostId])).toEqual(new Map([[hostId, 3]]));
      expect(await restarted.db.sessions.indexHostLoads()).toBe(0);
    } finally {
      await restarted.close();
    }
  });
});
