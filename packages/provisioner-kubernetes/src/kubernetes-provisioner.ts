import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  type V1NetworkPolicy,
  type V1Pod,
  Watch,
} from "@kubernetes/client-node";
import {
  type Health,
  type Provisioner,
  StartError,
  type StartSpec,
  type WorkspaceEndpoint,
} from "@neosc/provisioner/provisioner";

/*
 * The Kubernetes driver: a session is one pod in the workspace namespace (deploy/k8s/workspaces.yaml)
 * plus one NetworkPolicy that admits only the gateway, on the VNC port. The pod carries the
 * session, person and workspace as labels; the policy names the pod as its owner, so the
 * garbage collector removes it with the pod and nothing outlives the session. All state is in the
 * API server: any replica (or a restarted one) sees the same pods, which is what list() reports to
 * the reconciler.
 */

export const WORKSPACE_NAMESPACE = "neosc-workspaces";
/** The port the workspace image serves RFB on (Xvnc display :1). */
export const VNC_PORT = 5901;

export const LABELS = {
  name: "app.kubernetes.io/name",
  managedBy: "app.kubernetes.io/managed-by",
  session: "neosc.io/session",
  user: "neosc.io/user",
  workspace: "neosc.io/workspace",
  /** The workspace host that started it (several hosts share the namespace). */
  host: "neosc.io/host",
} as const;

const MANAGED = `${LABELS.managedBy}=neosc,${LABELS.name}=workspace`;

export interface KubernetesProvisionerOptions {
  kubeConfig: KubeConfig;
  /** Where session pods run (default neosc-workspaces). */
  namespace?: string;
  /** How long start waits for the pod to be ready before it refuses the launch (default 120 s). */
  readyTimeoutMs?: number;
  /** The pods allowed to reach a workspace (default: app.kubernetes.io/name=gateway in neosc). */
  gateway?: { namespace: string; labels: Record<string, string> };
}

/** Why a workspace pod could not be started: `reason` for code and tests, the message in words. */
export class WorkspaceStartError extends StartError {
  constructor(
    readonly reason: "no_image" | "pod_refused" | "not_ready" | "workspace_exited" | "pod_deleted",
    message: string,
  ) {
    super(message);
    this.name = "WorkspaceStartError";
  }
}

/**
 * The identity a workspace host uses: `in-cluster` (the pod's service-account token, as the
 * manifests run the gateway) or the path of a kubeconfig file (its current context).
 */
export function loadKubeConfig(source: string): KubeConfig {
  const config = new KubeConfig();
  if (source === "in-cluster") {
    config.loadFromCluster();
    // Outside a pod the client builds https://undefined:undefined rather than failing.
    if (config.getCurrentCluster()?.server.includes("undefined")) {
      throw new Error("not running in a pod (KUBERNETES_SERVICE_HOST and _PORT are unset)");
    }
  } else config.loadFromFile(source);
  return config;
}

/** The driver as NEOSC_KUBERNETES configures it (see from-env.ts, which loads this module). */
export function createKubernetesDriver(settings: {
  NEOSC_KUBERNETES: string;
  NEOSC_KUBERNETES_NAMESPACE: string;
  NEOSC_KUBERNETES_READY_TIMEOUT_SECONDS: number;
}): KubernetesProvisioner {
  const source = settings.NEOSC_KUBERNETES;
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = loadKubeConfig(source);
  } catch (error) {
    const where = source === "in-cluster" ? "the pod's service account" : `the kubeconfig ${source}`;
    throw new Error(`NEOSC_KUBERNETES: cannot read ${where}: ${messageOf(error)}`);
  }
  return new KubernetesProvisioner({
    kubeConfig,
    namespace: settings.NEOSC_KUBERNETES_NAMESPACE,
    readyTimeoutMs: settings.NEOSC_KUBERNETES_READY_TIMEOUT_SECONDS * 1000,
  });
}

/** A kubeconfig for one API server and a bearer token (a service account's, in tests). */
export function kubeConfigFor(connection: { server: string; caData: string; token: string }): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      {
        name: "cluster",
        server: connection.server,
        caData: Buffer.from(connection.caData).toString("base64"),
      },
    ],
    users: [{ name: "provisioner", token: connection.token }],
    contexts: [{ name: "provisioner", cluster: "cluster", user: "provisioner" }],
    currentContext: "provisioner",
  });
  return config;
}

