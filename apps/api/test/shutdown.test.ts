import { Agent, request } from "node:http";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { startTestApi } from "./support/api.ts";

let database: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  // Far longer than the test's own timeout: only a real drain lets close() finish in time.
  server = await startTestApi(inject("mongoUrl"), database.dbName, { NEOSC_SHUTDOWN_TIMEOUT_MS: "120000" });
});

afterAll(async () => {
  await server.close();
  await database.drop();
});

function get(agent: Agent, path: string): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const call = request(`${server.url}${path}`, { agent }, (response) => {
      response.resume();
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, connection: response.headers.connection }),
      );
    });
    call.on("error", reject);
    call.end();
  });
}

describe("graceful shutdown", () => {
  it("answers a request in flight with Connection: close, so a keep-alive client does not hold it to the force timeout", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect(await get(agent, "/readyz")).toEqual({ status: 200, connection: "keep-alive" });

    // A sign-in whose body is still arriving when shutdown starts: the server is mid-request.
    let answered: (value: { status: number; connection: string | undefined }) => void = () => {};
    const inFlight = new Promise<{ status: number; connection: string | undefined }>((resolve) => {
      answered = resolve;
    });
    const call = request(
      `${server.url}/trpc/auth.login`,
      { agent, method: "POST", headers: { "content-type": "application/json" } },
      (response) => {
        response.resume();
        response.on("end", () =>
          answered({ status: response.statusCode ?? 0, connection: response.headers.connection }),
        );
      },
    );
    call.write('{"json":');
    await new Promise((settle) => setTimeout(settle, 300));
    const closing = server.close();
    call.end('{"email":"nobody@neosc.test","password":"not-the-password"}}');

    const answer = await inFlight;
    expect(answer.status).toBe(401);
    expect(answer.connection).toBe("close");
    await closing;
    agent.destroy();
  }, 30_000);
});
