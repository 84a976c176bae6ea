import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Workspace } from "@neosc/core/workspace";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { createStaticDriver } from "@neosc/provisioner/static";
import { startXvnc, type TestXvnc } from "@neosc/provisioner/testing/xvnc";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startWorkspaceHost, type WorkspaceHost } from "../src/host.ts";

/*
 * The workspace host against a real database and a real VNC server (Xvnc on a loopback TCP
 * port, reached through the static driver): registration, start, reconcile after a session
 * ends, and the same identity after a restart.
 */

let database: TestDatabase;
let xvnc: TestXvnc;
let vncPort: number;
let stateDir: string;
let workspace: Workspace;

async function hostAt(dir: string): Promise<WorkspaceHost> {
  return startWorkspaceHost({
    db: database.db,
    drivers: { static: createStaticDriver({ stateDir: path.join(dir, "static") }) },
    stateDir: dir,
    capacity: 2,
    name: "test-host",
    reconcileMs: 60_000,
  });
}

async function placedSession(hostId: string) {
  const session = await database.db.sessions.createWithinLimit(
    {
      workspaceId: workspace.id,
      workspaceSlug: workspace.slug,
      workspaceName: workspace.name,
      workspaceKind: workspace.kind,
      userId: "user-1",
      userEmail: "user-1@example.test",
      organizationId: null,
      startedAt: new Date(),
      clientIp: null,
      hostId,
      connectionUrl: null,
      endsAt: null,
      idleEndsAt: null,
    },
    null,
  );
  if (session === null) throw new Error("no session");
  return session;
}

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  stateDir = mkdtempSync(path.join(tmpdir(), "neosc-host-"));
  xvnc = await startXvnc({ tcp: true });
  vncPort = xvnc.port ?? 0;
  workspace = await database.db.workspaces.create({
    slug: "static-desktop",
    name: "Static desktop",
    description: "",
    kind: "desktop",
    image: null,
    url: null,
    driver: "static",
    program: null,
    target: { host: "127.0.0.1", port: vncPort },
    vncPassword: null,
    cpu: 1,
    memoryMb: 1024,
    warm: 0,
    allowedRoles: ["user"],
    organizationId: null,
    enabled: true,
    tags: [],
  });
});

afterAll(async () => {
  await xvnc?.stop();
  await database?.drop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("workspace host", () => {
  it("stores nothing for a session it refuses", async () => {
    const host = await hostAt(stateDir);
    try {
      const session = await placedSession("host-elsewhere");
      await expect(host.start(session.id)).rejects.toThrow();
      expect(await database.db.sessions.findEndpoint(session.id)).toBeNull();
    } finally {
      await host.close();
    }
  });

  it("registers with its capacity and what its drivers can start", async () => {
    const host = await hostAt(stateDir);
    try {
      const stored = await database.db.workspaceHosts.findById(host.id);
      expect(stored).toMatchObject({ name: "test-host", capacity: 2 });
      expect(stored?.capabilities.static).toEqual({ ok: true, missing: [], problem: null });
    } finally {
      await host.close();
    }
  });

  it("starts a session placed on it, serves its endpoint, and stops it once the session ends", async () => {
    const host = await hostAt(stateDir);
    try {
      const session = await placedSession(host.id);
      const records = path.join(stateDir, "static", `${session.id}.json`);
      await host.start(session.id);
      // Stored with the session for any gateway replica; the driver's record holds the rest.
      expect(await database.db.sessions.findEndpoint(session.id)).toEqual({
        protocol: "rfb",
        endpoint: { transport: "tcp", host: "127.0.0.1", port: vncPort },
      });
      expect(existsSync(records)).toBe(true);

      await host.reconcile();
      expect(existsSync(records)).toBe(true);
      await database.db.sessions.end(session.id, { reason: "user_stopped", at: new Date() });
      expect(await database.db.sessions.findEndpoint(session.id)).toBeNull();
      await host.reconcile();
      expect(existsSync(records)).toBe(false);
    } finally {
      await host.close();
    }
  });

  it("refuses sessions that are not active or are placed elsewhere", async () => {
    const host = await hostAt(stateDir);
    try {
      const elsewhere = await placedSession("host-elsewhere");
      await expect(host.start(elsewhere.id)).rejects.toThrow("placed on another host");
      const ended = await placedSession(host.id);
      await database.db.sessions.end(ended.id, { reason: "user_stopped", at: new Date() });
      await expect(host.start(ended.id)).rejects.toThrow("not active");
    } finally {
      await host.close();
    }
  });

  it("is the same host after a restart and still finds its running sessions", async () => {
    const first = await hostAt(stateDir);
    const session = await placedSession(first.id);
    await first.start(session.id);
    await first.close();
    const second = await hostAt(stateDir);
    try {
      expect(second.id).toBe(first.id);
      await second.reconcile();
      expect(existsSync(path.join(stateDir, "static", `${session.id}.json`))).toBe(true);
    } finally {
      await second.close();
    }
  });
});
