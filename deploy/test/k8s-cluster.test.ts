import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { eventually } from "@neosc/core/testing/eventually";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { ControlPlane } from "../src/control-plane.ts";
import { useControlPlane } from "./control-plane-support.ts";
import { WORKSPACE_NAMESPACE } from "./k8s.ts";

/*
 * deploy/k8s on a real control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok
 * nodes): the API server validates and admits every object (RBAC, Pod Security "restricted"), the
 * controllers create and roll pods, the scheduler places them, kwok marks them running and ready.
 * No container runs, so probes, images and traffic are not exercised here.
 */

const K8S = fileURLToPath(new URL("../k8s/", import.meta.url));
const SECRETS = fileURLToPath(new URL("../k8s/secrets.example.yaml", import.meta.url));
const PROVISIONER = "system:serviceaccount:neosc:neosc-provisioner";

const cluster = useControlPlane({ nodes: 3 });

interface Item {
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec?: Record<string, unknown> & { nodeName?: string; replicas?: number };
  status?: Record<string, unknown>;
}

async function get<T = Item>(plane: ControlPlane, path: string): Promise<T> {
  const response = await plane.api("GET", path);
  if (response.status !== 200)
    throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as T;
}

async function list(plane: ControlPlane, path: string): Promise<Item[]> {
  return (await get<{ items: Item[] }>(plane, path)).items;
}

async function kubectl(plane: ControlPlane, args: string[], input?: string): Promise<string> {
  const result = await plane.kubectl(args, { input, timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

let applied: { stdout: string; stderr: string } | undefined;

/** Applies deploy/k8s once per run (the first test that needs it), plus the Secret templates filled in. */
async function deployed(plane: ControlPlane): Promise<{ stdout: string; stderr: string }> {
  if (applied) return applied;
  const result = await plane.kubectl(["apply", "-k", K8S], { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`kubectl apply -k deploy/k8s: ${result.stderr}`);
  // The templates with every value filled, as an operator would (the pods read them by name).
  const secrets = parseAllDocuments(
    await import("node:fs/promises").then((fs) => fs.readFile(SECRETS, "utf8")),
  )
    .map((document) => document.toJS() as { stringData?: Record<string, string> })
    .map((secret) => ({
      ...secret,
      stringData: Object.fromEntries(Object.keys(secret.stringData ?? {}).map((key) => [key, "test-value"])),
    }));
  await kubectl(
    plane,
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: secrets }),
  );
  // No storage provisioner here: volumes an operator's storage class would create, for the
  // StatefulSets' claims (bound by the real persistent-volume controller).
  for (let index = 0; index < 6; index++) {
    const created = await plane.api("POST", "/api/v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `test-volume-${index}` },
      spec: {
        capacity: { storage: "100Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Delete",
        hostPath: { path: `/tmp/neosc-test-volume-${index}` },
      },
    });
    expect(created.status).toBe(201);
  }
  // And one shared volume, as an NFS or CephFS class would give the recordings claim.
  const shared = await plane.api("POST", "/api/v1/persistentvolumes", {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "test-shared-volume" },
    spec: {
      capacity: { storage: "500Gi" },
      accessModes: ["ReadWriteMany"],
      persistentVolumeReclaimPolicy: "Delete",
      hostPath: { path: "/tmp/neosc-test-shared-volume" },
    },
  });
  expect(shared.status).toBe(201);
  applied = { stdout: result.stdout, stderr: result.stderr };
  return applied;
}

async function delayThenFail(ms: number, message: string): Promise<never> {
  await delay(ms);
  throw new Error(message);
}

function deploymentReady(deployment: Item): boolean {
  const status = deployment.status as
    | { observedGeneration?: number; availableReplicas?: number; updatedReplicas?: number; replicas?: number }
    | undefined;
  const want = deployment.spec?.replicas ?? 1;
  return (
    status?.availableReplicas === want &&
    status.updatedReplicas === want &&
    status.replicas === want &&
    (status.observedGeneration ?? 0) >= ((deployment.metadata as { generation?: number }).generation ?? 0)
  );
}

function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] },
  labels: Record<string, string>,
): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (
    (selector.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]
  ).every((expression) => {
    const value = labels[expression.key];
    if (expression.operator === "In") return value !== undefined && (expression.values ?? []).includes(value);
    if (expression.operator === "NotIn")
      return value === undefined || !(expression.values ?? []).includes(value);
    if (expression.operator === "Exists") return value !== undefined;
    if (expression.operator === "DoesNotExist") return value === undefined;
    return false;
  });
  return byLabels && byExpressions;
}

