import { randomUUID } from "node:crypto";
import { get } from "node:https";
import { setTimeout as delay } from "node:timers/promises";
import { ApiException, CoreV1Api } from "@kubernetes/client-node";
import { eventually } from "@neosc/core/testing/eventually";
import { describe, expect, it } from "vitest";
import {
  KubernetesProvisioner,
  kubeConfigFor,
  LABELS,
  podName,
  VNC_PORT,
  WORKSPACE_NAMESPACE,
  WorkspaceStartError,
} from "../src/kubernetes-provisioner.ts";
import { adminClients, clusterOrSkip, provisionerFor, workspace } from "./support.ts";

const namespace = WORKSPACE_NAMESPACE;

async function sessionObjects(admin: ReturnType<typeof adminClients>, sessionId: string) {
  const labelSelector = `${LABELS.session}=${sessionId}`;
  const [pods, policies] = await Promise.all([
    admin.core.listNamespacedPod({ namespace, labelSelector }),
    admin.networking.listNamespacedNetworkPolicy({ namespace, labelSelector }),
  ]);
  return { pods: pods.items, policies: policies.items };
}

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

describe("Kubernetes provisioner on a real API server", () => {
  it("launch creates exactly one pod and one policy for the session, with the catalogue's image, CPU and memory", async (context) => {
    const cluster = clusterOrSkip(context);
    const admin = adminClients(cluster);
    const provisioner = provisionerFor(cluster);
    const sessionId = randomUUID();
    const userId = randomUUID();
    const target = workspace({ cpu: 1.5, memoryMb: 3072, image: "registry.example/neosc/desktop:1.0" });

    const endpoint = await provisioner.start({ sessionId, userId, workspace: target, hostId: "host-a" });

    const { pods, policies } = await sessionObjects(admin, sessionId);
    expect(pods).toHaveLength(1);
    expect(policies).toHaveLength(1);
    const [pod] = pods;
    const [policy] = policies;
    expect(pod?.metadata?.name).toBe(podName(sessionId));
    expect(pod?.metadata?.labels).toEqual({
      [LABELS.name]: "workspace",
      [LABELS.managedBy]: "neosc",
      [LABELS.session]: sessionId,
      [LABELS.user]: userId,
      [LABELS.workspace]: target.id,
      [LABELS.host]: "host-a",
    });
    expect(await provisioner.list()).toContainEqual({ sessionId, alive: true, hostId: "host-a" });
    const container = pod?.spec?.containers[0];
    expect(pod?.spec?.containers).toHaveLength(1);
    expect(container?.image).toBe("registry.example/neosc/desktop:1.0");
    expect(container?.resources).toEqual({
      requests: { cpu: "1500m", memory: "3Gi" },
      limits: { cpu: "1500m", memory: "3Gi" },
    });
    expect(pod?.spec?.automountServiceAccountToken).toBe(false);
    expect(pod?.spec?.restartPolicy).toBe("Never");
    expect(cluster.nodeNames).toContain(pod?.spec?.nodeName);

    // Only the gateway, from neosc, on the VNC port; the pod owns the policy.
    expect(policy?.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        apiVersion: "v1",
        kind: "Pod",
        name: podName(sessionId),
        uid: pod?.metadata?.uid,
      }),
    ]);
    expect(policy?.spec).toEqual({
      podSelector: { matchLabels: { [LABELS.session]: sessionId } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          _from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "neosc" } },
              podSelector: { matchLabels: { [LABELS.name]: "gateway" } },
            },
          ],
          ports: [{ protocol: "TCP", port: VNC_PORT }],
        },
      ],
    });

    expect(endpoint).toEqual({
      protocol: "rfb",
      endpoint: { transport: "tcp", host: pod?.status?.podIP, port: VNC_PORT },
    });
    expect(endpoint.endpoint.transport === "tcp" && endpoint.endpoint.host).toMatch(/^10\.244\./);
    expect(await provisioner.endpoint(sessionId)).toEqual(endpoint);

    // Idempotent by session id: a second start finds the same pod.
    expect(await provisioner.start({ sessionId, userId, workspace: target })).toEqual(endpoint);
    expect((await sessionObjects(admin, sessionId)).pods).toHaveLength(1);

    await provisioner.stop(sessionId);
  });

  it("stop removes the pod and its policy, and is idempotent", async (context) => {
    const cluster = clusterOrSkip(context);
    const admin = adminClients(cluster);
    const provisioner = provisionerFor(cluster);
    const sessionId = randomUUID();
    await provisioner.start({ sessionId, userId: randomUUID(), workspace: workspace() });

    await provisioner.stop(sessionId);
    await provisioner.stop(sessionId);

    expect(await provisioner.endpoint(sessionId)).toBeNull();
    await eventually("pod gone", async () => {
      const { pods, policies } = await sessionObjects(admin, sessionId);
      return pods.length === 0 && policies.length === 0 ? true : undefined;
    });
    expect((await provisioner.list()).map((entry) => entry.sessionId)).not.toContain(sessionId);
  });

  it("refuses a launch whose pod cannot be scheduled, with the scheduler's reason, and leaves nothing behind", async (context) => {
    const cluster = clusterOrSkip(context);
    const admin = adminClients(cluster);
    const provisioner = provisionerFor(cluster, { readyTimeoutMs: 4000 });
    const sessionId = randomUUID();
    // The kwok nodes have 32 cores each.
    const start = provisioner.start({ sessionId, userId: randomUUID(), workspace: workspace({ cpu: 48 }) });

    const refusal = await start.then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(WorkspaceStartError);
    expect((refusal as WorkspaceStartError).reason).toBe("not_ready");
    expect((refusal as WorkspaceStartError).message).toMatch(
      /not ready within 4 s \(Unschedulable: .*Insufficient cpu/,
    );
    await eventually("refused pod removed", async () =>
      (await sessionObjects(admin, sessionId)).pods.length === 0 ? true : undefined,
    );
  });

  it("ten starting sessions share the provisioner's one pod watch (counted by the API server)", async (context) => {
    const cluster = clusterOrSkip(context);
    const openWatches = async () => {
      const text = await new Promise<string>((resolve, reject) => {
        get(
          `${cluster.server}/metrics`,
          { ca: cluster.caData, headers: { authorization: `Bearer ${cluster.adminToken}` } },
          (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => {
              body += chunk;
            });
            response.on("end", () => resolve(body));
          },
        ).on("error", reject);
      });
      const line = text
        .split("\n")
        .find(
          (text) =>
            text.startsWith("apiserver_longrunning_requests{") &&
            text.includes('resource="pods"') &&
            text.includes('scope="namespace"') &&
            text.includes('verb="WATCH"'),
        );
      return line === undefined ? 0 : Number(line.split(" ").at(-1));
    };
    const before = await openWatches();
    // Unschedulable (the kwok nodes have 32 cores), so all ten wait on their pod for the whole deadline.
    const provisioner = provisionerFor(cluster, { readyTimeoutMs: 6000 });
    try {
      const starts = Array.from({ length: 10 }, () =>
        provisioner
          .start({ sessionId: randomUUID(), userId: randomUUID(), workspace: workspace({ cpu: 48 }) })
          .then(
            () => null,
            (error: unknown) => error,
          ),
      );
      await delay(3000);
      expect((await openWatches()) - before).toBe(1);
      expect(provisioner.watchesOpened).toBe(1);
      const refusals = await Promise.all(starts);
      expect(refusals.map((error) => (error as WorkspaceStartError).reason)).toEqual(
        Array(10).fill("not_ready"),
      );
    } finally {
      await provisioner.close();
    }
  });

  it("refuses a workspace without an image before touching the cluster", async (context) => {
    const cluster = clusterOrSkip(context);
    const provisioner = provisionerFor(cluster);
    const refusal = await provisioner
      .start({
        sessionId: randomUUID(),
        userId: randomUUID(),
        workspace: workspace({ kind: "web", image: null }),
      })
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(WorkspaceStartError);
    expect((refusal as WorkspaceStartError).reason).toBe("no_image");
  });

  it("sees a pod deleted behind its back, and the garbage collector removes the pod's policy", async (context) => {
    const cluster = clusterOrSkip(context);
    const admin = adminClients(cluster);
    const provisioner = provisionerFor(cluster);
    const sessionId = randomUUID();
    await provisioner.start({ sessionId, userId: randomUUID(), workspace: workspace() });
    expect(await provisioner.list()).toContainEqual({ sessionId, alive: true });

    await admin.core.deleteNamespacedPod({ name: podName(sessionId), namespace, gracePeriodSeconds: 0 });

    await eventually("session gone from list()", async () =>
      (await provisioner.list()).some((entry) => entry.sessionId === sessionId && entry.alive)
        ? undefined
        : true,
    );
    expect(await provisioner.endpoint(sessionId)).toBeNull();
    // The owner reference: kube-controller-manager's garbage collector deletes the orphaned policy.
    await eventually("policy collected with its pod", async () =>
      (await sessionObjects(admin, sessionId)).policies.length === 0 ? true : undefined,
    );
  });

  it("tells its listener at once when a session's pod is deleted behind its back, until closed", async (context) => {
    const cluster = clusterOrSkip(context);
    const admin = adminClients(cluster);
    const provisioner = provisionerFor(cluster);
    const exited: string[] = [];
    provisioner.onExit((sessionId) => exited.push(sessionId));
    try {
      const sessionId = randomUUID();
      await provisioner.start({ sessionId, userId: randomUUID(), workspace: workspace() });
      await delay(500);
      expect(exited).not.toContain(sessionId);
      await admin.core.deleteNamespacedPod({ name: podName(sessionId), namespace, gracePeriodSeconds: 0 });
      await eventually("exit reported", async () => (exited.includes(sessionId) ? true : undefined), 10_000);
    } finally {
      await provisioner.close();
    }
    const after = randomUUID();
    const other = provisionerFor(cluster);
    await other.start({ sessionId: after, userId: randomUUID(), workspace: workspace() });
    await other.stop(after);
    await delay(1000);
    expect(exited).not.toContain(after);
  });

  it("runs with a service account that can read no Secrets and touch nothing outside the workspace namespace", async (context) => {
    const cluster = clusterOrSkip(context);
    const admin = adminClients(cluster);
    await admin.core
      .createNamespacedSecret({
        namespace,
        body: { metadata: { name: "someones-secret" }, stringData: { password: "hunter2" } },
      })
      .catch((error: unknown) => {
        if (!(error instanceof ApiException && error.code === 409)) throw error;
      });
    const asProvisioner = kubeConfigFor({
      server: cluster.server,
      caData: cluster.caData,
      token: cluster.provisionerToken,
    }).makeApiClient(CoreV1Api);

    expect(await status(asProvisioner.readNamespacedSecret({ name: "someones-secret", namespace }))).toBe(
      403,
    );
    expect(await status(asProvisioner.listNamespacedSecret({ namespace }))).toBe(403);
    expect(await status(asProvisioner.listNamespacedSecret({ namespace: "neosc" }))).toBe(403);
    expect(await status(asProvisioner.listNamespacedPod({ namespace: "neosc" }))).toBe(403);
    expect(await status(asProvisioner.listNamespacedPod({ namespace }))).toBe(200);

    expect(await provisionerFor(cluster).health()).toEqual({ ok: true, missing: [] });
  });

  it("health names the permissions an identity lacks", async (context) => {
    const cluster = clusterOrSkip(context);
    const admin = adminClients(cluster);
    // neosc's default service account: bound to nothing.
    const token = await admin.core.createNamespacedServiceAccountToken({
      name: "default",
      namespace: "neosc",
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const provisioner = new KubernetesProvisioner({
      kubeConfig: kubeConfigFor({
        server: cluster.server,
        caData: cluster.caData,
        token: token.status?.token ?? "",
      }),
    });
    expect(await provisioner.health()).toEqual({
      ok: false,
      missing: [],
      problem: `not allowed to create pods, watch pods, delete pods, create networkpolicies, delete networkpolicies in ${namespace}`,
    });
  });
});
