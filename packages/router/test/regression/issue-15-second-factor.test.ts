import { generateTotp } from "@neosc/auth/totp";
import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { resolveIdentity } from "../../src/domain/identity/identity.ts";
import {
  callerFor,
  createLocalUser,
  manualClock,
  RecordingCookies,
  testServices,
} from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";
import { expectRefusal, outcomeOf } from "../support/expect-error.ts";

/*
 * Issue 15, second factor: ten recovery codes at enrolment (hashed, single-use, audited,
 * regenerated with the password), enrolment only after the password again, a step-up of the
 * current sign-in that every replica sees (it is stored on the login session), and an admin's
 * reset that ends every sign-in and session of the person.
 */

const database = useTestDatabase();
let admin: User;
let desktop: Workspace;

beforeAll(async () => {
  admin = (await createLocalUser(database.db, "admin")).user;
  const { workspaces } = await callerFor(database.db, { user: admin }).workspace.reset();
  const found = workspaces.find((w) => w.slug === "linux-desktop");
  if (found === undefined) throw new Error("linux-desktop missing");
  desktop = found;
});

afterEach(async () => {
  await database.db.policies.setEnabled("mfa-required", false, null);
});

/** The identity a fresh request with this token resolves to (what any replica would see). */
async function resolved(token: string, clock: () => Date) {
  const { identity } = await resolveIdentity(
    {
      db: database.db,
      clock,
      request: { clientIp: null, userAgent: null },
      services: { ...testServices(), responseCookies: new RecordingCookies() },
    },
    { bearerToken: token },
  );
  if (identity === null) throw new Error("the token did not resolve");
  return identity;
}

/** A person with an authenticator, their secret, recovery codes and the clock the codes follow. */
async function enrolledPerson() {
  const time = manualClock();
  const created = await createLocalUser(database.db, "user");
  const asPerson = () => callerFor(database.db, { user: created.user, clock: time.clock, clientIp: null });
  const { secret } = await asPerson().auth.mfa.enroll({ password: created.password });
  const { recoveryCodes } = await asPerson().auth.mfa.confirm({ code: generateTotp(secret, time.clock()) });
  time.advance(60);
  return { ...created, time, secret, recoveryCodes };
}

async function auditOf(action: string, userId: string) {
  return (await database.db.audit.list({ action, limit: 20 })).items.filter(
    (entry) => entry.resource.id === userId || entry.actor.id === userId,
  );
}

describe("auth.mfa.enroll asks for the password again", () => {
  it("refuses a wrong password with 403 invalid_credentials, audits it and changes nothing", async () => {
    const { user, password } = await createLocalUser(database.db, "user");
    const asPerson = callerFor(database.db, { user, clientIp: null });
    await expectRefusal(
      asPerson.auth.mfa.enroll({ password: `${password}-wrong` }),
      "FORBIDDEN",
      "invalid_credentials",
    );
    const record = await database.db.users.findAuthRecordById(user.id);
    expect(record?.totpSecret).toBeNull();
    expect(record?.user.totpEnabled).toBe(false);
    const [denied] = await auditOf("auth.mfa.enroll", user.id);
    expect(denied).toMatchObject({ result: "denied", reason: "invalid_credentials", actor: { id: user.id } });

    await expect(asPerson.auth.mfa.enroll({ password })).resolves.toMatchObject({
      secret: expect.any(String),
    });
  });
});

