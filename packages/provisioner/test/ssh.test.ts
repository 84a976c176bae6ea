import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { testWorkspace } from "@neosc/core/testing/workspace";
import type { Workspace } from "@neosc/core/workspace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StartError } from "../src/provisioner.ts";
import { createSshDriver } from "../src/ssh.ts";
import { startSshd, type TestSshd } from "../testing/sshd.ts";

let sshd: TestSshd;
let stateDir: string;

beforeAll(async () => {
  sshd = await startSshd();
  stateDir = mkdtempSync(path.join(tmpdir(), "neosc-ssh-driver-"));
});

afterAll(async () => {
  await sshd?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

function workspace(port: number): Workspace {
  return testWorkspace({
    id: "1b6d3c1e-8f0a-4c8e-9a55-0d4c2f6b7a10",
    slug: "bastion",
    name: "Bastion",
    kind: "terminal",
    driver: "ssh",
    program: null,
    sshTarget: { host: "127.0.0.1", port, username: sshd.username, hostKey: sshd.hostKey },
    hasSshCredential: true,
    memoryMb: 2048,
  });
}

describe("the ssh driver", () => {
  it("records a live ssh host with its login and hands the gateway an ssh endpoint", async () => {
    const driver = createSshDriver({ stateDir });
    const sessionId = "5c1f0e7a-1d2b-4c3d-8e9f-000000000001";
    const spec = {
      sessionId,
      userId: "u",
      workspace: workspace(sshd.port),
      sshCredential: { kind: "password" as const, password: sshd.password },
    };
    const endpoint = await driver.start(spec);
    expect(endpoint).toEqual({
      protocol: "ssh",
      endpoint: { transport: "tcp", host: "127.0.0.1", port: sshd.port },
      secret: sshd.password,
      ssh: { username: sshd.username, hostKey: sshd.hostKey, auth: "password" },
    });
    // A second driver on the same folder (a restarted host) finds it; start is idempotent.
    const restarted = createSshDriver({ stateDir });
    expect(await restarted.endpoint(sessionId)).toEqual(endpoint);
    expect(await restarted.start(spec)).toEqual(endpoint);
    await restarted.stop(sessionId);
    expect(await driver.endpoint(sessionId)).toBeNull();
  });

  it("refuses a host that does not answer as an ssh server, and a workspace without a credential", async () => {
    const driver = createSshDriver({ stateDir, connectTimeoutMs: 1000 });
    const base = { userId: "u", sshCredential: { kind: "password" as const, password: "x" } };
    await expect(
      driver.start({ ...base, sessionId: "5c1f0e7a-1d2b-4c3d-8e9f-000000000002", workspace: workspace(1) }),
    ).rejects.toThrow(StartError);
    await expect(
      driver.start({
        sessionId: "5c1f0e7a-1d2b-4c3d-8e9f-000000000003",
        userId: "u",
        workspace: workspace(sshd.port),
      }),
    ).rejects.toThrow(/no credential/);
    expect(await driver.list()).toEqual([]);
  });
});
