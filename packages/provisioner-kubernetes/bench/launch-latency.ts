/*
 * Launch → pod-ready latency of the Kubernetes provisioner on the kwok control plane, for 1, 10
 * and 100 sessions started at once, measured two ways: the driver's start alone, and a workspace
 * host's start of sessions placed on it (what a launch waits for after its checks: the session
 * and workspace read from MongoDB, pod and policy created, pod watched until ready, the endpoint
 * stored with the session). Each row also starts the same number of bare pods (the same spec,
 * created by the admin and watched until ready, no NetworkPolicy): the floor set by the API
 * server, scheduler and kwok in the same run. The ratios are p50s over that floor.
 *
 *   pnpm --filter @neosc/provisioner-kubernetes bench   (table on stdout, JSON in .bench/)
 *
 * kwok marks a pod ready as soon as it is bound: no image is pulled and no container starts, so
 * these are control-plane latencies, not what a person waits for on a real cluster.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CoreV1Api, type V1Pod, Watch } from "@kubernetes/client-node";
import { connectDatabase } from "@neosc/db/database";
import { startLocalServer } from "@neosc/db/local-server";
import { startWorkspaceHost } from "@neosc/host/host";
import { kubeConfigFor, LABELS, sessionPod, WORKSPACE_NAMESPACE } from "../src/kubernetes-provisioner.ts";
import { provisionerFor, workspace } from "../test/support.ts";
import { startTestCluster } from "../testing/cluster.ts";

const ROWS = [1, 10, 100];
const RESULTS = join(import.meta.dirname, "..", ".bench");

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1) ?? Number.NaN };
}

const cluster = await startTestCluster(4);
if ("missing" in cluster) {
  console.error(`cannot run the benchmark: ${cluster.missing}`);
  process.exit(2);
}
const { plane, access } = cluster;
const admin = kubeConfigFor({ server: access.server, caData: access.caData, token: access.adminToken });
const core = admin.makeApiClient(CoreV1Api);
const watch = new Watch(admin);
const provisioner = provisionerFor(access, { readyTimeoutMs: 300_000 });
const target = workspace({ cpu: 1, memoryMb: 1024 });

// A throwaway database and a workspace host whose only driver is this one (`@neosc/db/testing` is vitest's).
const databaseServer = await startLocalServer({ mode: "throwaway" });
const database = await connectDatabase({ url: databaseServer.url, dbName: "bench_k8s_launch" });
const { db } = database;
const hostState = mkdtempSync(join(tmpdir(), "neosc-bench-k8s-host-"));
const host = await startWorkspaceHost({
  db,
  drivers: { kubernetes: provisionerFor(access, { readyTimeoutMs: 300_000 }) },
  stateDir: hostState,
  capacity: 1000,
  name: "bench",
  // Its reconcile would delete the driver-only rows' pods (they have no session): emptyNamespace cleans up.
  reconcileMs: 3_600_000,
});
const stored = await db.workspaces.create({
  slug: "bench-pod-desktop",
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

async function hostLaunch(): Promise<number> {
  const session = await db.sessions.createWithinLimit(
    {
      workspaceId: stored.id,
      workspaceSlug: stored.slug,
      workspaceName: stored.name,
      workspaceKind: stored.kind,
      userId: randomUUID(),
      userEmail: "bench@example.test",
      organizationId: null,
      startedAt: new Date(),
      clientIp: null,
      hostId: host.id,
      connectionUrl: null,
      endsAt: null,
      idleEndsAt: null,
    },
    null,
  );
  if (session === null) throw new Error("no session slot");
  const started = performance.now();
  await host.start(session.id);
  const elapsed = performance.now() - started;
  await db.sessions.end(session.id, { reason: "user_stopped", at: new Date() });
  return elapsed;
}

async function bareLaunch(): Promise<number> {
  const started = performance.now();
  const body = sessionPod(
    { sessionId: randomUUID(), userId: randomUUID(), workspace: target },
    WORKSPACE_NAMESPACE,
  );
  if (body.metadata?.labels) body.metadata.labels[LABELS.managedBy] = "bench";
  const created = await core.createNamespacedPod({ namespace: WORKSPACE_NAMESPACE, body });
  const name = created.metadata?.name ?? "";
  await new Promise<void>((done, fail) => {
    let controller: AbortController | undefined;
    let finished = false;
    watch
      .watch(
        `/api/v1/namespaces/${WORKSPACE_NAMESPACE}/pods`,
        { fieldSelector: `metadata.name=${name}`, resourceVersion: created.metadata?.resourceVersion },
        (_type, pod: V1Pod) => {
          const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
          if (ready && !finished) {
            finished = true;
            controller?.abort();
            done();
          }
        },
        (error) => {
          if (!finished) fail(error ?? new Error(`watch of ${name} ended`));
        },
      )
      .then((c) => {
        controller = c;
        if (finished) c.abort();
      });
  });
  return performance.now() - started;
}

async function emptyNamespace(): Promise<void> {
  await core.deleteCollectionNamespacedPod({ namespace: WORKSPACE_NAMESPACE, gracePeriodSeconds: 0 });
  for (;;) {
    const left = await core.listNamespacedPod({ namespace: WORKSPACE_NAMESPACE });
    if (left.items.length === 0) return;
    await new Promise((done) => setTimeout(done, 250));
  }
}

const rows: Record<string, number>[] = [];
try {
  for (const sessions of ROWS) {
    const wall = performance.now();
    const latencies = await Promise.all(
      Array.from({ length: sessions }, async () => {
        const started = performance.now();
        await provisioner.start({ sessionId: randomUUID(), userId: randomUUID(), workspace: target });
        return performance.now() - started;
      }),
    );
    const wallMs = performance.now() - wall;
    await emptyNamespace();
    const throughHost = await Promise.all(Array.from({ length: sessions }, hostLaunch));
    await emptyNamespace();
    const floor = await Promise.all(Array.from({ length: sessions }, bareLaunch));
    await emptyNamespace();
    const driver = summary(latencies);
    const hosted = summary(throughHost);
    const bare = summary(floor);
    rows.push({
      sessions,
      p50Ms: Math.round(driver.p50),
      p95Ms: Math.round(driver.p95),
      maxMs: Math.round(driver.max),
      wallMs: Math.round(wallMs),
      hostP50Ms: Math.round(hosted.p50),
      hostP95Ms: Math.round(hosted.p95),
      hostMaxMs: Math.round(hosted.max),
      barePodP50Ms: Math.round(bare.p50),
      ratio: Number((driver.p50 / bare.p50).toFixed(2)),
      hostRatio: Number((hosted.p50 / bare.p50).toFixed(2)),
    });
  }
} finally {
  await host.close();
  await database.close();
  await databaseServer.stop();
  rmSync(hostState, { recursive: true, force: true });
  await plane.stop();
}

const load = loadavg().map((value) => Number(value.toFixed(2)));
console.log(`control plane started in ${plane.startMs} ms (4 kwok nodes); load average ${load.join(", ")}`);
console.table(rows);
mkdirSync(RESULTS, { recursive: true });
const report = { date: new Date().toISOString(), startMs: plane.startMs, loadAverage: load, rows };
writeFileSync(join(RESULTS, "launch-latency.json"), `${JSON.stringify(report, null, 2)}\n`);
console.log(`written ${join(RESULTS, "launch-latency.json")}`);