export function podName(sessionId: string): string {
  return `ws-${sessionId}`;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof ApiException) {
    const body = typeof error.body === "string" ? safeJson(error.body) : error.body;
    const message = (body as { message?: string } | null)?.message;
    return message ?? `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

/** CPU cores as millicores, memory in MiB: requests equal limits, so the pod gets what the catalogue says. */
function resources(cpu: number, memoryMb: number) {
  const amounts = { cpu: `${Math.round(cpu * 1000)}m`, memory: `${memoryMb}Mi` };
  return { requests: amounts, limits: amounts };
}

export function sessionPod(spec: StartSpec, namespace: string): V1Pod {
  const { workspace } = spec;
  if (!workspace.image)
    throw new WorkspaceStartError("no_image", `workspace ${workspace.slug} has no image to run`);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: podName(spec.sessionId),
      namespace,
      labels: {
        [LABELS.name]: "workspace",
        [LABELS.managedBy]: "neosc",
        [LABELS.session]: spec.sessionId,
        [LABELS.user]: spec.userId,
        [LABELS.workspace]: workspace.id,
        ...(spec.hostId === undefined ? {} : { [LABELS.host]: spec.hostId }),
      },
      annotations: { "neosc.io/workspace-slug": workspace.slug },
    },
    spec: {
      // A workspace that exits ends its session (workspace_exited); it is not restarted under the person.
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 10,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 1000,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: "workspace",
          image: workspace.image,
          ports: [{ name: "vnc", containerPort: VNC_PORT, protocol: "TCP" }],
          resources: resources(workspace.cpu, workspace.memoryMb),
          readinessProbe: { tcpSocket: { port: "vnc" }, periodSeconds: 2, failureThreshold: 3 },
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
    },
  };
}

/** Admits the gateway to the session's pod on the VNC port; owned by the pod, so deleted with it. */
export function sessionPolicy(
  pod: V1Pod,
  gateway: { namespace: string; labels: Record<string, string> },
): V1NetworkPolicy {
  const name = pod.metadata?.name ?? "";
  const session = pod.metadata?.labels?.[LABELS.session] ?? "";
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: {
      name,
      namespace: pod.metadata?.namespace,
      labels: { [LABELS.managedBy]: "neosc", [LABELS.session]: session },
      ownerReferences: [{ apiVersion: "v1", kind: "Pod", name, uid: pod.metadata?.uid ?? "" }],
    },
    spec: {
      podSelector: { matchLabels: { [LABELS.session]: session } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          _from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": gateway.namespace } },
              podSelector: { matchLabels: gateway.labels },
            },
          ],
          ports: [{ protocol: "TCP", port: VNC_PORT }],
        },
      ],
    },
  };
}

/** Neither ended nor being deleted. */
function isAlive(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata?.deletionTimestamp && phase !== "Failed" && phase !== "Succeeded";
}

function isReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === "Running" &&
    Boolean(pod.status.podIP) &&
    (pod.status.conditions ?? []).some(
      (condition) => condition.type === "Ready" && condition.status === "True",
    )
  );
}

/** Container states that will not get better by waiting. */
const HOPELESS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "CreateContainerConfigError",
]);

/** What keeps the pod from being ready, in words (for the refusal), or null while there is hope. */
function blocker(pod: V1Pod): { final: boolean; text: string } | null {
  const phase = pod.status?.phase;
  if (phase === "Failed" || phase === "Succeeded") {
    return { final: true, text: `the workspace exited (${pod.status?.reason ?? phase})` };
  }
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && HOPELESS.has(waiting.reason)) {
      return { final: true, text: `${waiting.reason}: ${waiting.message ?? status.image}` };
    }
  }
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === "PodScheduled");
  if (scheduled?.status === "False")
    return { final: false, text: `${scheduled.reason}: ${scheduled.message}` };
  return null;
}

export class KubernetesProvisioner implements Provisioner {
  private readonly core: CoreV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly authorization: AuthorizationV1Api;
  private readonly watch: Watch;
  private readonly namespace: string;
  private readonly readyTimeoutMs: number;
  private readonly gateway: { namespace: string; labels: Record<string, string> };
  private readonly exitListeners: ((sessionId: string) => void)[] = [];
  /** Waiters for one pod (by name), fed by the one shared pod watch. */
  private readonly podListeners = new Map<string, Set<(type: string, pod: V1Pod) => void>>();
  /** The one pod watch of this provisioner (resolves once it is open); null while none is. */
  private podWatch: Promise<void> | null = null;
  private podWatchAbort: AbortController | null = null;
  /** How many times this provisioner opened its pod watch (one per host, reopened when the server ends it). */
  watchesOpened = 0;
  private closed = false;

  constructor(options: KubernetesProvisionerOptions) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.networking = options.kubeConfig.makeApiClient(NetworkingV1Api);
    this.authorization = options.kubeConfig.makeApiClient(AuthorizationV1Api);
    this.watch = new Watch(options.kubeConfig);
    this.namespace = options.namespace ?? WORKSPACE_NAMESPACE;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
    this.gateway = options.gateway ?? { namespace: "neosc", labels: { [LABELS.name]: "gateway" } };
  }

  /** Creates the pod and its policy (or finds them: idempotent by session id) and waits until it is ready. */
  async start(spec: StartSpec): Promise<WorkspaceEndpoint> {
    const body = sessionPod(spec, this.namespace);
    const name = podName(spec.sessionId);
    let pod: V1Pod;
    try {
      pod = await this.core.createNamespacedPod({ namespace: this.namespace, body });
    } catch (error) {
      if (statusOf(error) !== 409) {
        throw new WorkspaceStartError(
          "pod_refused",
          `the cluster refused the workspace pod: ${messageOf(error)}`,
        );
      }
      pod = await this.core.readNamespacedPod({ name, namespace: this.namespace });
    }
    try {
      await this.networking.createNamespacedNetworkPolicy({
        namespace: this.namespace,
        body: sessionPolicy(pod, this.gateway),
      });
    } catch (error) {
      if (statusOf(error) !== 409) {
        await this.stop(spec.sessionId);
        throw new WorkspaceStartError(
          "pod_refused",
          `the cluster refused the workspace's network policy: ${messageOf(error)}`,
        );
      }
    }
    try {
      return this.endpointOf(await this.untilReady(pod));
    } catch (error) {
      // A refused launch leaves nothing behind.
      await this.stop(spec.sessionId);
      throw error;
    }
  }

  async endpoint(sessionId: string): Promise<WorkspaceEndpoint | null> {
    const pod = await this.read(sessionId);
    return pod !== null && isReady(pod) && !pod.metadata?.deletionTimestamp ? this.endpointOf(pod) : null;
  }

  async stop(sessionId: string): Promise<void> {
    const name = podName(sessionId);
    const ignoreMissing = (error: unknown) => {
      if (statusOf(error) !== 404) throw error;
    };
    // The policy would follow its owner anyway; deleting it now closes the door at once.
    await this.networking
      .deleteNamespacedNetworkPolicy({ name, namespace: this.namespace })
      .then(() => undefined, ignoreMissing);
    await this.core
      .deleteNamespacedPod({ name, namespace: this.namespace })
      .then(() => undefined, ignoreMissing);
  }

  /** Every session pod in the namespace; a pod that ended or is being deleted is not alive. */
  async list(): Promise<{ sessionId: string; alive: boolean; hostId?: string }[]> {
    const pods = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: MANAGED });
    return pods.items.flatMap((pod) => {
      const sessionId = pod.metadata?.labels?.[LABELS.session];
      if (!sessionId) return [];
      const hostId = pod.metadata?.labels?.[LABELS.host];
      return [{ sessionId, alive: isAlive(pod), ...(hostId === undefined ? {} : { hostId }) }];
    });
  }

  /**
   * Tells the listener of each session pod that ended or is being deleted, so the host ends its
   * session at once instead of at its next reconcile round. Fed by the provisioner's one pod watch;
   * the reconcile stays the authority: a missed event (a watch gap, a restart) is caught there.
   */
  onExit(listener: (sessionId: string) => void): void {
    this.exitListeners.push(listener);
    this.ensureWatch().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.podWatch?.catch(() => undefined);
    this.podWatchAbort?.abort();
    this.podWatchAbort = null;
    this.podWatch = null;
  }

  /**
   * One watch on every session pod of the namespace (by label), shared by every starting session and
   * the exit listeners. Opened from a fresh list, whose pods are delivered first (so a gap, such as
   * a 410 on an expired version, loses nothing), and reopened the same way whenever the server ends it.
   */
  private ensureWatch(): Promise<void> {
    if (this.podWatch === null) {
      this.podWatch = this.openWatch().catch((error: unknown) => {
        this.podWatch = null;
        this.reopenLater(2000);
        throw error;
      });
    }
    return this.podWatch;
  }

  private reopenLater(ms: number): void {
    if (this.closed || (this.exitListeners.length === 0 && this.podListeners.size === 0)) return;
    setTimeout(() => {
      if (this.podWatch === null) this.ensureWatch().catch(() => undefined);
    }, ms).unref();
  }

  private async openWatch(): Promise<void> {
    const listed = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: MANAGED });
    const present = new Set<string>();
    for (const pod of listed.items) {
      present.add(pod.metadata?.name ?? "");
      this.deliver("MODIFIED", pod);
    }
    for (const name of [...this.podListeners.keys()]) {
      if (!present.has(name)) this.deliver("DELETED", { metadata: { name } });
    }
    if (this.closed) return;
    this.watchesOpened += 1;
    const controller = await this.watch.watch(
      `/api/v1/namespaces/${this.namespace}/pods`,
      {
        labelSelector: MANAGED,
        resourceVersion: listed.metadata?.resourceVersion,
        allowWatchBookmarks: false,
      },
      (type, pod: V1Pod) => this.deliver(type, pod),
      () => {
        this.podWatchAbort = null;
        this.podWatch = null;
        this.reopenLater(200);
      },
    );
    if (this.closed) controller.abort();
    else this.podWatchAbort = controller;
  }

  private deliver(type: string, pod: V1Pod): void {
    // ERROR (a 410 for an expired version among them) ends the watch; the reopen lists afresh.
    if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") return;
    for (const listener of this.podListeners.get(pod.metadata?.name ?? "") ?? []) listener(type, pod);
    const sessionId = pod.metadata?.labels?.[LABELS.session];
    if (sessionId === undefined || (type !== "DELETED" && isAlive(pod))) return;
    for (const notify of this.exitListeners) notify(sessionId);
  }

  /** Whether this identity may do what start/stop/list need (SelfSubjectAccessReview: the server decides). */
  async health(): Promise<Health> {
    const needed: [verb: string, resource: string, group: string][] = [
      ["create", "pods", ""],
      ["watch", "pods", ""],
      ["delete", "pods", ""],
      ["create", "networkpolicies", "networking.k8s.io"],
      ["delete", "networkpolicies", "networking.k8s.io"],
    ];
    try {
      const missing: string[] = [];
      for (const [verb, resource, group] of needed) {
        const review = await this.authorization.createSelfSubjectAccessReview({
          body: {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SelfSubjectAccessReview",
            spec: { resourceAttributes: { namespace: this.namespace, verb, resource, group } },
          },
        });
        if (!review.status?.allowed) missing.push(`${verb} ${resource}`);
      }
      if (missing.length === 0) return { ok: true, missing: [] };
      // Nothing to install: the identity lacks RBAC permissions (deploy/k8s/workspaces.yaml grants them).
      return { ok: false, missing: [], problem: `not allowed to ${missing.join(", ")} in ${this.namespace}` };
    } catch (error) {
      return { ok: false, missing: [], problem: `the Kubernetes API server: ${messageOf(error)}` };
    }
  }

  private async read(sessionId: string): Promise<V1Pod | null> {
    try {
      return await this.core.readNamespacedPod({ name: podName(sessionId), namespace: this.namespace });
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  private endpointOf(pod: V1Pod): WorkspaceEndpoint {
    return { protocol: "rfb", endpoint: { transport: "tcp", host: pod.status?.podIP ?? "", port: VNC_PORT } };
  }

  /** Watches the pod from the version start saw until it is ready, hopeless, gone, or the deadline passes. */
  private untilReady(initial: V1Pod): Promise<V1Pod> {
    const name = initial.metadata?.name ?? "";
    const deadline = Date.now() + this.readyTimeoutMs;
    return new Promise<V1Pod>((resolve, reject) => {
      let settled = false;
      let last: V1Pod = initial;
      let unsubscribe = () => {};
      const settle = (outcome: { pod: V1Pod } | { error: WorkspaceStartError }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unsubscribe();
        if ("pod" in outcome) resolve(outcome.pod);
        else reject(outcome.error);
      };
      const consider = (pod: V1Pod) => {
        last = pod;
        if (pod.metadata?.deletionTimestamp) {
          settle({
            error: new WorkspaceStartError("pod_deleted", `workspace pod ${name} was deleted while starting`),
          });
        } else if (isReady(pod)) {
          settle({ pod });
        } else {
          const found = blocker(pod);
          if (found?.final) settle({ error: new WorkspaceStartError("workspace_exited", found.text) });
        }
      };
      const timer = setTimeout(
        () => {
          const why = blocker(last)?.text ?? `phase ${last.status?.phase ?? "unknown"}`;
          settle({
            error: new WorkspaceStartError(
              "not_ready",
              `workspace pod ${name} was not ready within ${Math.round(this.readyTimeoutMs / 1000)} s (${why})`,
            ),
          });
        },
        Math.max(0, deadline - Date.now()),
      );

      const listener = (type: string, pod: V1Pod) => {
        if (type === "DELETED") {
          settle({
            error: new WorkspaceStartError("pod_deleted", `workspace pod ${name} was deleted while starting`),
          });
        } else consider(pod);
      };
      const listeners = this.podListeners.get(name) ?? new Set();
      listeners.add(listener);
      this.podListeners.set(name, listeners);
      unsubscribe = () => {
        listeners.delete(listener);
        if (listeners.size === 0 && this.podListeners.get(name) === listeners) this.podListeners.delete(name);
      };
      consider(initial);
      // Once the shared watch is open, one read covers whatever changed before it was.
      this.ensureWatch()
        .then(() => this.core.readNamespacedPod({ name, namespace: this.namespace }))
        .then(consider, (error: unknown) => {
          if (statusOf(error) === 404) listener("DELETED", initial);
        });
    });
  }
}
