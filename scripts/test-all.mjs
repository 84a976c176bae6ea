// Runs every test suite of the workspace (vitest per package, then Playwright in e2e), one after
// another so they do not fight over two cores, and closes with one plain line that CI reads:
// "tests: N passed, N failed, N skipped". Exits non-zero when anything failed or did not report.
// The failed tests are named again right above that table, since CI logs often keep only the end.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { stripVTControlCharacters } from "node:util";

const root = resolve(import.meta.dirname, "..");
const results = join(root, ".test-results");
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

const vitestPackages = [
  "packages/core",
  "packages/db",
  "packages/auth",
  "packages/router",
  "packages/gateway",
  "apps/gateway",
  "packages/client",
  "packages/provisioner",
  "packages/host",
  "apps/api",
  "apps/portal",
  "deploy",
  "packages/provisioner-kubernetes",
];
const only = process.argv.slice(2);
const selected = (name) => only.length === 0 || only.some((o) => name.includes(o));

const rows = [];

for (const dir of vitestPackages) {
  if (!selected(dir)) continue;
  const cwd = join(root, dir);
  if (!existsSync(join(cwd, "package.json"))) continue;
  const output = join(results, `${dir.replaceAll("/", "-")}.json`);
  console.log(`\n── ${dir} (vitest) ──`);
  const run = spawnSync(
    join(cwd, "node_modules/.bin/vitest"),
    ["run", "--passWithNoTests", "--reporter=default", "--reporter=json", `--outputFile.json=${output}`],
    { cwd, stdio: "inherit" },
  );
  rows.push(readVitest(dir, output, run.status));
}

if (selected("e2e")) {
  const cwd = join(root, "e2e");
  const output = join(results, "e2e.json");
  console.log("\n── e2e (playwright) ──");
  const run = spawnSync(join(cwd, "node_modules/.bin/playwright"), ["test", "--reporter=list,json"], {
    cwd,
    stdio: "inherit",
    env: { ...process.env, PLAYWRIGHT_JSON_OUTPUT_NAME: output },
  });
  rows.push(readPlaywright("e2e", output, run.status));
}

function readVitest(name, file, status) {
  if (!existsSync(file))
    return { name, passed: 0, failed: 1, skipped: 0, note: `no report (exit ${status})` };
  const report = JSON.parse(readFileSync(file, "utf8"));
  const failed = report.numFailedTests + (status !== 0 && report.numFailedTests === 0 ? 1 : 0);
  const failures = report.testResults.flatMap((file) =>
    file.assertionResults
      .filter((test) => test.status === "failed")
      .map((test) => ({
        test: `${file.name.slice(root.length + 1)} › ${test.fullName}`,
        message: test.failureMessages[0] ?? "",
      }))
      .concat(
        file.assertionResults.length === 0 && file.status === "failed"
          ? [{ test: file.name.slice(root.length + 1), message: file.message ?? "" }]
          : [],
      ),
  );
  return {
    name,
    failures,
    passed: report.numPassedTests,
    failed,
    skipped: report.numPendingTests + report.numTodoTests,
    note: status === 0 ? "" : `exit ${status}`,
  };
}

function readPlaywright(name, file, status) {
  if (!existsSync(file))
    return { name, passed: 0, failed: 1, skipped: 0, note: `no report (exit ${status})` };
  const { stats } = JSON.parse(readFileSync(file, "utf8"));
  const failed = stats.unexpected + (status !== 0 && stats.unexpected === 0 ? 1 : 0);
  const failures = [];
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests) {
        if (test.status !== "unexpected") continue;
        const last = test.results.at(-1);
        failures.push({
          test: `e2e/tests/${spec.file} › ${spec.title}`,
          message: last?.error?.message ?? "",
        });
      }
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of JSON.parse(readFileSync(file, "utf8")).suites ?? []) walk(suite);
  return {
    name,
    failures,
    passed: stats.expected + stats.flaky,
    failed,
    skipped: stats.skipped,
    note: stats.flaky > 0 ? `${stats.flaky} flaky` : status === 0 ? "" : `exit ${status}`,
  };
}

const failures = rows.flatMap((row) => row.failures ?? []);
if (failures.length > 0) {
  console.log("\nfailed:");
  for (const { test, message } of failures) {
    // Colour codes out, and only the first lines: the full report is above and in .test-results.
    const lines = stripVTControlCharacters(message)
      .split("\n")
      .filter((line) => !/^\s+at .*(node_modules|node:internal|<anonymous>)/.test(line))
      .slice(0, 6);
    console.log(`✗ ${test}\n${lines.map((line) => `    ${line}`).join("\n")}`);
  }
}

const total = { passed: 0, failed: 0, skipped: 0 };
console.log("\nsuite                 passed  failed  skipped");
for (const row of rows) {
  total.passed += row.passed;
  total.failed += row.failed;
  total.skipped += row.skipped;
  console.log(
    `${row.name.padEnd(20)} ${String(row.passed).padStart(7)} ${String(row.failed).padStart(7)} ${String(row.skipped).padStart(8)}  ${row.note}`,
  );
}
console.log(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed === 0 && total.passed > 0 ? 0 : 1);
