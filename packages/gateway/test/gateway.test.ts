import { createPomeriumVerifier } from "@neosc/auth/pomerium";
import { startPomeriumSigner } from "@neosc/auth/testing/pomerium-signer";
import type { Database } from "@neosc/db/database";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { startXvnc, type TestXvnc } from "@neosc/provisioner/testing/xvnc";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { WorkspaceEndpoint } from "../src/endpoint.ts";
import { RfbTestClient } from "../testing/rfb-client.ts";
import { launchSession, ORIGIN, startGateway, type TestGateway } from "./support/gateway.ts";

let database: TestDatabase;
let db: Database;
let desktop: TestXvnc;
let locked: TestXvnc;
let gateway: TestGateway;
const endpointFor = new Map<string, WorkspaceEndpoint>();

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  db = database.db;
  [desktop, locked] = await Promise.all([startXvnc(), startXvnc({ password: "s3cret!x" })]);
  gateway = await startGateway({
    db,
    endpoints: async (session) =>
      endpointFor.get(session.id) ?? {
        protocol: "rfb",
        endpoint: { transport: "unix", path: desktop.socketPath },
      },
    revocationPollMs: 200,
    inputWriteIntervalMs: 200,
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([desktop?.stop(), locked?.stop()]);
  await database?.drop();
});

afterEach(async () => {
  await db.policies.setEnabled("idle-timeout", false, null);
  await db.policies.setEnabled("access-hours", false, null);
});

async function connected(launched: Awaited<ReturnType<typeof launchSession>>) {
  const client = await RfbTestClient.open(gateway.url, {
    ticket: await launched.ticket(),
    origin: ORIGIN,
    cookie: launched.cookie,
  });
  await client.handshake();
  return client;
}

describe("the gateway relays a real desktop", () => {
  it("presents security None to the browser and relays Xvnc's framebuffer", async () => {
    const launched = await launchSession(db);
    const client = await RfbTestClient.open(gateway.url, {
      ticket: await launched.ticket(),
      origin: ORIGIN,
      cookie: launched.cookie,
    });
    expect(client.ws.protocol).toBe("neosc.v1");
    const init = await client.handshake();
    expect(init).toMatchObject({ width: 640, height: 480 });
    client.updateRequest(false);
    expect(await client.nextUpdate()).toBeGreaterThan(0);
    client.close();
    expect((await client.closed).code).toBe(1005);
  });

  it("does VNC authentication with the password NeoSC holds; the browser never sees it", async () => {
    const launched = await launchSession(db);
    endpointFor.set(launched.session.id, {
      protocol: "rfb",
      endpoint: { transport: "unix", path: locked.socketPath },
      secret: "s3cret!x",
    });
    const client = await connected(launched);
    client.updateRequest(false);
    expect(await client.nextUpdate()).toBeGreaterThan(0);
    client.close();

    const wrong = await launchSession(db);
    endpointFor.set(wrong.session.id, {
      protocol: "rfb",
      endpoint: { transport: "unix", path: locked.socketPath },
      secret: "not-it",
    });
    const refused = await RfbTestClient.open(gateway.url, {
      ticket: await wrong.ticket(),
      origin: ORIGIN,
      cookie: wrong.cookie,
    });
    expect(await refused.closed).toEqual({ code: 4004, reason: "workspace_closed" });
  });
});

