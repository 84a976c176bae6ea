import { createHash } from "node:crypto";
import { CreateApiTokenInputSchema } from "@neosc/core/api-token";
import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { beforeAll, describe, expect, it } from "vitest";
import { createInnerContext, noopResponseCookies } from "../src/context.ts";
import { resolveIdentity } from "../src/domain/identity/identity.ts";
import {
  callerFor,
  createCaller,
  createLocalUser,
  manualClock,
  resetCatalogue,
  TEST_CONFIG,
  testServices,
} from "./support/context.ts";
import { useTestDatabase } from "./support/database.ts";
import { expectRefusal } from "./support/expect-error.ts";

const database = useTestDatabase();
const time = manualClock(new Date("2026-06-01T10:00:00Z"));
let admin: User;
let alice: User;
let desktop: Workspace;

/** A caller exactly as the HTTP host builds it for these credentials (bearer header or cookie). */
async function callerWith(credentials: { bearerToken: string } | { sessionCookie: string }) {
  const services = testServices();
  const request = { clientIp: "192.0.2.20", userAgent: "token-test" };
  const resolved = await resolveIdentity(
    {
      db: database.db,
      clock: time.clock,
      request,
      services: { ...services, responseCookies: noopResponseCookies },
    },
    credentials,
  );
  return createCaller(
    createInnerContext({
      db: database.db,
      config: TEST_CONFIG,
      services,
      identity: resolved.identity,
      credentialError: resolved.credentialError,
      request,
      clock: time.clock,
    }),
  );
}

/** `Authorization: Bearer <value>`. */
const withBearer = (value: string) => callerWith({ bearerToken: value });
/** The value in the portal's session cookie. */
const withCookie = (value: string) => callerWith({ sessionCookie: value });

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
  alice = (await createLocalUser(database.db, "user")).user;
  desktop = (await resetCatalogue(database.db, { user: admin, clock: time.clock }))("linux-desktop");
});

