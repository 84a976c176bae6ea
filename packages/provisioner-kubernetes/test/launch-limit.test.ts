import { randomUUID } from "node:crypto";
import { eventually } from "@neosc/core/testing/eventually";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LABELS, WORKSPACE_NAMESPACE } from "../src/kubernetes-provisioner.ts";
import { adminClients, clusterOrSkip, provisionerFor, workspace } from "./support.ts";

/*
 * Fifty launches at once by one person against a limit of three: the session slots in MongoDB
 * (the same createWithinLimit that workspace.launch uses) admit three, and only those become
 * pods — a refused launch must not leave a pod, and a session must not get two.
 */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
});
afterAll(async () => {
  await database?.drop();
});

describe("parallel launches against a per-person limit", () => {
  it("fifty at once with a limit of three create exactly three pods, and stopping removes them", async (context) => {
    const cluster = clusterOrSkip(context);
    const admin = adminClients(cluster);
    const provisioner = provisionerFor(cluster);
    const userId = randomUUID();
    const target = workspace({ cpu: 0.25, memoryMb: 256 });
    const limit = 3;

    const launch = async () => {
      const session = await database.db.sessions.createWithinLimit(
        {
          workspaceId: target.id,
          workspaceSlug: target.slug,
          workspaceName: target.name,
          workspaceKind: target.kind,
          userId,
          userEmail: "alice@example.com",
          organizationId: null,
          startedAt: new Date(),
          clientIp: "127.0.0.1",
          connectionUrl: null,
          endsAt: null,
          idleEndsAt: null,
        },
        limit,
      );
      if (session === null) return null;
      await provisioner.start({ sessionId: session.id, userId, workspace: target });
      return session.id;
    };
    const outcomes = await Promise.all(Array.from({ length: 50 }, launch));
    const started = outcomes.filter((id): id is string => id !== null);
    expect(started).toHaveLength(limit);

    const pods = await admin.core.listNamespacedPod({
      namespace: WORKSPACE_NAMESPACE,
      labelSelector: `${LABELS.user}=${userId}`,
    });
    expect(pods.items.map((pod) => pod.metadata?.labels?.[LABELS.session]).sort()).toEqual(
      [...started].sort(),
    );

    await Promise.all(started.map((sessionId) => provisioner.stop(sessionId)));
    await eventually("the person's pods gone", async () => {
      const left = await admin.core.listNamespacedPod({
        namespace: WORKSPACE_NAMESPACE,
        labelSelector: `${LABELS.user}=${userId}`,
      });
      return left.items.length === 0 ? true : undefined;
    });
  });
});
