import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { eventually } from "@neosc/core/testing/eventually";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { startWorkspaceHost } from "@neosc/host/host";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KubernetesProvisioner, kubeConfigFor, WORKSPACE_NAMESPACE } from "../src/kubernetes-provisioner.ts";
import { clusterOrSkip } from "./support.ts";

/*
 * A workspace host with the Kubernetes driver announces what the API server lets it do, and
 * asks again while something fails: an RBAC binding applied after the host started makes the
 * capability healthy without a restart.
 */

let database: TestDatabase;
let stateDir: string;
beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  stateDir = mkdtempSync(path.join(tmpdir(), "neosc-k8s-host-"));
});
afterAll(async () => {
  await database?.drop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("a workspace host with the Kubernetes driver", () => {
  it("announces the missing permissions, then the capability once they are granted", async (context) => {
    const cluster = clusterOrSkip(context);
    const admin = kubeConfigFor({
      server: cluster.server,
      caData: cluster.caData,
      token: cluster.adminToken,
    });
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const name = `late-provisioner-${Date.now()}`;
    await core.createNamespacedServiceAccount({ namespace: "neosc", body: { metadata: { name } } });
    const token = await core.createNamespacedServiceAccountToken({
      name,
      namespace: "neosc",
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const host = await startWorkspaceHost({
      db: database.db,
      drivers: {
        kubernetes: new KubernetesProvisioner({
          kubeConfig: kubeConfigFor({
            server: cluster.server,
            caData: cluster.caData,
            token: token.status?.token ?? "",
          }),
        }),
      },
      stateDir,
      heartbeatMs: 100,
      reconcileMs: 60_000,
    });
    try {
      const announced = async () => (await database.db.workspaceHosts.findById(host.id))?.capabilities;
      expect((await announced())?.kubernetes).toEqual({
        ok: false,
        missing: [],
        problem: expect.stringMatching(/^not allowed to create pods, .* in neosc-workspaces$/),
      });

      await rbac.createNamespacedRoleBinding({
        namespace: WORKSPACE_NAMESPACE,
        body: {
          metadata: { name },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "neosc-provisioner" },
          subjects: [{ kind: "ServiceAccount", name, namespace: "neosc" }],
        },
      });
      await eventually(
        "capability healthy",
        async () => ((await announced())?.kubernetes?.ok ? true : undefined),
        15_000,
      );
      expect((await announced())?.kubernetes).toEqual({ ok: true, missing: [], problem: null });
    } finally {
      await host.close();
    }
  });
});