describe("admission", () => {
  it("refuses a missing, unknown or replayed ticket with 4001, and never logs the ticket", async () => {
    const launched = await launchSession(db);
    const missing = await RfbTestClient.open(gateway.url, { origin: ORIGIN, cookie: launched.cookie });
    expect(await missing.closed).toEqual({ code: 4001, reason: "ticket_missing" });
    const unknown = await RfbTestClient.open(gateway.url, {
      ticket: "not-a-ticket",
      origin: ORIGIN,
      cookie: launched.cookie,
    });
    expect(await unknown.closed).toEqual({ code: 4001, reason: "ticket_unknown" });

    const ticket = await launched.ticket();
    const first = await RfbTestClient.open(gateway.url, { ticket, origin: ORIGIN, cookie: launched.cookie });
    await first.handshake();
    const replay = await RfbTestClient.open(gateway.url, { ticket, origin: ORIGIN, cookie: launched.cookie });
    expect(await replay.closed).toEqual({ code: 4001, reason: "ticket_replayed" });
    first.close();
    await first.closed;
    expect(JSON.stringify(gateway.logs)).not.toContain(ticket);
    const denied = await db.audit.list({ action: "gateway.connect", result: "denied", limit: 10 });
    expect(denied.items.map((entry) => entry.reason)).toEqual(
      expect.arrayContaining(["ticket_missing", "ticket_unknown", "ticket_replayed"]),
    );
    expect(JSON.stringify(denied.items)).not.toContain(ticket);
  });

  it("refuses a foreign Origin and another person's ticket with 4003, and a client without neosc.v1", async () => {
    const alice = await launchSession(db);
    const bob = await launchSession(db);
    const foreign = await RfbTestClient.open(gateway.url, {
      ticket: await alice.ticket(),
      origin: "https://evil.example",
      cookie: alice.cookie,
    });
    expect(await foreign.closed).toEqual({ code: 4003, reason: "origin_not_allowed" });
    const noOrigin = await RfbTestClient.open(gateway.url, {
      ticket: await alice.ticket(),
      cookie: alice.cookie,
    });
    expect(await noOrigin.closed).toEqual({ code: 4003, reason: "origin_not_allowed" });

    // Bob, signed in as himself, got hold of Alice's ticket.
    const stolen = await RfbTestClient.open(gateway.url, {
      ticket: await alice.ticket(),
      origin: ORIGIN,
      cookie: bob.cookie,
    });
    expect(await stolen.closed).toEqual({ code: 4003, reason: "identity_mismatch" });
    const anonymous = await RfbTestClient.open(gateway.url, { ticket: await alice.ticket(), origin: ORIGIN });
    expect(await anonymous.closed).toEqual({ code: 4003, reason: "identity_mismatch" });

    await expect(
      RfbTestClient.open(gateway.url, { protocols: ["binary"], origin: ORIGIN, cookie: alice.cookie }),
    ).rejects.toThrow(/400/);
  });

  it("refuses an ended session with its end reason, and a third connection of one session with 4029", async () => {
    const launched = await launchSession(db);
    const a = await connected(launched);
    const b = await connected(launched);
    const third = await RfbTestClient.open(gateway.url, {
      ticket: await launched.ticket(),
      origin: ORIGIN,
      cookie: launched.cookie,
    });
    expect(await third.closed).toEqual({ code: 4029, reason: "too_many_connections" });
    a.close();
    await a.closed;
    // The slot is free again.
    const again = await connected(launched);
    again.close();
    b.close();
    await Promise.all([again.closed, b.closed]);

    const ticket = await launched.ticket();
    await db.sessions.end(launched.session.id, { reason: "user_stopped", at: new Date() });
    const late = await RfbTestClient.open(gateway.url, { ticket, origin: ORIGIN, cookie: launched.cookie });
    expect(await late.closed).toEqual({ code: 4000, reason: "user_stopped" });
  });
});

