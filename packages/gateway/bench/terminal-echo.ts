import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Duplex } from "node:stream";
import { createTestDatabase, startTestServer } from "@neosc/db/testing";
import { SHELL_SOCKET, shellEndpoint, shellHostCommand, waitForShellHost } from "@neosc/provisioner/shell";
import { startSshd } from "@neosc/provisioner/testing/sshd";
import type { WorkspaceEndpoint } from "../src/endpoint.ts";
import { connectSsh } from "../src/terminal.ts";
import { launchSession, ORIGIN, startGateway } from "../test/support/gateway.ts";
import { TerminalTestClient } from "../testing/terminal-client.ts";
import { measureKeystrokeEcho } from "../testing/terminal-echo.ts";

/*
 * Keystroke echo latency of a terminal: one key sent, time until the shell's echo arrives; the
 * same shell reached through the gateway (browser WebSocket → gateway → workspace) and directly
 * (the gateway's own ssh client, or the shell host's socket), in the same run. Prints a table
 * and writes JSON (argv[2], default <tmpdir>/neosc-terminal-echo.json). 300 keys per path.
 *   pnpm --filter @neosc/gateway bench:terminal
 */

const KEYS = 300;

interface Row {
  path: string;
  keys: number;
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function row(name: string, samples: number[]): Row {
  return { path: name, keys: samples.length, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

async function settle(ms: number) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

async function main() {
  const server = await startTestServer();
  const database = await createTestDatabase(server.url);
  const sshd = await startSshd();
  const dir = mkdtempSync(path.join(tmpdir(), "neosc-bench-shell-"));
  chmodSync(dir, 0o777);
  const [file = "", ...args] = shellHostCommand({ socketPath: path.join(dir, SHELL_SOCKET) });
  const host = spawn(file, args, {
    uid: 65534,
    gid: 65534,
    cwd: dir,
    env: { PATH: "/usr/bin:/bin", HOME: dir },
  });
  await waitForShellHost(shellEndpoint(dir).endpoint, 5000);
  const login = { username: sshd.username, hostKey: sshd.hostKey, auth: "privateKey" } as const;
  const ssh: WorkspaceEndpoint = {
    protocol: "ssh",
    endpoint: { transport: "tcp", host: sshd.host, port: sshd.port },
    secret: sshd.privateKey,
    ssh: login,
  };
  const endpoints = new Map<string, WorkspaceEndpoint>();
  const gateway = await startGateway({
    db: database.db,
    endpoints: async (s) => endpoints.get(s.id) ?? null,
  });
  const rows: Row[] = [];
  try {
    for (const [name, endpoint] of [
      ["ssh", ssh],
      ["local shell", shellEndpoint(dir)],
    ] as const) {
      const launched = await launchSession(database.db);
      endpoints.set(launched.session.id, endpoint);
      const client = await TerminalTestClient.open(gateway.url, {
        ticket: await launched.ticket(),
        origin: ORIGIN,
        cookie: launched.cookie,
      });
      await settle(1000);
      rows.push(
        row(
          `${name} through the gateway`,
          await measureKeystrokeEcho(
            (b) => client.send(b),
            (l) => client.ws.on("message", l),
            KEYS,
          ),
        ),
      );
      client.close();

      let direct: Duplex;
      if (name === "ssh")
        direct = await connectSsh({
          endpoint: ssh.endpoint,
          login,
          secret: sshd.privateKey,
          timeoutMs: 5000,
        });
      else direct = connect({ path: path.join(dir, SHELL_SOCKET) });
      await settle(1000);
      rows.push(
        row(
          `${name} direct`,
          await measureKeystrokeEcho(
            (b) => direct.write(b),
            (l) => direct.on("data", l),
            KEYS,
          ),
        ),
      );
      direct.destroy();
    }
  } finally {
    await gateway.close();
    host.kill("SIGKILL");
    await sshd.stop();
    await database.drop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.table(rows.map((r) => ({ ...r, p50Ms: r.p50Ms.toFixed(2), p99Ms: r.p99Ms.toFixed(2) })));
  const out = process.argv[2] ?? path.join(tmpdir(), "neosc-terminal-echo.json");
  writeFileSync(out, `${JSON.stringify({ at: new Date(), rows }, null, 2)}\n`);
  console.log(`written to ${out}`);
}

await main();