describe("recovery codes", () => {
  it("come as ten at enrolment, are stored as argon2id hashes and each signs in once, audited", async () => {
    const { user, email, password, recoveryCodes, time } = await enrolledPerson();
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);

    const stored = await database.db.users.findAuthRecordById(user.id);
    expect(stored?.recoveryCodes).toHaveLength(10);
    const serialized = JSON.stringify(stored);
    for (const code of recoveryCodes) {
      expect(serialized).not.toContain(code);
      expect(serialized).not.toContain(code.replace("-", ""));
    }
    for (const { hash } of stored?.recoveryCodes ?? []) expect(hash).toMatch(/^\$argon2id\$/);

    const login = () => callerFor(database.db, { clock: time.clock, clientIp: null });
    const code = recoveryCodes[3] ?? "";
    // Typed as people type: upper case, no dash.
    const signedIn = await login().auth.login({
      email,
      password,
      recoveryCode: code.replace("-", "").toUpperCase(),
    });
    expect((await resolved(signedIn.token, time.clock)).mfa).toBe(true);
    const [used] = await auditOf("auth.mfa.recoveryCodeUsed", user.id);
    expect(used).toMatchObject({ result: "success", details: { during: "auth.login", left: 9 } });

    const again = await outcomeOf(login().auth.login({ email, password, recoveryCode: code }));
    expect(again).toBe("invalid_totp");
    const me = await callerFor(database.db, { user: { ...user, totpEnabled: true } }).auth.me();
    expect(me.recoveryCodesLeft).toBe(9);
  });

  it("are replaced with the password: the old ones stop working, a wrong password changes nothing", async () => {
    const { user, email, password, recoveryCodes, time } = await enrolledPerson();
    const enrolled = { ...user, totpEnabled: true };
    const asPerson = callerFor(database.db, { user: enrolled, clock: time.clock, clientIp: null });
    await expectRefusal(
      asPerson.auth.mfa.regenerateRecoveryCodes({ password: "not-the-password" }),
      "FORBIDDEN",
      "invalid_credentials",
    );
    const [denied] = await auditOf("auth.mfa.regenerateRecoveryCodes", user.id);
    expect(denied).toMatchObject({ result: "denied", reason: "invalid_credentials" });
    const { recoveryCodes: fresh } = await asPerson.auth.mfa.regenerateRecoveryCodes({ password });
    expect(fresh).toHaveLength(10);
    const [regenerated] = await auditOf("auth.mfa.regenerateRecoveryCodes", user.id);
    expect(regenerated).toMatchObject({ result: "success" });

    const login = () => callerFor(database.db, { clock: time.clock, clientIp: null });
    expect(
      await outcomeOf(login().auth.login({ email, password, recoveryCode: recoveryCodes[0] ?? "" })),
    ).toBe("invalid_totp");
    expect(await outcomeOf(login().auth.login({ email, password, recoveryCode: fresh[0] ?? "" }))).toBe("ok");
  });
});

