/*
 * Launch → pod-ready latency of the Kubernetes provisioner on the kwok control plane, for 1, 10
 * and 100 sessions started at once. Each row also starts the same number of bare pods (the same
 * spec, created by the admin and watched until ready, no NetworkPolicy): the floor set by the API
 * server, scheduler and kwok in the same run. "ratio" is the provisioner's p50 over that floor.
 *
 *   pnpm --filter @neosc/provisioner-kubernetes bench   (table on stdout, JSON in .bench/)
 *
 * kwok marks a pod ready as soon as it is bound: no image is pulled and no container starts, so
 * these are control-plane latencies, not what a person waits for on a real cluster.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CoreV1Api, type V1Pod, Watch } from "@kubernetes/client-node";
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
    const floor = await Promise.all(Array.from({ length: sessions }, bareLaunch));
    await emptyNamespace();
    const driver = summary(latencies);
    const bare = summary(floor);
    rows.push({
      sessions,
      p50Ms: Math.round(driver.p50),
      p95Ms: Math.round(driver.p95),
      maxMs: Math.round(driver.max),
      wallMs: Math.round(wallMs),
      barePodP50Ms: Math.round(bare.p50),
      ratio: Number((driver.p50 / bare.p50).toFixed(2)),
    });
  }
} finally {
  await plane.stop();
}

console.log(`control plane started in ${plane.startMs} ms (4 kwok nodes)`);
console.table(rows);
mkdirSync(RESULTS, { recursive: true });
const report = { date: new Date().toISOString(), startMs: plane.startMs, rows };
writeFileSync(join(RESULTS, "launch-latency.json"), `${JSON.stringify(report, null, 2)}\n`);
console.log(`written ${join(RESULTS, "launch-latency.json")}`);