describe("behind Pomerium", () => {
  it("admits only the ticket owner's assertion (subject), and refuses a missing one or one made for another host", async () => {
    const signer = await startPomeriumSigner({ host: "workspace.portal.test" });
    const behind = await startGateway({
      db,
      endpoints: async () => ({ protocol: "rfb", endpoint: { transport: "unix", path: desktop.socketPath } }),
      pomerium: createPomeriumVerifier({ jwksUrl: signer.jwksUrl, audiences: [signer.host] }),
      loginCookie: null,
    });
    try {
      const launched = await launchSession(db);
      const open = async (assertion: string | null) =>
        RfbTestClient.open(behind.url, {
          ticket: await launched.ticket({ subject: "idp-subject-ada" }),
          origin: ORIGIN,
          headers: assertion === null ? {} : { "x-pomerium-jwt-assertion": assertion },
        });
      const ada = await open(
        await signer.signAssertion({ email: "ada@example.test", sub: "idp-subject-ada" }),
      );
      await ada.handshake();
      ada.close();
      const bob = await open(
        await signer.signAssertion({ email: "bob@example.test", sub: "idp-subject-bob" }),
      );
      expect(await bob.closed).toEqual({ code: 4003, reason: "identity_mismatch" });
      const none = await open(null);
      expect(await none.closed).toEqual({ code: 4003, reason: "identity_mismatch" });
      const otherHost = await open(
        await signer.signAssertion(
          { email: "ada@example.test", sub: "idp-subject-ada" },
          { audience: "api.portal.test" },
        ),
      );
      expect(await otherHost.closed).toEqual({ code: 4003, reason: "identity_mismatch" });
    } finally {
      await behind.close();
      await signer.stop();
    }
  });
});

