import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ApiException, CoreV1Api, NetworkingV1Api } from "@kubernetes/client-node";
import type { LoginOutput } from "@neosc/core/auth";
import { isRunning } from "@neosc/core/process";
import type { WorkspaceSession } from "@neosc/core/session";
import { eventually } from "@neosc/core/testing/eventually";
import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import type { Provisioner } from "@neosc/provisioner/provisioner";
import {
  KubernetesProvisioner,
  kubeConfigFor,
  LABELS,
  loadKubeConfig,
  podName,
  VNC_PORT,
  WORKSPACE_NAMESPACE,
} from "@neosc/provisioner-kubernetes/kubernetes-provisioner";
import {
  type ClusterAccess,
  startTestCluster,
  writeProvisionerKubeconfig,
} from "@neosc/provisioner-kubernetes/testing/cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, useApi } from "./support/api.ts";
import { bearer, mutation } from "./support/http.ts";

/*
 * Kubernetes workspaces through the real API: the router places the launch on the API's own
 * workspace host, configured for a real control plane (etcd, kube-apiserver, controller-manager,
 * scheduler, kwok nodes; deploy/k8s/workspaces.yaml applied) with NEOSC_KUBERNETES naming a
 * kubeconfig of the shipped neosc-provisioner service account. kwok marks pods running and ready
 * but runs no container: what is checked is what the cluster is asked for and what NeoSC makes
 * of the cluster's answers, not the desktop inside (that is tested with the local driver).
 */

const api = useApi();
const namespace = WORKSPACE_NAMESPACE;
let cluster: ClusterAccess | undefined;
let stopCluster: (() => Promise<void>) | undefined;
let missing = "";
let dataDir: string;
let kubeconfig: string;
let server: RunningServer;
let adminToken: string;
let admin: { core: CoreV1Api; networking: NetworkingV1Api };

/** Armed by a test: runs before a refused start rejects (the refused pod already deleted). */
let beforeRefusal: (() => Promise<void>) | null = null;
/** Resolved whenever the host's list() of pods returns. */
const listWaiters: (() => void)[] = [];

function nextListReturned(): Promise<void> {
  return new Promise((resolve) => listWaiters.push(resolve));
}

/**
 * The shipped driver as NEOSC_KUBERNETES configures it, with one seam the race test needs: a
 * refused start can be held until the host's reconcile has looked at the dead pod.
 */
function hostDriver(): Provisioner {
  const real = new KubernetesProvisioner({ kubeConfig: loadKubeConfig(kubeconfig), readyTimeoutMs: 5000 });
  return {
    start: (spec) =>
      real.start(spec).catch(async (error: unknown) => {
        await beforeRefusal?.();
        throw error;
      }),
    endpoint: (sessionId) => real.endpoint(sessionId),
    stop: (sessionId) => real.stop(sessionId),
    async list() {
      const held = await real.list();
      for (const notify of listWaiters.splice(0)) notify();
      return held;
    },
    health: () => real.health(),
    onExit: (listener) => real.onExit(listener),
    close: () => real.close(),
  };
}

function hostEnv(): Record<string, string> {
  return {
    NEOSC_DATA_DIR: dataDir,
    NEOSC_KUBERNETES: kubeconfig,
    NEOSC_KUBERNETES_READY_TIMEOUT_SECONDS: "5",
    NEOSC_INSPECTOR_PORT: "0",
  };
}

