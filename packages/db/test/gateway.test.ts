import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "./support.ts";

const handle = useTestDatabase();
const at = new Date("2030-01-01T10:00:00.000Z");

describe("gateway coordination state", () => {
  it("changes the revocation token when a session ends, a login is revoked or a person is disabled", async () => {
    const { db } = handle;
    const tokens: (string | null)[] = [await db.gateway.revocationToken()];
    const changed = async () => {
      const token = await db.gateway.revocationToken();
      const before = tokens.at(-1);
      tokens.push(token);
      return token !== null && token !== before;
    };

    const userId = randomUUID();
    const session = await db.sessions.createWithinLimit(
      {
        workspaceId: randomUUID(),
        workspaceSlug: "desktop",
        workspaceName: "Desktop",
        workspaceKind: "desktop",
        userId,
        userEmail: `${userId}@example.com`,
        organizationId: null,
        startedAt: at,
        clientIp: null,
        connectionUrl: null,
        endsAt: null,
        idleEndsAt: null,
      },
      null,
    );
    if (session === null) throw new Error("no session");
    expect(await changed()).toBe(false);
    await db.sessions.end(session.id, { reason: "admin_disconnected", at });
    expect(await changed()).toBe(true);
    // Ending it again decides nothing: no bump.
    await db.sessions.end(session.id, { reason: "admin_disconnected", at });
    expect(await changed()).toBe(false);

    const user = await db.users.create({
      source: "local",
      email: `${randomUUID()}@example.com`,
      name: "P",
      role: "user",
      organizationId: null,
      passwordHash: "x",
      mustChangePassword: false,
    });
    const login = await db.loginSessions.create({
      userId: user.id,
      method: "local",
      mfa: false,
      clientIp: null,
      userAgent: null,
      createdAt: at,
      expiresAt: new Date(at.getTime() + 3600_000),
    });
    await db.loginSessions.revoke(login.id, at);
    expect(await changed()).toBe(true);
    await db.users.update(user.id, { name: "Q" });
    expect(await changed()).toBe(false);
    await db.users.update(user.id, { disabled: true });
    expect(await changed()).toBe(true);
  });

  it("caps connections per session and takes over slots of replicas that stopped answering", async () => {
    const { db } = handle;
    const sessionId = randomUUID();
    const take = (replica: string, now: Date) =>
      db.gateway.takeSlot({
        sessionId,
        cap: 2,
        replica,
        connectionId: randomUUID(),
        at: now,
        staleBefore: new Date(now.getTime() - 30_000),
      });
    await db.gateway.replicaSeen("a", at);
    await db.gateway.replicaSeen("b", at);
    const first = await take("a", at);
    const second = await take("b", at);
    expect([first?.slot, second?.slot]).toEqual([0, 1]);
    expect(await take("a", at)).toBeNull();

    if (second === null) throw new Error("no slot");
    await db.gateway.releaseSlot(second);
    expect((await take("a", at))?.slot).toBe(1);

    // Replica a keeps answering, b went silent 60 s ago: nothing of a's is taken over.
    const later = new Date(at.getTime() + 60_000);
    await db.gateway.replicaSeen("a", later);
    expect(await take("b", later)).toBeNull();
    // Now a goes silent too: its slots become free for a live replica.
    const muchLater = new Date(at.getTime() + 120_000);
    await db.gateway.replicaSeen("b", muchLater);
    expect((await take("b", muchLater))?.slot).toBe(0);
  });
});
