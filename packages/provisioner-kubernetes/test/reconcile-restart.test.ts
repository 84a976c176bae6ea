import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eventually } from "@neosc/core/testing/eventually";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { startWorkspaceHost } from "@neosc/host/host";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LABELS, podName, WORKSPACE_NAMESPACE } from "../src/kubernetes-provisioner.ts";
import { adminClients, clusterOrSkip, provisionerFor, workspace } from "./support.ts";

/*
 * The reconciler across a restart of the workspace host (the gateway replica, and with it the
 * provisioner): what changed while it was down — a pod deleted behind its back, a session ended —
 * is put right by the restarted host, from the API server and the database alone.
 */

let database: TestDatabase;
let stateDir: string;
beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  stateDir = mkdtempSync(path.join(tmpdir(), "neosc-k8s-restart-"));
});
afterAll(async () => {
  await database?.drop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("the reconciler with the Kubernetes driver across a host restart", () => {
  it("ends the session whose pod was deleted while the host was down, and deletes the pod of a session that ended", async (context) => {
    const cluster = clusterOrSkip(context);
    const admin = adminClients(cluster);
    const { db } = database;
    const target = workspace();
    const stored = await db.workspaces.create({
      slug: `pod-desktop-${randomUUID().slice(0, 8)}`,
      name: "Pod desktop",
      description: "",
      kind: "desktop",
      image: target.image,
      url: null,
      driver: "kubernetes",
      program: null,
      target: null,
      vncPassword: null,
      cpu: target.cpu,
      memoryMb: target.memoryMb,
      warm: 0,
      allowedRoles: ["user"],
      organizationId: null,
      enabled: true,
      tags: [],
    });
    const startHost = () =>
      startWorkspaceHost({
        db,
        drivers: { kubernetes: provisionerFor(cluster) },
        stateDir,
        name: "restart",
        heartbeatMs: 200,
        reconcileMs: 200,
      });
    const first = await startHost();
    const launch = async () => {
      const session = await db.sessions.createWithinLimit(
        {
          workspaceId: stored.id,
          workspaceSlug: stored.slug,
          workspaceName: stored.name,
          workspaceKind: stored.kind,
          userId: randomUUID(),
          userEmail: "restart@example.test",
          organizationId: null,
          // Not backdated: the start stores the endpoint, which tells the reconciler it finished.
          startedAt: new Date(),
          clientIp: null,
          hostId: first.id,
          connectionUrl: null,
          endsAt: null,
          idleEndsAt: null,
        },
        null,
      );
      if (session === null) throw new Error("no session slot");
      await first.start(session.id);
      return session.id;
    };
    const deletedBehind = await launch();
    const endedMeanwhile = await launch();
    await first.close();

    const pods = async () =>
      (
        await admin.core.listNamespacedPod({
          namespace: WORKSPACE_NAMESPACE,
          labelSelector: `${LABELS.host}=${first.id}`,
        })
      ).items.map((pod) => pod.metadata?.name);
    // The pods outlive the host process.
    expect(await pods()).toEqual(expect.arrayContaining([podName(deletedBehind), podName(endedMeanwhile)]));
    await admin.core.deleteNamespacedPod({
      name: podName(deletedBehind),
      namespace: WORKSPACE_NAMESPACE,
      gracePeriodSeconds: 0,
    });
    await db.sessions.end(endedMeanwhile, { reason: "user_stopped", at: new Date() });

    const second = await startHost();
    try {
      expect(second.id).toBe(first.id);
      await eventually(
        "session of the deleted pod ended",
        async () => {
          const session = await db.sessions.findById(deletedBehind);
          return session?.status === "active" ? undefined : session;
        },
        15_000,
      );
      expect((await db.sessions.findById(deletedBehind))?.endReason).toBe("workspace_exited");
      await eventually(
        "pod of the ended session deleted",
        async () => ((await pods()).includes(podName(endedMeanwhile)) ? undefined : true),
        15_000,
      );
    } finally {
      await second.close();
    }
  });
});
