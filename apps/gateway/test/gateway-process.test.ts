import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { RfbTestClient } from "@neosc/gateway/testing/rfb-client";
import { startXvnc, type TestXvnc } from "@neosc/provisioner/testing/xvnc";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseGatewayEnv } from "../src/env.ts";
import { type RunningGateway, startGateway } from "../src/server.ts";

const ORIGIN = "https://portal.example.test";
let database: TestDatabase;
let desktop: TestXvnc;
let running: RunningGateway;

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  desktop = await startXvnc();
  running = await startGateway(
    parseGatewayEnv({
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: "silent",
      MONGO_URL: inject("mongoUrl"),
      MONGO_DB_NAME: database.dbName,
      NEOSC_PORTAL_ORIGINS: ORIGIN,
      NEOSC_SESSION_SECRET: "gateway-process-session-secret-0123456789",
    }),
    {
      endpoints: async () => ({ protocol: "rfb", endpoint: { transport: "unix", path: desktop.socketPath } }),
    },
  );
});

afterAll(async () => {
  await running?.close();
  await desktop?.stop();
  await database?.drop();
});

describe("the gateway process", () => {
  it("names the variable that is wrong and refuses to run on a ticket alone", () => {
    expect(() => parseGatewayEnv({ NEOSC_PORTAL_ORIGINS: ORIGIN })).toThrow(/MONGO_URL/);
    expect(() => parseGatewayEnv({ MONGO_URL: "mongodb://x", NEOSC_PORTAL_ORIGINS: "ftp://x" })).toThrow(
      /NEOSC_PORTAL_ORIGINS/,
    );
    expect(() => parseGatewayEnv({ MONGO_URL: "mongodb://x", NEOSC_PORTAL_ORIGINS: ORIGIN })).toThrow(
      /NEOSC_POMERIUM_JWKS_URL/,
    );
  });

  it("answers health checks and refuses upgrades elsewhere or from other pages", async () => {
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${running.url}/other`)).status).toBe(404);
    const ws = running.url.replace(/^http/, "ws");
    await expect(RfbTestClient.open(`${ws}/elsewhere`, { ticket: "t", origin: ORIGIN })).rejects.toThrow(
      /404/,
    );
    const foreign = await RfbTestClient.open(`${ws}/gateway/connect`, {
      ticket: "t",
      origin: "https://evil.test",
    });
    expect(await foreign.closed).toEqual({ code: 4003, reason: "origin_not_allowed" });
    const noTicket = await RfbTestClient.open(`${ws}/gateway/connect`, { origin: ORIGIN });
    expect(await noTicket.closed).toEqual({ code: 4001, reason: "ticket_missing" });
  });
});
