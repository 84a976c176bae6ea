import { execFileSync } from "node:child_process";
import type { Database } from "@neosc/db/database";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { startXvnc, type TestXvnc } from "@neosc/provisioner/testing/xvnc";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RfbTestClient } from "../testing/rfb-client.ts";
import { type Launched, launchSession, ORIGIN, startGateway, type TestGateway } from "./support/gateway.ts";
import { signedIn, type Watcher, watchTicket as watchTicketFor } from "./support/watch.ts";

/*
 * An admin watching someone's desktop (`session.watch` tickets) with a real Xvnc: the watcher's
 * gateway connection joins the workspace as a shared client, sees the picture, and none of its
 * keys or pointer moves reach the desktop — the same moves from the person do. The watch ends
 * when the session does; the person's connection stays up throughout.
 */

let database: TestDatabase;
let db: Database;
let desktop: TestXvnc;
let gateway: TestGateway;

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  db = database.db;
  desktop = await startXvnc();
  gateway = await startGateway({
    db,
    endpoints: async () => ({ protocol: "rfb", endpoint: { transport: "unix", path: desktop.socketPath } }),
    revocationPollMs: 200,
  });
});

afterAll(async () => {
  await gateway?.close();
  await desktop?.stop();
  await database?.drop();
});

const admin = (role: "admin" | "user" = "admin") => signedIn(db, role);
const watchTicket = (launched: Launched, watcher: Watcher) => watchTicketFor(db, launched, watcher);

async function viewer(ticket: string, cookie: string, through: TestGateway = gateway) {
  const client = await RfbTestClient.open(through.url, { ticket, origin: ORIGIN, cookie });
  await client.handshake();
  return client;
}

