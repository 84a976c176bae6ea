import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { testWorkspace as workspace } from "@neosc/core/testing/workspace";
import type { WorkspaceProgram } from "@neosc/core/workspace";
import { createLocalDriver } from "../src/local.ts";
import type { Provisioner } from "../src/provisioner.ts";
import { connectRfb, pictureOf } from "../testing/rfb-client.ts";

/*
 * How fast the local driver brings up a workspace: start → socket ready (start resolves) →
 * first full frame (an RFB client's first framebuffer update) → drawn (windows cover 5 % of the
 * screen), for sequential starts and for starts that run at once. Prints a table and writes
 * JSON (argv[2], default local-start.json). Needs root, Xvnc and bwrap.
 *   pnpm --filter @neosc/provisioner bench:local [out.json] [program] [sequential] [concurrent]
 */

const out = process.argv[2] ?? "local-start.json";
const program = (process.argv[3] ?? "desktop") as WorkspaceProgram;
const sequential = Number(process.argv[4] ?? 10);
const concurrent = Number(process.argv[5] ?? 5);

interface Sample {
  readyMs: number;
  firstFrameMs: number;
  drawnMs: number;
}

async function once(driver: Provisioner): Promise<Sample> {
  const sessionId = randomUUID();
  const started = performance.now();
  const endpoint = await driver.start({ sessionId, userId: "bench", workspace: workspace({ program }) });
  const readyMs = performance.now() - started;
  const client = await connectRfb(endpoint.endpoint);
  await client.handshake();
  let frame = await client.readFrame();
  const firstFrameMs = performance.now() - started;
  while (pictureOf(frame).drawnShare < 0.05 && performance.now() - started < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    frame = await client.readFrame();
  }
  const drawnMs = performance.now() - started;
  client.close();
  await driver.stop(sessionId);
  return { readyMs, firstFrameMs, drawnMs };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(name: string, samples: Sample[]) {
  const row = (key: keyof Sample) => ({
    p50: Math.round(
      percentile(
        samples.map((sample) => sample[key]),
        50,
      ),
    ),
    p95: Math.round(
      percentile(
        samples.map((sample) => sample[key]),
        95,
      ),
    ),
  });
  return {
    name,
    runs: samples.length,
    ready: row("readyMs"),
    firstFrame: row("firstFrameMs"),
    drawn: row("drawnMs"),
  };
}

const dataDir = await mkdtemp(path.join(tmpdir(), "neosc-bench-local-"));
const driver = createLocalDriver({ dataDir: path.join(dataDir, "local") });
try {
  await once(driver); // warm the page cache: the figures are for a warm host
  const alone: Sample[] = [];
  for (let run = 0; run < sequential; run++) alone.push(await once(driver));
  const together = await Promise.all(Array.from({ length: concurrent }, () => once(driver)));
  const rows = [
    summary(`${program}, sequential`, alone),
    summary(`${program}, ${concurrent} at once`, together),
  ];
  console.log("| runs | what | ready p50/p95 ms | first frame p50/p95 ms | drawn p50/p95 ms |");
  console.log("|---|---|---|---|---|");
  for (const row of rows) {
    console.log(
      `| ${row.runs} | ${row.name} | ${row.ready.p50} / ${row.ready.p95} | ${row.firstFrame.p50} / ${row.firstFrame.p95} | ${row.drawn.p50} / ${row.drawn.p95} |`,
    );
  }
  await writeFile(out, `${JSON.stringify({ measuredAt: new Date().toISOString(), rows }, null, 2)}\n`);
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
