import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { User } from "@neosc/core/user";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OidcService } from "../src/context.ts";
import { callerFor, createLocalUser } from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";
import { expectRefusal } from "./support/expect-error.ts";

/*
 * policy.preview: what the portal's confirmations say before an admin locks people out — the
 * admin's own address against a new allowlist, the running sessions new access hours would end
 * now, and whether single sign-on answers. It changes nothing.
 */

const database = useTestDatabase();
let admin: User;
let idp: Server;
let issuer = "";

/** An OIDC service whose issuer is a real HTTP server answering discovery (or a closed port). */
function oidcAt(url: string): OidcService {
  return {
    publicSettings: { issuer: url, clientId: "portal", scopes: ["openid"] },
    verifyIdToken: () => Promise.reject(new Error("not used")),
    exchangeCode: () => Promise.reject(new Error("not used")),
  };
}

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
  idp = createServer((request, response) => {
    if (request.url === "/.well-known/openid-configuration") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ issuer }));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => idp.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => idp.close(resolve));
});

describe("policy.preview", () => {
  it("says whether the admin's own address stays on a new allowlist, and what that address is", async () => {
    const caller = callerFor(database.db, { user: admin, clientIp: "198.51.100.7" });
    const excluded = await caller.policy.preview({
      key: "ip-allowlist",
      enabled: true,
      settings: { cidrs: ["10.0.0.0/8"] },
    });
    expect(excluded).toMatchObject({ callerIp: "198.51.100.7", callerAllowed: false });
    const included = await caller.policy.preview({
      key: "ip-allowlist",
      enabled: true,
      settings: { cidrs: ["10.0.0.0/8", "198.51.100.0/24"] },
    });
    expect(included.callerAllowed).toBe(true);
    expect((await caller.policy.preview({ key: "ip-allowlist", enabled: false })).callerAllowed).toBe(true);
    // Nothing was changed by asking.
    expect((await database.db.policies.get("ip-allowlist")).enabled).toBe(false);
  });

  it("counts the running sessions that access hours would end now", async () => {
    const caller = callerFor(database.db, { user: admin, clock: () => new Date("2025-01-11T16:00:00Z") });
    const { workspaces } = await caller.workspace.reset();
    const terminal = workspaces.find((workspace) => workspace.kind === "terminal");
    if (terminal === undefined) throw new Error("no terminal in the default catalogue");
    const running = await database.db.sessions.countActive();
    await callerFor(database.db, { user: admin }).workspace.launch({ workspaceId: terminal.id });
    const weekdays = { timeZone: "America/New_York", days: [1, 2, 3, 4, 5], start: "09:00", end: "17:00" };
    // Saturday in New York: outside, so every running session would end.
    const closed = await caller.policy.preview({ key: "access-hours", enabled: true, settings: weekdays });
    expect(closed.sessionsEndingNow).toBe(running + 1);
    const always = { ...weekdays, days: [0, 1, 2, 3, 4, 5, 6], start: "00:00", end: "23:59" };
    const open = await caller.policy.preview({ key: "access-hours", enabled: true, settings: always });
    expect(open.sessionsEndingNow).toBe(0);
  });

  it("says whether single sign-on is configured and answers, before password sign-in goes off", async () => {
    const without = await callerFor(database.db, { user: admin }).policy.preview({
      key: "local-login",
      enabled: false,
    });
    expect(without.sso).toEqual({ configured: false, issuer: null, answered: null, admins: 0 });

    const answering = await callerFor(database.db, { user: admin, oidc: oidcAt(issuer) }).policy.preview({
      key: "local-login",
      enabled: false,
    });
    expect(answering.sso).toMatchObject({ configured: true, issuer, answered: true });

    const silent = await callerFor(database.db, {
      user: admin,
      oidc: oidcAt("http://127.0.0.1:9/nobody-listens"),
    }).policy.preview({ key: "local-login", enabled: false });
    expect(silent.sso).toMatchObject({ configured: true, answered: false });
  });

  it("refuses settings outside the policy's bounds, naming the field", async () => {
    await expectRefusal(
      callerFor(database.db, { user: admin }).policy.preview({
        key: "ip-allowlist",
        enabled: true,
        settings: { cidrs: ["not-a-block"] },
      }),
      "BAD_REQUEST",
    );
  });
});