describe("personal API tokens", () => {
  it("shows the secret once, stores only its hash, and acts as the owner", async () => {
    const asAlice = callerFor(database.db, { user: alice, clock: time.clock });
    const created = await asAlice.apiToken.create({
      name: "laptop script",
      scope: { kind: "read" },
      expiresInDays: 30,
    });
    expect(created.secret).toMatch(/^neosc_[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    expect(created.token.prefix).toBe(`neosc_${created.token.id.slice(0, 8)}`);
    expect(created.token.expiresAt.toISOString()).toBe("2026-07-01T10:00:00.000Z");

    const listed = await asAlice.apiToken.list({});
    expect(listed.map((t) => t.id)).toContain(created.token.id);
    expect(JSON.stringify(listed)).not.toContain(created.secret.split(".")[1]);

    const raw = await database.db.apiTokens.findForAuthentication(created.token.id);
    const secret = created.secret.split(".")[1] ?? "";
    expect(raw?.secretHash).toBe(createHash("sha256").update(secret).digest("hex"));

    const me = await (await withBearer(created.secret)).auth.me();
    expect(me.user.id).toBe(alice.id);
    expect(me.method).toBe("token");
  });

  it("read scope: queries pass, mutations answer FORBIDDEN token_scope; every call is audited with the token's name", async () => {
    const asAlice = callerFor(database.db, { user: alice, clock: time.clock });
    const { secret, token } = await asAlice.apiToken.create({
      name: "read-only bot",
      scope: { kind: "read" },
      expiresInDays: 7,
    });
    const asToken = await withBearer(secret);
    expect((await asToken.workspace.list({})).length).toBeGreaterThan(0);
    await expectRefusal(asToken.workspace.launch({ workspaceId: desktop.id }), "FORBIDDEN", "token_scope");
    // The owner's role still applies on top of the scope.
    await expectRefusal(asToken.audit.list({ limit: 5 }), "FORBIDDEN", "role_required");

    const uses = await database.db.audit.list({ action: "api_token.use", resourceId: token.id, limit: 10 });
    expect(uses.items.map((e) => [e.details.procedure, e.result, e.reason, e.details.token])).toEqual([
      ["audit.list", "denied", "role_required", "read-only bot"],
      ["workspace.launch", "denied", "token_scope", "read-only bot"],
      ["workspace.list", "success", null, "read-only bot"],
    ]);
    expect(uses.items.every((e) => e.actor.id === alice.id)).toBe(true);
  });

  it("procedure scope: exactly the listed procedures", async () => {
    const asAlice = callerFor(database.db, { user: alice, clock: time.clock });
    const { secret } = await asAlice.apiToken.create({
      name: "launcher",
      scope: { kind: "procedures", procedures: ["workspace.launch", "session.disconnect"] },
      expiresInDays: 1,
    });
    const asToken = await withBearer(secret);
    const session = await asToken.workspace.launch({ workspaceId: desktop.id });
    expect(session.userId).toBe(alice.id);
    await expectRefusal(asToken.session.active({}), "FORBIDDEN", "token_scope");
    const ended = await asToken.session.disconnect({ sessionId: session.id });
    expect(ended.status).toBe("ended");
  });

  it("no token can manage tokens, sign out or change secrets, whatever its scope says", async () => {
    const asAlice = callerFor(database.db, { user: alice, clock: time.clock });
    const escalation = {
      name: "escalate",
      scope: { kind: "procedures", procedures: ["apiToken.create"] },
      expiresInDays: 1,
    };
    expect(CreateApiTokenInputSchema.safeParse(escalation).success).toBe(false);
    const { secret } = await asAlice.apiToken.create({
      name: "r",
      scope: { kind: "read" },
      expiresInDays: 1,
    });
    const asToken = await withBearer(secret);
    await expectRefusal(asToken.apiToken.list({}), "FORBIDDEN", "token_scope");
    await expectRefusal(
      asToken.apiToken.create({ name: "child", scope: { kind: "read" }, expiresInDays: 1 }),
      "FORBIDDEN",
      "token_scope",
    );
  });

  it("refuses revoked, expired, forged tokens, and tokens presented as the session cookie", async () => {
    const asAlice = callerFor(database.db, { user: alice, clock: time.clock });
    const revoked = await asAlice.apiToken.create({ name: "old", scope: { kind: "read" }, expiresInDays: 1 });
    await asAlice.apiToken.revoke({ id: revoked.token.id });
    await expectRefusal((await withBearer(revoked.secret)).auth.me(), "UNAUTHORIZED", "token_revoked");

    const expiring = await asAlice.apiToken.create({
      name: "short",
      scope: { kind: "read" },
      expiresInDays: 1,
    });
    expect((await (await withBearer(expiring.secret)).auth.me()).user.id).toBe(alice.id);
    time.advance(86_401);
    await expectRefusal((await withBearer(expiring.secret)).auth.me(), "UNAUTHORIZED", "token_expired");

    const live = await asAlice.apiToken.create({ name: "live", scope: { kind: "read" }, expiresInDays: 2 });
    const forged = `${live.secret.slice(0, -4)}AAAA`;
    await expectRefusal((await withBearer(forged)).auth.me(), "UNAUTHORIZED", "invalid_token");
    await expectRefusal((await withBearer("neosc_not-a-token")).auth.me(), "UNAUTHORIZED", "invalid_token");
    await expectRefusal((await withCookie(live.secret)).auth.me(), "UNAUTHORIZED", "invalid_token");
  });

  it("lets only the owner or an admin revoke, and others learn nothing (NOT_FOUND)", async () => {
    const bob = (await createLocalUser(database.db, "user")).user;
    const asAlice = callerFor(database.db, { user: alice, clock: time.clock });
    const { token } = await asAlice.apiToken.create({
      name: "mine",
      scope: { kind: "read" },
      expiresInDays: 1,
    });
    await expectRefusal(
      callerFor(database.db, { user: bob, clock: time.clock }).apiToken.revoke({ id: token.id }),
      "NOT_FOUND",
      "not_found",
    );
    await callerFor(database.db, { user: admin, clock: time.clock }).apiToken.revoke({ id: token.id });
    const after = await asAlice.apiToken.list({});
    expect(after.find((t) => t.id === token.id)?.revokedAt).not.toBeNull();
  });
});

describe("service accounts", () => {
  it("an admin creates one with a role and a token for it; the token acts with that role", async () => {
    const asAdmin = callerFor(database.db, { user: admin, clock: time.clock });
    const account = await asAdmin.serviceAccount.create({ name: "CI Pipeline", role: "neosc" });
    expect(account.source).toBe("service");
    expect(account.email).toMatch(/^ci-pipeline-[0-9a-f]{6}@service-accounts\.invalid$/);

    const { secret } = await asAdmin.apiToken.create({
      name: "ci",
      scope: { kind: "read" },
      expiresInDays: 90,
      serviceAccountId: account.id,
    });
    const me = await (await withBearer(secret)).auth.me();
    expect(me.user).toMatchObject({ id: account.id, role: "neosc" });

    const listed = await asAdmin.serviceAccount.list();
    expect(listed.find((entry) => entry.user.id === account.id)?.activeTokens).toBe(1);
    expect((await asAdmin.apiToken.list({ serviceAccountId: account.id })).map((t) => t.name)).toEqual([
      "ci",
    ]);

    // Disabling the account stops its tokens at once.
    await asAdmin.user.disable({ userId: account.id });
    await expectRefusal((await withBearer(secret)).auth.me(), "UNAUTHORIZED", "account_disabled");
  });

  it("is admin-only, and a person cannot mint tokens for a service account", async () => {
    const asAdmin = callerFor(database.db, { user: admin, clock: time.clock });
    const account = await asAdmin.serviceAccount.create({ name: "Backup", role: "user" });
    const asAlice = callerFor(database.db, { user: alice, clock: time.clock });
    await expectRefusal(
      asAlice.serviceAccount.create({ name: "Mine", role: "admin" }),
      "FORBIDDEN",
      "role_required",
    );
    await expectRefusal(
      asAlice.apiToken.create({
        name: "x",
        scope: { kind: "read" },
        expiresInDays: 1,
        serviceAccountId: account.id,
      }),
      "FORBIDDEN",
      "role_required",
    );
    // A service account has no password: signing in as it fails like a wrong password.
    await expectRefusal(
      callerFor(database.db, { clock: time.clock }).auth.login({
        email: account.email,
        password: "anything-at-all",
      }),
      "UNAUTHORIZED",
      "invalid_credentials",
    );
  });
});