/** Where X has the pointer now. */
function pointerAt(): { x: number; y: number } {
  const out = execFileSync("xdotool", ["getmouselocation", "--shell"], {
    env: { ...process.env, DISPLAY: `:${desktop.display}` },
  }).toString();
  return { x: Number(/X=(\d+)/.exec(out)?.[1]), y: Number(/Y=(\d+)/.exec(out)?.[1]) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(probe: () => T | undefined, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(50);
  }
}

describe("watching a session", () => {
  it("shows the admin the picture and keeps every key and pointer move of theirs from the desktop", async () => {
    const launched = await launchSession(db);
    const person = await viewer(await launched.ticket(), launched.cookie);
    const watcher = await admin();
    const watching = await viewer(await watchTicket(launched, watcher), watcher.cookie);

    watching.updateRequest(false);
    await until(() => (watching.serverBytes >= 640 * 480 * 4 ? true : undefined));
    expect(person.ws.readyState).toBe(person.ws.OPEN);

    const before = pointerAt();
    const target = { x: before.x === 123 ? 321 : 123, y: 77 };
    watching.pointer(0, target.x, target.y);
    watching.pointer(1, target.x, target.y);
    watching.pointer(0, target.x, target.y);
    watching.key(0x61, true);
    watching.key(0x61, false);
    await sleep(700);
    expect(pointerAt()).toEqual(before);
    // The same move from the person reaches the desktop: the check above could fail.
    person.pointer(0, target.x, target.y);
    await until(() => (pointerAt().x === target.x && pointerAt().y === target.y ? true : undefined));

    watching.close();
    await watching.closed;
    person.close();
    await person.closed;
    // The gateway audits the close after the socket is gone: wait for the entry.
    const deadline = Date.now() + 5000;
    let watched: Awaited<ReturnType<typeof db.audit.list>>["items"][number] | undefined;
    while (watched === undefined && Date.now() < deadline) {
      const disconnects = await db.audit.list({
        action: "gateway.disconnect",
        resourceId: launched.session.id,
        limit: 10,
      });
      watched = disconnects.items.find((entry) => entry.details.watch === true);
      if (watched === undefined) await sleep(50);
    }
    // Only the ClientInit and the update request went to the workspace: 1 + 10 bytes.
    expect(watched?.details.bytesToServer).toBe(11);
    expect(watched?.actor.id).toBe(watcher.user.id);
  });

  it("is on the session while it is open, wherever the person reads it from, and off once it closes", async () => {
    // The person on this gateway, the admin on another replica: what the person's viewer reads
    // (their session list, session.active) comes from the database, not from either process.
    const replica = await startGateway({
      db,
      endpoints: async () => ({ protocol: "rfb", endpoint: { transport: "unix", path: desktop.socketPath } }),
    });
    try {
      const launched = await launchSession(db);
      const person = await viewer(await launched.ticket(), launched.cookie);
      const listed = async () =>
        (await db.sessions.listActiveByUser(launched.session.userId)).find(
          (session) => session.id === launched.session.id,
        );
      expect((await listed())?.watchedUntil).toBeUndefined();

      const watcher = await admin();
      const watching = await viewer(await watchTicket(launched, watcher), watcher.cookie, replica);
      const opened = Date.now();
      const lease = (await listed())?.watchedUntil;
      expect(lease?.getTime()).toBeGreaterThan(opened + 30_000);
      expect((await db.sessions.findById(launched.session.id))?.watchedUntil).toEqual(lease);

      // A second admin's watch, then the first one leaves: still watched until the second does.
      const second = await admin();
      const alsoWatching = await viewer(await watchTicket(launched, second), second.cookie);
      watching.close();
      await watching.closed;
      await sleep(300);
      expect((await listed())?.watchedUntil?.getTime()).toBeGreaterThan(Date.now());
      alsoWatching.close();
      await alsoWatching.closed;
      const deadline = Date.now() + 5000;
      while ((await listed())?.watchedUntil !== undefined && Date.now() < deadline) await sleep(50);
      expect((await listed())?.watchedUntil).toBeUndefined();
      expect(person.ws.readyState).toBe(person.ws.OPEN);
      person.close();
      await person.closed;
    } finally {
      await replica.close();
    }
  });

  it("tells the person's viewer on another replica within 3 s when a watch opens, and when the last one closes", async () => {
    // The person on a replica polling the revocation signal at its default (1 s), the admins on
    // another: the notice travels through the database only.
    const replica = await startGateway({
      db,
      endpoints: async () => ({ protocol: "rfb", endpoint: { transport: "unix", path: desktop.socketPath } }),
    });
    try {
      const launched = await launchSession(db);
      const person = await viewer(await launched.ticket(), launched.cookie, replica);

      const watcher = await admin();
      const opened = Date.now();
      const watching = await viewer(await watchTicket(launched, watcher), watcher.cookie);
      const told = await until(() => person.notices[0], 3000);
      expect(told).toMatchObject({ type: "watch", watched: true });
      const openLatency = told.receivedAt - opened;

      // A second admin joins and the first leaves: still watched, nothing new to say.
      const second = await admin();
      const alsoWatching = await viewer(await watchTicket(launched, second), second.cookie);
      watching.close();
      await watching.closed;
      await sleep(1500);
      expect(person.notices).toHaveLength(1);

      alsoWatching.close();
      const left = Date.now();
      await alsoWatching.closed;
      const untold = await until(() => person.notices[1], 3000);
      expect(untold).toMatchObject({ type: "watch", watched: false });
      const closeLatency = untold.receivedAt - left;
      console.info(`watch notice: opened after ${openLatency} ms, closed after ${closeLatency} ms`);
      // The notices came between the workspace's bytes, which still read as RFB.
      expect(await person.rfb.readFrame()).toMatchObject({ width: 640, height: 480 });
      expect(person.ws.readyState).toBe(person.ws.OPEN);
      person.close();
      await person.closed;
    } finally {
      await replica.close();
    }
  });

  it("ends when the session ends, and is refused to anyone who is not an admin", async () => {
    const launched = await launchSession(db);
    const watcher = await admin();
    const watching = await viewer(await watchTicket(launched, watcher), watcher.cookie);
    await db.sessions.end(launched.session.id, { reason: "admin_disconnected", at: new Date() });
    expect(await watching.closed).toEqual({ code: 4000, reason: "admin_disconnected" });

    const other = await launchSession(db);
    const notAdmin = await admin("user");
    const refused = await RfbTestClient.open(gateway.url, {
      ticket: await watchTicket(other, notAdmin),
      origin: ORIGIN,
      cookie: notAdmin.cookie,
    });
    expect((await refused.closed).reason).toBe("role_required");
  });
});