beforeAll(async () => {
  const started = await startTestCluster(3);
  if ("missing" in started) {
    missing = started.missing;
    console.warn(`SKIPPED: ${missing}`);
    return;
  }
  cluster = started.access;
  const { plane } = started;
  stopCluster = async () => {
    await plane.stop();
    // Nothing of the control plane outlives the file.
    const left = [plane.supervisorPid, ...Object.values(plane.pids)].filter(isRunning);
    if (left.length > 0) throw new Error(`control-plane processes still running: ${left.join(", ")}`);
  };
  dataDir = mkdtempSync(path.join(tmpdir(), "neosc-api-k8s-"));
  kubeconfig = await writeProvisionerKubeconfig(cluster, path.join(dataDir, "provisioner.kubeconfig"));
  const config = kubeConfigFor({ server: cluster.server, caData: cluster.caData, token: cluster.adminToken });
  admin = { core: config.makeApiClient(CoreV1Api), networking: config.makeApiClient(NetworkingV1Api) };
  server = await api.start(hostEnv(), { kubernetes: hostDriver() });
  const login = await mutation<LoginOutput>(server.url, "auth.login", {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  adminToken = login.data?.token ?? "";
}, 90 * 60_000);

afterAll(async () => {
  await server?.close();
  await stopCluster?.();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function clusterOrSkip(context: { skip: (note?: string) => never }): ClusterAccess {
  if (cluster === undefined) return context.skip(missing || "control plane did not start");
  return cluster;
}

async function createPerson(): Promise<{ user: User; token: string }> {
  const email = `person-${Math.random().toString(36).slice(2)}@example.test`;
  const created = await mutation<{ user: User; oneTimePassword: string }>(
    server.url,
    "user.create",
    { email, name: "Person", role: "user" },
    { headers: bearer(adminToken) },
  );
  if (created.data === null) throw new Error(`user.create: ${created.error?.message}`);
  const login = await mutation<LoginOutput>(server.url, "auth.login", {
    email,
    password: created.data.oneTimePassword,
  });
  const token = login.data?.token ?? "";
  await mutation(
    server.url,
    "auth.changePassword",
    { currentPassword: created.data.oneTimePassword, newPassword: "person-password-1" },
    { headers: bearer(token) },
  );
  return { user: created.data.user, token };
}

async function createPodWorkspace(overrides: { cpu?: number; memoryMb?: number } = {}): Promise<Workspace> {
  const created = await mutation<Workspace>(
    server.url,
    "workspace.create",
    {
      slug: `pod-desktop-${Math.random().toString(36).slice(2, 8)}`,
      name: "Pod desktop",
      kind: "desktop",
      driver: "kubernetes",
      image: "registry.example/neosc/desktop:1.0",
      cpu: overrides.cpu ?? 1.5,
      memoryMb: overrides.memoryMb ?? 3072,
      allowedRoles: ["user"],
    },
    { headers: bearer(adminToken) },
  );
  if (created.data === null) throw new Error(`workspace.create: ${created.error?.message}`);
  return created.data;
}

async function launch(token: string, workspace: Workspace) {
  return mutation<WorkspaceSession>(
    server.url,
    "workspace.launch",
    { workspaceId: workspace.id },
    { headers: bearer(token) },
  );
}

async function objectsOf(selector: string) {
  const [pods, policies] = await Promise.all([
    admin.core.listNamespacedPod({ namespace, labelSelector: selector }),
    admin.networking.listNamespacedNetworkPolicy({ namespace, labelSelector: selector }),
  ]);
  return { pods: pods.items, policies: policies.items };
}

async function sessionOf(id: string) {
  return api.database.db.sessions.findById(id);
}

async function untilGone(sessionId: string): Promise<void> {
  await eventually(
    `pod of ${sessionId} deleted`,
    async () => ((await objectsOf(`${LABELS.session}=${sessionId}`)).pods.length === 0 ? true : undefined),
    15_000,
  );
}

describe("Kubernetes workspaces through the API's workspace host", { timeout: 120_000 }, () => {
  it("registers the kubernetes capability and lists a pod workspace as available", async (context) => {
    clusterOrSkip(context);
    const hosts = await api.database.db.workspaceHosts.list();
    expect(hosts).toHaveLength(1);
    expect(hosts[0]?.capabilities.kubernetes).toEqual({ ok: true, missing: [], problem: null });
    const workspace = await createPodWorkspace();
    const person = await createPerson();
    const listed = await fetch(
      `${server.url}/trpc/workspace.list?input=${encodeURIComponent(JSON.stringify({ json: { launchable: true } }))}`,
      { headers: bearer(person.token) },
    );
    const body = (await listed.json()) as {
      result: { data: { json: { id: string; availability: { available: boolean } }[] } };
    };
    expect(body.result.data.json.find((entry) => entry.id === workspace.id)?.availability.available).toBe(
      true,
    );
  });

  it("a launch creates exactly one pod and one policy for the session, and stores the pod's VNC address", async (context) => {
    clusterOrSkip(context);
    const workspace = await createPodWorkspace();
    const person = await createPerson();
    const hostId = (await api.database.db.workspaceHosts.list())[0]?.id;

    const launched = await launch(person.token, workspace);
    expect(launched.error).toBeNull();
    const session = launched.data as WorkspaceSession;
    expect(session.hostId).toBe(hostId);

    const { pods, policies } = await objectsOf(`${LABELS.session}=${session.id}`);
    expect(pods.map((pod) => pod.metadata?.name)).toEqual([podName(session.id)]);
    expect(policies.map((policy) => policy.metadata?.name)).toEqual([podName(session.id)]);
    const pod = pods[0];
    expect(pod?.metadata?.labels).toEqual({
      [LABELS.name]: "workspace",
      [LABELS.managedBy]: "neosc",
      [LABELS.session]: session.id,
      [LABELS.user]: person.user.id,
      [LABELS.workspace]: workspace.id,
      [LABELS.host]: hostId,
    });
    expect(pod?.spec?.containers.map((container) => [container.image, container.resources])).toEqual([
      [
        "registry.example/neosc/desktop:1.0",
        { requests: { cpu: "1500m", memory: "3Gi" }, limits: { cpu: "1500m", memory: "3Gi" } },
      ],
    ]);
    expect(policies[0]?.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "Pod",
      uid: pod?.metadata?.uid,
    });
    expect(policies[0]?.spec?.ingress).toEqual([
      {
        _from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "neosc" } },
            podSelector: { matchLabels: { [LABELS.name]: "gateway" } },
          },
        ],
        ports: [{ protocol: "TCP", port: VNC_PORT }],
      },
    ]);
    // What every gateway replica reads to relay the viewer: the pod's address and VNC port.
    expect(await api.database.db.sessions.findEndpoint(session.id)).toEqual({
      protocol: "rfb",
      endpoint: { transport: "tcp", host: pod?.status?.podIP, port: VNC_PORT },
    });

    // Stop ends the session; the host's reconciler deletes the pod (and its policy with it).
    const stopped = await mutation(
      server.url,
      "workspace.stop",
      { workspaceId: workspace.id },
      { headers: bearer(person.token) },
    );
    expect(stopped.status).toBe(200);
    await untilGone(session.id);
    await eventually(
      "policy gone",
      async () =>
        (await objectsOf(`${LABELS.session}=${session.id}`)).policies.length === 0 ? true : undefined,
      15_000,
    );
  });

  it("a pod deleted behind NeoSC's back ends its session with workspace_exited, audited", async (context) => {
    clusterOrSkip(context);
    const workspace = await createPodWorkspace();
    const person = await createPerson();
    const session = (await launch(person.token, workspace)).data as WorkspaceSession;

    await admin.core.deleteNamespacedPod({ name: podName(session.id), namespace, gracePeriodSeconds: 0 });

    // The pod watch reports it at once; the 2 s reconcile is the backstop.
    const ended = await eventually(
      "session ended",
      async () => {
        const found = await sessionOf(session.id);
        return found?.status === "ended" ? found : undefined;
      },
      10_000,
    );
    expect(ended.endReason).toBe("workspace_exited");
    // The end is audited right after the session is written (by the same call): wait for it too.
    const audited = await eventually(
      "end audited",
      async () =>
        (await api.database.db.audit.list({ action: "session.end", limit: 20 })).items.find(
          (entry) => entry.resource.id === session.id,
        ),
      10_000,
    );
    expect(audited).toMatchObject({ reason: "workspace_exited", actor: { id: "system" } });
  });

  it("refuses a launch whose pod is not ready in time with launch_failed and the scheduler's words, leaving no pod", async (context) => {
    clusterOrSkip(context);
    // The kwok nodes have 32 cores each: nothing can place 48.
    const workspace = await createPodWorkspace({ cpu: 48 });
    const person = await createPerson();
    const selector = `${LABELS.user}=${person.user.id}`;
    // The race this checks: the refusal deletes its pod, and the host's reconcile (or the pod
    // watch) sees a dead pod of an active session before the launch ends it. A finalizer keeps the
    // deleted pod listed, and the refusal waits until two reconcile rounds have listed it, so the
    // reconcile always sees it first; only the host's "a start under way answers for itself"
    // keeps it from ending the session workspace_exited.
    const HOLD = "neosc.io/test-hold";
    const held = (async () => {
      const pod = await eventually("the pending pod", async () => (await objectsOf(selector)).pods[0], 5_000);
      const name = pod.metadata?.name ?? "";
      const current = await admin.core.readNamespacedPod({ name, namespace });
      current.metadata = { ...current.metadata, finalizers: [HOLD] };
      await admin.core.replaceNamespacedPod({ name, namespace, body: current });
      return name;
    })();
    let sawDeadPod = false;
    beforeRefusal = async () => {
      // The first list to return may have started before the pod was deleted; the next two did not.
      for (let round = 0; round < 3; round++) await nextListReturned();
      const pod = await admin.core.readNamespacedPod({ name: await held, namespace });
      sawDeadPod = Boolean(pod.metadata?.deletionTimestamp);
    };
    let refused: Awaited<ReturnType<typeof launch>>;
    try {
      refused = await launch(person.token, workspace);
    } finally {
      beforeRefusal = null;
      const name = await held;
      const pod = await admin.core.readNamespacedPod({ name, namespace });
      pod.metadata = { ...pod.metadata, finalizers: [] };
      await admin.core.replaceNamespacedPod({ name, namespace, body: pod });
    }
    expect(sawDeadPod).toBe(true);
    expect(refused.status).toBe(503);
    expect(refused.error?.data.domain?.reason).toBe("launch_failed");
    expect(refused.error?.message).toMatch(
      /^The workspace did not start: workspace pod ws-\S+ was not ready within 5 s \(Unschedulable: .*Insufficient cpu/,
    );
    const [ended] = await api.database.db.sessions.listActive({ userId: person.user.id });
    expect(ended).toBeUndefined();
    const history = await api.database.db.sessions.list({ userId: person.user.id, limit: 5 });
    // Its own end, not the reconcile's workspace_exited for the pod the refusal deleted.
    expect(history.items.map((item) => [item.status, item.endReason])).toEqual([["ended", "launch_failed"]]);
    await eventually(
      "the refused pod gone",
      async () => ((await objectsOf(selector)).pods.length === 0 ? true : undefined),
      15_000,
    );
  });

  it("fifty parallel launches against a limit of three create exactly three pods; stopping removes them", async (context) => {
    clusterOrSkip(context);
    const workspace = await createPodWorkspace({ cpu: 0.25, memoryMb: 256 });
    const person = await createPerson();
    const { db } = api.database;
    await db.policies.setSettings("max-concurrent-sessions", { limit: 3 }, null);
    await db.policies.setEnabled("max-concurrent-sessions", true, null);
    try {
      const answers = await Promise.all(Array.from({ length: 50 }, () => launch(person.token, workspace)));
      const started = answers.flatMap((answer) => (answer.data === null ? [] : [answer.data.id]));
      expect(started).toHaveLength(3);
      expect(
        answers
          .filter((answer) => answer.data === null)
          .map((answer) => answer.error?.data.domain?.reason)
          .every((reason) => reason === "max_concurrent_sessions"),
      ).toBe(true);
      const { pods } = await objectsOf(`${LABELS.user}=${person.user.id}`);
      expect(pods.map((pod) => pod.metadata?.labels?.[LABELS.session]).sort()).toEqual([...started].sort());

      await mutation(
        server.url,
        "workspace.stop",
        { workspaceId: workspace.id },
        { headers: bearer(person.token) },
      );
      await eventually(
        "the person's pods gone",
        async () =>
          (await objectsOf(`${LABELS.user}=${person.user.id}`)).pods.length === 0 ? true : undefined,
        20_000,
      );
    } finally {
      await db.policies.setEnabled("max-concurrent-sessions", false, null);
    }
  });

  it("after an API restart: deletes the pod of a session that ended meanwhile, ends the session whose pod vanished", async (context) => {
    clusterOrSkip(context);
    const workspace = await createPodWorkspace();
    const person = await createPerson();
    const ending = (await launch(person.token, workspace)).data as WorkspaceSession;
    const vanishing = (await launch(person.token, workspace)).data as WorkspaceSession;
    const hostId = ending.hostId;

    await server.close();
    // While no host runs: an end decided elsewhere (another replica, the sweeper), and a pod
    // removed by someone else (a node drained, an operator).
    await api.database.db.sessions.end(ending.id, { reason: "admin_disconnected", at: new Date() });
    await admin.core.deleteNamespacedPod({ name: podName(vanishing.id), namespace, gracePeriodSeconds: 0 });
    expect((await objectsOf(`${LABELS.session}=${ending.id}`)).pods).toHaveLength(1);

    server = await api.start(hostEnv(), { kubernetes: hostDriver() });
    expect((await api.database.db.workspaceHosts.list()).map((host) => host.id)).toEqual([hostId]);
    await untilGone(ending.id);
    const ended = await eventually(
      "vanished pod's session ended",
      async () => {
        const found = await sessionOf(vanishing.id);
        return found?.status === "ended" ? found : undefined;
      },
      15_000,
    );
    expect(ended.endReason).toBe("workspace_exited");
    const login = await mutation<LoginOutput>(server.url, "auth.login", {
      email: ADMIN_EMAIL,
      password: ADMIN_PASSWORD,
    });
    adminToken = login.data?.token ?? "";
  });

  it("leaves the running pod of another host's session alone, and deletes it once that session ended", async (context) => {
    const access = clusterOrSkip(context);
    const workspace = await createPodWorkspace();
    const person = await createPerson();
    const { db } = api.database;
    // Another gateway replica's host on the same namespace: its session and its pod.
    const other = await db.sessions.createWithinLimit(
      {
        workspaceId: workspace.id,
        workspaceSlug: workspace.slug,
        workspaceName: workspace.name,
        workspaceKind: workspace.kind,
        userId: person.user.id,
        userEmail: "person@example.test",
        organizationId: null,
        startedAt: new Date(),
        clientIp: null,
        hostId: "host-other-replica",
        connectionUrl: null,
        endsAt: null,
        idleEndsAt: null,
      },
      null,
    );
    if (other === null) throw new Error("no session");
    const otherHost = new KubernetesProvisioner({
      kubeConfig: kubeConfigFor({
        server: access.server,
        caData: access.caData,
        token: access.provisionerToken,
      }),
    });
    await otherHost.start({
      sessionId: other.id,
      userId: person.user.id,
      workspace,
      hostId: "host-other-replica",
    });

    // Several reconcile rounds of this API's host (every 2 s).
    await delay(6000);
    expect((await objectsOf(`${LABELS.session}=${other.id}`)).pods).toHaveLength(1);
    expect((await sessionOf(other.id))?.status).toBe("active");

    await db.sessions.end(other.id, { reason: "host_lost", at: new Date() });
    await untilGone(other.id);
  });

  it("runs as a service account that cannot read Secrets in the workspace namespace or anything in neosc", async (context) => {
    const access = clusterOrSkip(context);
    const asProvisioner = kubeConfigFor({
      server: access.server,
      caData: access.caData,
      token: access.provisionerToken,
    }).makeApiClient(CoreV1Api);
    const status = (promise: Promise<unknown>) =>
      promise.then(
        () => 200,
        (error: unknown) => (error instanceof ApiException ? error.code : -1),
      );
    expect(await status(asProvisioner.listNamespacedSecret({ namespace }))).toBe(403);
    expect(await status(asProvisioner.listNamespacedSecret({ namespace: "neosc" }))).toBe(403);
    expect(await status(asProvisioner.listNamespacedPod({ namespace: "neosc" }))).toBe(403);
  });
});