describe("auth.mfa.stepUp", () => {
  it("raises the current sign-in in the database, so a launch refused for mfa-required then starts", async () => {
    const { user, email, password, secret, time } = await enrolledPerson();
    const signedIn = await callerFor(database.db, { clock: time.clock, clientIp: null }).auth.login({
      email,
      password,
      totp: generateTotp(secret, time.clock()),
    });
    // A password-only sign-in of the same person, as if their authenticator arrived later.
    const session = await database.db.loginSessions.create({
      userId: user.id,
      method: "local",
      mfa: false,
      clientIp: null,
      userAgent: null,
      createdAt: time.clock(),
      expiresAt: new Date(time.clock().getTime() + 3_600_000),
    });
    expect(signedIn.user.totpEnabled).toBe(true);
    const enrolled = signedIn.user;
    const asSession = () =>
      callerFor(database.db, {
        user: enrolled,
        loginSession: session,
        mfa: false,
        clock: time.clock,
        clientIp: null,
      });

    await database.db.policies.setEnabled("mfa-required", true, null);
    const refused = await expectRefusal(
      asSession().workspace.launch({ workspaceId: desktop.id }),
      "FORBIDDEN",
      "mfa_required",
    );
    expect(refused.message).toBe("Enter a code from your authenticator app to launch workspaces");

    time.advance(60);
    await expectRefusal(asSession().auth.mfa.stepUp({ code: "000000" }), "BAD_REQUEST", "invalid_totp");
    expect((await database.db.loginSessions.findById(session.id))?.mfa).toBe(false);
    await asSession().auth.mfa.stepUp({ code: generateTotp(secret, time.clock()) });

    const stored = await database.db.loginSessions.findById(session.id);
    expect(stored?.mfa).toBe(true);
    const [entry] = await auditOf("auth.mfa.stepUp", user.id);
    expect(entry).toMatchObject({
      result: "success",
      resource: { type: "login_session", id: session.id },
      details: { factor: "totp" },
    });
    // The next request (any replica) resolves the session from the database: two factors now.
    const raised = callerFor(database.db, {
      user: enrolled,
      loginSession: stored,
      mfa: stored?.mfa ?? false,
      clock: time.clock,
      clientIp: null,
    });
    await expect(raised.workspace.launch({ workspaceId: desktop.id })).resolves.toMatchObject({
      status: "active",
    });
  });

  it("takes a recovery code too, and tells someone without an authenticator to set one up", async () => {
    const { user, recoveryCodes, time } = await enrolledPerson();
    const session = await database.db.loginSessions.create({
      userId: user.id,
      method: "local",
      mfa: false,
      clientIp: null,
      userAgent: null,
      createdAt: time.clock(),
      expiresAt: new Date(time.clock().getTime() + 3_600_000),
    });
    const asSession = callerFor(database.db, {
      user: { ...user, totpEnabled: true },
      loginSession: session,
      clock: time.clock,
      clientIp: null,
    });
    await asSession.auth.mfa.stepUp({ recoveryCode: recoveryCodes[0] ?? "" });
    expect((await database.db.loginSessions.findById(session.id))?.mfa).toBe(true);
    const [used] = await auditOf("auth.mfa.recoveryCodeUsed", user.id);
    expect(used).toMatchObject({ details: { during: "auth.mfa.stepUp", left: 9 } });

    const { user: plain } = await createLocalUser(database.db, "user");
    const plainSession = await database.db.loginSessions.create({
      userId: plain.id,
      method: "local",
      mfa: false,
      clientIp: null,
      userAgent: null,
      createdAt: time.clock(),
      expiresAt: session.expiresAt,
    });
    await database.db.policies.setEnabled("mfa-required", true, null);
    const asPlain = callerFor(database.db, { user: plain, loginSession: plainSession, clientIp: null });
    const refused = await expectRefusal(
      asPlain.workspace.launch({ workspaceId: desktop.id }),
      "FORBIDDEN",
      "mfa_required",
    );
    expect(refused.message).toBe("Sign in with a second factor to launch workspaces");
    await expectRefusal(asPlain.auth.mfa.stepUp({ code: "123456" }), "BAD_REQUEST", "totp_not_enrolled");
  });
});

describe("user.resetMfa", () => {
  it("removes the factor and its codes, revokes every sign-in and ends every session with mfa_reset, audited", async () => {
    const { user, email, password, secret, time } = await enrolledPerson();
    const signedIn = await callerFor(database.db, { clock: time.clock, clientIp: null }).auth.login({
      email,
      password,
      totp: generateTotp(secret, time.clock()),
    });
    const identity = await resolved(signedIn.token, time.clock);
    const running = await callerFor(database.db, { ...identity, clock: time.clock }).workspace.launch({
      workspaceId: desktop.id,
    });

    const asAdmin = callerFor(database.db, { user: admin, clock: time.clock });
    await expectRefusal(
      callerFor(database.db, { user }).user.resetMfa({ userId: user.id }),
      "FORBIDDEN",
      "role_required",
    );
    const reset = await asAdmin.user.resetMfa({ userId: user.id });
    expect(reset.totpEnabled).toBe(false);

    const record = await database.db.users.findAuthRecordById(user.id);
    expect(record).toMatchObject({ totpSecret: null, recoveryCodes: [] });
    expect(
      (await database.db.loginSessions.findById(identity.loginSession?.id ?? ""))?.revokedAt,
    ).not.toBeNull();
    expect(await database.db.sessions.findById(running.id)).toMatchObject({
      status: "ended",
      endReason: "mfa_reset",
    });
    const [entry] = await auditOf("user.resetMfa", user.id);
    expect(entry).toMatchObject({
      actor: { id: admin.id },
      result: "success",
      details: { revokedLoginSessions: 1, endedSessions: 1, recoveryCodesRemoved: 10 },
    });
    // They sign in with the password alone again, and can enrol anew.
    await expect(
      callerFor(database.db, { clock: time.clock, clientIp: null }).auth.login({ email, password }),
    ).resolves.toMatchObject({ user: { totpEnabled: false } });
    await expectRefusal(asAdmin.user.resetMfa({ userId: user.id }), "BAD_REQUEST", "totp_not_enrolled");
  });
});