describe("deploy/k8s on a real control plane", { timeout: 180_000 }, () => {
  it("kubectl apply -k deploy/k8s creates every object without a warning", async (context) => {
    const plane = cluster.get(context);
    const started = Date.now();
    const { stdout, stderr } = await deployed(plane);
    const rendered = await kubectl(plane, ["kustomize", K8S]);
    const objects = parseAllDocuments(rendered).length;
    const created = stdout.split("\n").filter((line) => / (created|configured|unchanged)$/.test(line));
    expect(created).toHaveLength(objects);
    // A pod template that breaks the namespaces' "restricted" Pod Security level shows up here.
    expect(stderr).toBe("");
    console.log(`apply -k: ${objects} objects in ${Date.now() - started} ms`);
  });

  it("runs the API, portal, Pomerium and gateway Deployments at their replica counts on kwok nodes", async (context) => {
    const plane = cluster.get(context);
    await deployed(plane);
    const deployments = await list(plane, "/apis/apps/v1/namespaces/neosc/deployments");
    const names = deployments.map((deployment) => deployment.metadata.name);
    expect(names).toEqual(expect.arrayContaining(["api", "portal", "pomerium"]));
    // The gateway Deployment (issue 11) is checked as soon as the manifests carry it.
    const expected = ["api", "portal", "pomerium", ...(names.includes("gateway") ? ["gateway"] : [])];
    const started = Date.now();
    for (const name of expected) {
      await eventually(
        `deployment ${name} ready`,
        async () => {
          const deployment = await get(plane, `/apis/apps/v1/namespaces/neosc/deployments/${name}`);
          return deploymentReady(deployment) ? true : undefined;
        },
        60_000,
      );
    }
    console.log(`deployments ${expected.join(", ")} ready ${Date.now() - started} ms after apply`);
    const pods = await list(plane, "/api/v1/namespaces/neosc/pods");
    for (const name of expected) {
      const deployment = deployments.find((candidate) => candidate.metadata.name === name);
      const own = pods.filter((pod) => pod.metadata.labels?.["app.kubernetes.io/name"] === name);
      expect(own, name).toHaveLength(deployment?.spec?.replicas ?? -1);
      for (const pod of own) expect(plane.nodeNames, pod.metadata.name).toContain(pod.spec?.nodeName);
    }
    // The API's replicas are spread over the nodes (topologySpreadConstraints, maxSkew 1).
    const apiNodes = new Set(
      pods
        .filter((pod) => pod.metadata.labels?.["app.kubernetes.io/name"] === "api")
        .map((pod) => pod.spec?.nodeName),
    );
    expect(apiNodes.size).toBe(3);
  });

  it("binds the recordings claim ReadWriteMany and mounts it in every gateway and API replica, across nodes", async (context) => {
    const plane = cluster.get(context);
    await deployed(plane);
    const claim = await eventually(
      "recordings claim bound",
      async () => {
        const found = await get(plane, "/api/v1/namespaces/neosc/persistentvolumeclaims/recordings");
        return (found.status as { phase?: string } | undefined)?.phase === "Bound" ? found : undefined;
      },
      60_000,
    );
    expect((claim.status as { accessModes?: string[] }).accessModes).toEqual(["ReadWriteMany"]);
    for (const name of ["gateway", "api"]) {
      await eventually(
        `deployment ${name} ready`,
        async () => {
          const deployment = await get(plane, `/apis/apps/v1/namespaces/neosc/deployments/${name}`);
          return deploymentReady(deployment) ? true : undefined;
        },
        60_000,
      );
    }
    const pods = (await list(plane, "/api/v1/namespaces/neosc/pods")).filter((pod) =>
      ["gateway", "api"].includes(pod.metadata.labels?.["app.kubernetes.io/name"] ?? ""),
    );
    expect(pods.length).toBe(5);
    for (const pod of pods) {
      const volumes = (pod.spec?.volumes ?? []) as { persistentVolumeClaim?: { claimName: string } }[];
      expect(
        volumes.some((volume) => volume.persistentVolumeClaim?.claimName === "recordings"),
        pod.metadata.name,
      ).toBe(true);
    }
    // One volume on several nodes at once: what ReadWriteOnce would not allow.
    expect(new Set(pods.map((pod) => pod.spec?.nodeName)).size).toBeGreaterThan(1);
  });

  it("runs the MongoDB and postgres StatefulSets once volumes exist", async (context) => {
    const plane = cluster.get(context);
    await deployed(plane);
    for (const name of ["mongo", "postgres"]) {
      await eventually(
        `statefulset ${name} ready`,
        async () => {
          const set = await get(plane, `/apis/apps/v1/namespaces/neosc/statefulsets/${name}`);
          const status = set.status as { readyReplicas?: number } | undefined;
          return status?.readyReplicas === set.spec?.replicas ? true : undefined;
        },
        60_000,
      );
    }
  });

  it("has the PodDisruptionBudgets computed by the disruption controller, and enforced on eviction", async (context) => {
    const plane = cluster.get(context);
    await deployed(plane);
    const budgets = await eventually(
      "PDB status for api",
      async () => {
        const found = await list(plane, "/apis/policy/v1/namespaces/neosc/poddisruptionbudgets");
        const api = found.find((budget) => budget.metadata.name === "api");
        const status = api?.status as { expectedPods?: number; disruptionsAllowed?: number } | undefined;
        return status?.expectedPods === 3 && status.disruptionsAllowed === 1 ? found : undefined;
      },
      60_000,
    );
    expect(budgets.map((budget) => budget.metadata.name).sort()).toEqual(
      expect.arrayContaining(["api", "mongo", "pomerium", "portal"]),
    );
    // minAvailable 2 of 3. kwok replaces an evicted pod within milliseconds, so with the nodes
    // cordoned (no replacement can be placed): the first eviction is allowed, the second refused.
    for (const node of plane.nodeNames) await kubectl(plane, ["cordon", node]);
    const apiPods = (
      await list(plane, "/api/v1/namespaces/neosc/pods?labelSelector=app.kubernetes.io%2Fname%3Dapi")
    ).slice(0, 2);
    const answers = [];
    for (const pod of apiPods) {
      answers.push(
        await plane.api("POST", `/api/v1/namespaces/neosc/pods/${pod.metadata.name}/eviction`, {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name: pod.metadata.name, namespace: "neosc" },
        }),
      );
    }
    for (const node of plane.nodeNames) await kubectl(plane, ["uncordon", node]);
    expect(answers.map((answer) => answer.status)).toEqual([201, 429]);
    expect(JSON.stringify(answers[1]?.body)).toContain("disruption budget");
    await eventually(
      "api back to 3 available",
      async () =>
        deploymentReady(await get(plane, "/apis/apps/v1/namespaces/neosc/deployments/api"))
          ? true
          : undefined,
      60_000,
    );
  });

  it("has the HPA picked up by the autoscaler controller", async (context) => {
    const plane = cluster.get(context);
    await deployed(plane);
    const hpa = await eventually(
      "HPA status",
      async () => {
        const found = await get(plane, "/apis/autoscaling/v2/namespaces/neosc/horizontalpodautoscalers/api");
        const status = found.status as {
          currentReplicas?: number;
          conditions?: { type: string; status: string; reason: string }[];
        };
        return status.conditions?.some((condition) => condition.type === "AbleToScale") ? status : undefined;
      },
      60_000,
    );
    expect(hpa.currentReplicas).toBe(3);
    // There is no metrics server here: the controller says so instead of scaling.
    expect(hpa.conditions?.find((condition) => condition.type === "AbleToScale")?.status).toBe("True");
  });

  it("rolls a new API image out without ever going below 3 available (maxUnavailable 0, maxSurge 1)", async (context) => {
    const plane = cluster.get(context);
    await deployed(plane);
    await eventually(
      "api ready before the rollout",
      async () =>
        deploymentReady(await get(plane, "/apis/apps/v1/namespaces/neosc/deployments/api"))
          ? true
          : undefined,
      60_000,
    );
    // Every status the controller writes during the rollout, in order: a watch misses none.
    const seen: { available: number; total: number }[] = [];
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const watch = plane.watch(
      "/apis/apps/v1/namespaces/neosc/deployments?fieldSelector=metadata.name%3Dapi",
      (_, object) => {
        const deployment = object as Item;
        const status = deployment.status as { availableReplicas?: number; replicas?: number };
        seen.push({ available: status.availableReplicas ?? 0, total: status.replicas ?? 0 });
        const template = deployment.spec?.template as { spec: { containers: { image: string }[] } };
        if (template.spec.containers[0]?.image === "neosc/api:0.1.1" && deploymentReady(deployment)) done();
      },
    );
    // The surge bound is on what the deployment controller asks of its ReplicaSets (their
    // spec.replicas summed): the deployment's status.replicas adds up the ReplicaSets' status,
    // which lags their spec, and once read 5 (4/5) in a rollout that never asked for a fifth pod.
    const asked = new Map<string, number>();
    const askedSums: number[] = [];
    const replicaSets = plane.watch(
      "/apis/apps/v1/namespaces/neosc/replicasets?labelSelector=app.kubernetes.io%2Fname%3Dapi",
      (type, object) => {
        const replicaSet = object as Item;
        if (type === "DELETED") asked.delete(replicaSet.metadata.name);
        else asked.set(replicaSet.metadata.name, (replicaSet.spec as { replicas?: number }).replicas ?? 0);
        askedSums.push([...asked.values()].reduce((sum, replicas) => sum + replicas, 0));
      },
    );
    await Promise.all([watch.started, replicaSets.started]);
    await kubectl(plane, ["set", "image", "-n", "neosc", "deployment/api", "api=neosc/api:0.1.1"]);
    await Promise.race([finished, delayThenFail(120_000, "the rollout did not finish")]);
    watch.stop();
    replicaSets.stop();
    // The figures for the notes: every (available/total) the controller reported, in order.
    console.log(
      `rollout of api: ${seen.map((state) => `${state.available}/${state.total}`).join(" → ")}; pods asked of the ReplicaSets: ${askedSums.join(" → ")}`,
    );
    expect(seen.length).toBeGreaterThan(3);
    expect(Math.min(...seen.map((state) => state.available))).toBeGreaterThanOrEqual(3);
    // A new ReplicaSet was made and scaled up, so the watch saw the surge happen…
    expect(asked.size).toBeGreaterThanOrEqual(2);
    expect(Math.max(...askedSums)).toBe(4);
    const pods = await list(
      plane,
      "/api/v1/namespaces/neosc/pods?labelSelector=app.kubernetes.io%2Fname%3Dapi",
    );
    const live = pods.filter((pod) => !pod.metadata.deletionTimestamp);
    expect(live.map((pod) => (pod.spec as { containers: { image: string }[] }).containers[0]?.image)).toEqual(
      ["neosc/api:0.1.1", "neosc/api:0.1.1", "neosc/api:0.1.1"],
    );
  });

  it("has a NetworkPolicy besides default-deny for every pod", async (context) => {
    const plane = cluster.get(context);
    await deployed(plane);
    for (const namespace of ["neosc", WORKSPACE_NAMESPACE]) {
      const policies = await list(
        plane,
        `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`,
      );
      expect(policies.map((policy) => policy.metadata.name)).toContain("default-deny-all");
      const pods = await list(plane, `/api/v1/namespaces/${namespace}/pods`);
      if (namespace === "neosc") expect(pods.length).toBeGreaterThan(10);
      for (const pod of pods) {
        const labels = pod.metadata.labels ?? {};
        const own = policies.filter(
          (policy) =>
            policy.metadata.name !== "default-deny-all" &&
            selects((policy.spec as { podSelector: Record<string, never> }).podSelector, labels),
        );
        expect(own.length, `${namespace}/${pod.metadata.name}`).toBeGreaterThan(0);
      }
    }
  });

  it("gives the provisioner's service account exactly the pod and policy rights it needs", async (context) => {
    const plane = cluster.get(context);
    await deployed(plane);
    const can = async (verb: string, resource: string, namespace: string) => {
      const result = await plane.kubectl([
        "auth",
        "can-i",
        verb,
        resource,
        "-n",
        namespace,
        `--as=${PROVISIONER}`,
      ]);
      return result.stdout.trim();
    };
    const allowed = [
      ["create", "pods"],
      ["get", "pods"],
      ["list", "pods"],
      ["watch", "pods"],
      ["delete", "pods"],
      ["create", "networkpolicies.networking.k8s.io"],
      ["get", "networkpolicies.networking.k8s.io"],
      ["delete", "networkpolicies.networking.k8s.io"],
    ];
    for (const [verb = "", resource = ""] of allowed)
      expect(await can(verb, resource, WORKSPACE_NAMESPACE), `${verb} ${resource}`).toBe("yes");
    const denied: [string, string, string][] = [
      ["get", "secrets", WORKSPACE_NAMESPACE],
      ["list", "secrets", WORKSPACE_NAMESPACE],
      ["get", "secrets", "neosc"],
      ["list", "secrets", "neosc"],
      ["create", "pods", "neosc"],
      ["delete", "pods", "neosc"],
      ["update", "pods", WORKSPACE_NAMESPACE],
      ["patch", "pods", WORKSPACE_NAMESPACE],
      ["create", "networkpolicies.networking.k8s.io", "neosc"],
      ["create", "deployments.apps", WORKSPACE_NAMESPACE],
      ["create", "rolebindings.rbac.authorization.k8s.io", WORKSPACE_NAMESPACE],
      ["create", "serviceaccounts/token", "neosc"],
      ["list", "nodes", "default"],
    ];
    for (const [verb, resource, namespace] of denied) {
      expect(await can(verb, resource, namespace), `${verb} ${resource} -n ${namespace}`).toBe("no");
    }
    // Subresources through a SubjectAccessReview (what the API server decides for exec/attach).
    for (const subresource of ["exec", "attach", "portforward", "log"]) {
      const review = await plane.api("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: PROVISIONER,
          groups: ["system:serviceaccounts", "system:serviceaccounts:neosc", "system:authenticated"],
          resourceAttributes: {
            namespace: WORKSPACE_NAMESPACE,
            verb: "create",
            resource: "pods",
            subresource,
          },
        },
      });
      expect((review.body as { status: { allowed: boolean } }).status.allowed, subresource).toBe(false);
    }
  });

  it("runs the gateway (the workspace host) as the provisioner's service account and no other pod with a token", async (context) => {
    const plane = cluster.get(context);
    await deployed(plane);
    const pods = await list(plane, "/api/v1/namespaces/neosc/pods");
    const gateways = pods.filter((pod) => pod.metadata.labels?.["app.kubernetes.io/name"] === "gateway");
    expect(gateways.length).toBeGreaterThan(0);
    for (const pod of pods) {
      const spec = pod.spec as { serviceAccountName?: string; automountServiceAccountToken?: boolean };
      const isGateway = gateways.includes(pod);
      expect(spec.serviceAccountName, pod.metadata.name).toBe(isGateway ? "neosc-provisioner" : "default");
      expect(spec.automountServiceAccountToken, pod.metadata.name).toBe(isGateway);
    }
    // Everyone else in neosc runs as "default", which may do nothing with workspaces.
    const asDefault = ["--as=system:serviceaccount:neosc:default"];
    for (const [verb, resource] of [
      ["create", "pods"],
      ["list", "pods"],
      ["create", "networkpolicies.networking.k8s.io"],
    ]) {
      const result = await plane.kubectl([
        "auth",
        "can-i",
        verb ?? "",
        resource ?? "",
        "-n",
        WORKSPACE_NAMESPACE,
        ...asDefault,
      ]);
      expect(result.stdout.trim(), `default ${verb} ${resource}`).toBe("no");
    }
    // And the gateway's token, as a pod would get it, reads no Secret anywhere it runs.
    const token = await plane.serviceAccountToken("neosc", "neosc-provisioner");
    for (const namespace of ["neosc", WORKSPACE_NAMESPACE]) {
      const secrets = await plane.api("GET", `/api/v1/namespaces/${namespace}/secrets`, undefined, token);
      expect(secrets.status, namespace).toBe(403);
    }
    const session = await plane.api(
      "GET",
      `/api/v1/namespaces/${WORKSPACE_NAMESPACE}/pods`,
      undefined,
      token,
    );
    expect(session.status).toBe(200);
  });

  it("refuses a privileged pod in the workspace namespace (Pod Security restricted)", async (context) => {
    const plane = cluster.get(context);
    await deployed(plane);
    const answer = await plane.api("POST", `/api/v1/namespaces/${WORKSPACE_NAMESPACE}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "root-workspace" },
      spec: { containers: [{ name: "x", image: "debian:12", securityContext: { runAsUser: 0 } }] },
    });
    expect(answer.status).toBe(403);
    expect(JSON.stringify(answer.body)).toContain("violates PodSecurity");
  });
});
