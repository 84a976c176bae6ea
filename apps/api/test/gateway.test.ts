import type { LoginOutput } from "@neosc/core/auth";
import type { Page } from "@neosc/core/common";
import type { ConnectSessionOutput } from "@neosc/core/connection";
import type { WorkspaceSession } from "@neosc/core/session";
import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { RfbTestClient } from "@neosc/gateway/testing/rfb-client";
import { startXvnc, type TestXvnc } from "@neosc/provisioner/testing/xvnc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, PUBLIC_ORIGIN, useApi } from "./support/api.ts";
import { bearer, cookie, mutation, query } from "./support/http.ts";

/*
 * The gateway as the embedded default serves it, on two API instances over one database: a
 * person opens their desktop through one, and what an admin or the person decides on the other
 * closes that connection within 3 s, with the reason recorded in the session history.
 */

const api = useApi();
let desktop: TestXvnc;
let first: RunningServer;
let second: RunningServer;
let adminToken: string;

beforeAll(async () => {
  // A VNC server on loopback TCP, in the catalogue through the static driver: launch places the
  // session on one instance's workspace host, which stores the endpoint; either gateway serves it.
  desktop = await startXvnc({ tcp: true });
  first = await api.start();
  second = await api.start();
  const login = await mutation<LoginOutput>(first.url, "auth.login", {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  adminToken = login.data?.token ?? "";
  await mutation(
    first.url,
    "workspace.create",
    {
      slug: "static-desktop",
      name: "Static desktop",
      kind: "desktop",
      driver: "static",
      target: { host: "127.0.0.1", port: desktop.port },
      allowedRoles: ["user"],
    },
    { headers: bearer(adminToken) },
  );
  await mutation(
    first.url,
    "policy.toggle",
    { key: "max-concurrent-sessions", enabled: false },
    { headers: bearer(adminToken) },
  );
});

afterAll(async () => {
  await desktop?.stop();
});

async function person() {
  const email = `person-${Math.random().toString(36).slice(2)}@example.test`;
  const created = await mutation<{ user: User; oneTimePassword: string }>(
    first.url,
    "user.create",
    { email, name: "Person", role: "user" },
    { headers: bearer(adminToken) },
  );
  const login = await mutation<LoginOutput>(second.url, "auth.login", {
    email,
    password: created.data?.oneTimePassword,
  });
  const token = login.data?.token ?? "";
  await mutation(
    second.url,
    "auth.changePassword",
    { currentPassword: created.data?.oneTimePassword, newPassword: "person-password-1" },
    { headers: bearer(token) },
  );
  return { user: created.data?.user as User, token };
}

/** Launch the desktop on `first`, connect through `second`'s gateway, see a frame. */
async function openDesktop(token: string) {
  const workspaces = await query<Workspace[]>(first.url, "workspace.list", {}, { headers: bearer(token) });
  const workspace = workspaces.data?.find((w) => w.slug === "static-desktop");
  if (workspace === undefined) throw new Error("no desktop in the catalogue");
  const launched = await mutation<WorkspaceSession>(
    first.url,
    "workspace.launch",
    { workspaceId: workspace.id },
    { headers: cookie(token) },
  );
  const session = launched.data as WorkspaceSession;
  if (launched.status !== 200) throw new Error(`launch refused: ${JSON.stringify(launched.error)}`);
  const connect = await mutation<ConnectSessionOutput>(
    second.url,
    "session.connect",
    { sessionId: session.id },
    { headers: cookie(token) },
  );
  expect(connect.data).toMatchObject({ url: "/gateway/connect", protocol: "rfb" });
  const client = await RfbTestClient.open(`${second.url.replace(/^http/, "ws")}${connect.data?.url}`, {
    ticket: connect.data?.ticket ?? null,
    origin: PUBLIC_ORIGIN,
    cookie: `neosc_session=${token}`,
  });
  await client.handshake();
  client.updateRequest(false);
  expect(await client.nextUpdate()).toBeGreaterThan(0);
  return { session, client };
}

describe("the embedded gateway across two API instances", () => {
  it("closes a connection held by one instance within 3 s of an admin's disconnect on the other", async () => {
    const { token } = await person();
    const { session, client } = await openDesktop(token);
    const started = Date.now();
    const ended = await mutation(
      first.url,
      "session.disconnect",
      { sessionId: session.id, note: "maintenance" },
      { headers: bearer(adminToken) },
    );
    expect(ended.status).toBe(200);
    expect(await client.closed).toEqual({ code: 4000, reason: "admin_disconnected" });
    expect(Date.now() - started).toBeLessThan(3000);
    const history = await query<Page<WorkspaceSession>>(
      first.url,
      "session.list",
      { limit: 5 },
      { headers: bearer(token) },
    );
    expect(history.data?.items.find((s) => s.id === session.id)).toMatchObject({
      endReason: "admin_disconnected",
    });
  });

  it("closes the connection (and ends the session) when the person signs out on the other instance", async () => {
    const { token } = await person();
    const { client } = await openDesktop(token);
    await mutation(first.url, "auth.logout", {}, { headers: cookie(token) });
    expect(await client.closed).toEqual({ code: 4000, reason: "login_revoked" });
  });
});
