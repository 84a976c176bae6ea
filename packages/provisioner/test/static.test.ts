import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { testWorkspace as workspace } from "@neosc/core/testing/workspace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StartError } from "../src/provisioner.ts";
import { createStaticDriver } from "../src/static.ts";
import { connectRfb } from "../testing/rfb-client.ts";
import { startXvnc, type TestXvnc } from "../testing/xvnc.ts";
import { installed } from "./support.ts";

const haveXvnc = installed("Xvnc");
if (!haveXvnc) console.warn("static driver tests skipped: they need Xvnc (tigervnc-standalone-server)");

let stateDir: string;
let server: TestXvnc;
let port: number;

beforeAll(async () => {
  stateDir = path.join(await mkdtemp(path.join(tmpdir(), "neosc-static-")), "state");
  if (haveXvnc) {
    server = await startXvnc({ tcp: true });
    port = server.port ?? 0;
  }
});

afterAll(async () => {
  await server?.stop();
  await rm(path.dirname(stateDir), { recursive: true, force: true });
});

function staticWorkspace(port: number) {
  return workspace({ driver: "static", program: null, target: { host: "127.0.0.1", port } });
}

describe.runIf(haveXvnc)("the static driver", () => {
  it("connects a session to an existing VNC server on TCP, idempotently", async () => {
    const driver = createStaticDriver({ stateDir });
    const sessionId = randomUUID();
    const spec = { sessionId, userId: "u1", workspace: staticWorkspace(port), vncPassword: "s3cret" };
    const endpoint = await driver.start(spec);
    expect(endpoint).toEqual({
      protocol: "rfb",
      endpoint: { transport: "tcp", host: "127.0.0.1", port: port },
      secret: "s3cret",
    });
    expect(await driver.start(spec)).toEqual(endpoint);
    expect(await driver.endpoint(sessionId)).toEqual(endpoint);
    expect(await driver.list()).toEqual([{ sessionId, alive: true }]);
    // The record holds the VNC password: only root may read it.
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(stateDir, `${sessionId}.json`))).mode & 0o777).toBe(0o600);

    // What the gateway does with the endpoint: a real RFB session with the server.
    const client = await connectRfb(endpoint.endpoint);
    expect((await client.handshake()).width).toBe(640);
    client.close();

    await driver.stop(sessionId);
    await driver.stop(sessionId);
    expect(await driver.endpoint(sessionId)).toBeNull();
    expect(await driver.list()).toEqual([]);
  });

  it("refuses to start when nothing answers, or something that is not a VNC server", async () => {
    const driver = createStaticDriver({ stateDir, connectTimeoutMs: 1000 });
    const silent = createServer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    const httpPort = typeof address === "object" && address !== null ? address.port : 0;
    try {
      await expect(
        driver.start({ sessionId: randomUUID(), userId: "u1", workspace: staticWorkspace(httpPort) }),
      ).rejects.toThrow(new StartError(`The VNC server 127.0.0.1:${httpPort} does not answer`));
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
    // The port is closed now: nothing listens.
    await expect(
      driver.start({ sessionId: randomUUID(), userId: "u1", workspace: staticWorkspace(httpPort) }),
    ).rejects.toBeInstanceOf(StartError);
    expect(await readdir(stateDir).catch(() => [])).toEqual([]);
    expect(await driver.list()).toEqual([]);
  });

  it("refuses a workspace that names no VNC server", async () => {
    const driver = createStaticDriver({ stateDir });
    const none = workspace({ driver: "static", program: null, target: null });
    expect((await driver.health(none)).ok).toBe(false);
    await expect(
      driver.start({ sessionId: randomUUID(), userId: "u1", workspace: none }),
    ).rejects.toBeInstanceOf(StartError);
  });
});