describe("client messages", () => {
  const violations: [string, number[] | Buffer, number, string][] = [
    ["an unknown message type", [7, 0, 0, 0], 4008, "protocol_violation"],
    ["SetDesktopSize without screens", [251, 0, 2, 128, 1, 224, 0, 0], 4008, "protocol_violation"],
    ["a QEMU message other than the extended key event", [255, 1, 0, 0], 4008, "protocol_violation"],
    ["SetEncodings with 60000 encodings", [2, 0, 0xea, 0x60], 4008, "protocol_violation"],
    ["a clipboard of 100 MB", [6, 0, 0, 0, 0x05, 0xf5, 0xe1, 0x00], 4009, "too_large"],
    ["a frame over 1 MiB", Buffer.alloc(1024 * 1024 + 1, 3), 4009, "too_large"],
  ];
  for (const [what, bytes, code, reason] of violations) {
    it(`closes on ${what} (${code})`, async () => {
      const client = await connected(await launchSession(db));
      client.updateRequest(false);
      client.send(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
      expect(await client.closed).toEqual({ code, reason });
    });
  }

  it("closes on a text frame (4008) and audits the violation", async () => {
    const launched = await launchSession(db);
    const client = await connected(launched);
    client.ws.send("hello");
    expect(await client.closed).toEqual({ code: 4008, reason: "protocol_violation" });
    await expect
      .poll(
        async () =>
          (await db.audit.list({ action: "gateway.disconnect", resourceId: launched.session.id, limit: 1 }))
            .items[0],
      )
      .toMatchObject({ reason: "protocol", details: { code: 4008, detail: "text frame" } });
  });

  it("passes a message split across frames, and several in one frame", async () => {
    const client = await connected(await launchSession(db));
    const request = Buffer.from([3, 0, 0, 0, 0, 0, 2, 128, 1, 224]);
    client.send(request.subarray(0, 3));
    client.send(request.subarray(3));
    expect(await client.nextUpdate()).toBeGreaterThan(0);
    client.close();
  });
});

describe("enforcement on the live connection", () => {
  it("closes at max duration with 4000 max_duration and records it", async () => {
    const launched = await launchSession(db, { endsAt: new Date(Date.now() + 1500) });
    const client = await connected(launched);
    const started = Date.now();
    expect(await client.closed).toEqual({ code: 4000, reason: "max_duration" });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await db.sessions.findById(launched.session.id)).toMatchObject({
      status: "ended",
      endReason: "max_duration",
    });
  });

  it("closes when the access-hours window closes (gateway clock shortly before the end of the window)", async () => {
    let offset = 0;
    const shifted = await startGateway({
      db,
      clock: () => new Date(Date.now() + offset),
      endpoints: async () => ({ protocol: "rfb", endpoint: { transport: "unix", path: desktop.socketPath } }),
    });
    try {
      const launched = await launchSession(db);
      const ticket = await launched.ticket();
      // The gateway's clock now reads 3 s before the next full minute, where the window ends.
      const lead = 3000;
      offset = 60_000 - (Date.now() % 60_000) - lead;
      const end = new Date(Date.now() + offset + lead + 100).toISOString().slice(11, 16);
      if (end === "00:00") return; // a window cannot end at midnight; the next run covers it
      await db.policies.setSettings(
        "access-hours",
        { timeZone: "UTC", days: [0, 1, 2, 3, 4, 5, 6], start: "00:00", end },
        null,
      );
      await db.policies.setEnabled("access-hours", true, null);
      const client = await RfbTestClient.open(shifted.url, {
        ticket,
        origin: ORIGIN,
        cookie: launched.cookie,
      });
      await client.handshake();
      const started = Date.now();
      expect(await client.closed).toEqual({ code: 4000, reason: "access_hours" });
      expect(Date.now() - started).toBeLessThan(lead + 1000);
      expect(await db.sessions.findById(launched.session.id)).toMatchObject({ endReason: "access_hours" });
    } finally {
      await shifted.close();
    }
  });

  it("ends an idle session although the viewer keeps asking for screen updates", async () => {
    await db.policies.setSettings("idle-timeout", { minutes: 5 }, null);
    await db.policies.setEnabled("idle-timeout", true, null);
    const launched = await launchSession(db, { idleEndsAt: new Date(Date.now() + 1500) });
    const client = await connected(launched);
    // What an open viewer sends by itself: update requests (and encodings on reconfiguration).
    const requests = setInterval(() => {
      client.updateRequest(true);
      client.send([2, 0, 0, 1, 0, 0, 0, 0]);
    }, 100);
    try {
      expect(await client.closed).toEqual({ code: 4000, reason: "idle_timeout" });
    } finally {
      clearInterval(requests);
    }
    expect(await db.sessions.findById(launched.session.id)).toMatchObject({ endReason: "idle_timeout" });
  });

  it("keeps a session with real input alive past its idle deadline and records lastInputAt", async () => {
    await db.policies.setSettings("idle-timeout", { minutes: 5 }, null);
    await db.policies.setEnabled("idle-timeout", true, null);
    const launched = await launchSession(db, { idleEndsAt: new Date(Date.now() + 1500) });
    const client = await connected(launched);
    let x = 0;
    const moves = setInterval(() => client.pointer(0, ++x % 600, 20), 200);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    clearInterval(moves);
    const session = await db.sessions.findById(launched.session.id);
    expect(session?.status).toBe("active");
    expect(session?.lastInputAt).toBeInstanceOf(Date);
    expect(session?.idleEndsAt?.getTime()).toBeGreaterThan(Date.now() + 4 * 60_000);
    client.close();
  });

  it("closes every connection of a session ended elsewhere within 3 s, with the reason", async () => {
    const launched = await launchSession(db);
    const [a, b] = [await connected(launched), await connected(launched)];
    const started = Date.now();
    await db.sessions.end(launched.session.id, { reason: "admin_disconnected", at: new Date() });
    expect(await a.closed).toEqual({ code: 4000, reason: "admin_disconnected" });
    expect(await b.closed).toEqual({ code: 4000, reason: "admin_disconnected" });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("ends the session when its person is disabled or their login is revoked", async () => {
    const disabled = await launchSession(db);
    const revoked = await launchSession(db);
    const [a, b] = [await connected(disabled), await connected(revoked)];
    await db.users.update(disabled.user.id, { disabled: true });
    expect(await a.closed).toEqual({ code: 4000, reason: "user_disabled" });
    await db.loginSessions.revoke(revoked.loginSessionId, new Date());
    expect(await b.closed).toEqual({ code: 4000, reason: "login_revoked" });
    expect(await db.sessions.findById(revoked.session.id)).toMatchObject({ endReason: "login_revoked" });
  });
});
