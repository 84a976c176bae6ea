import { generateTotp } from "@neosc/auth/totp";
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { resolveIdentity } from "../../src/domain/identity/identity.ts";
import { domainErrorOf } from "../../src/errors.ts";
import {
  callerFor,
  createLocalUser,
  manualClock,
  RecordingCookies,
  testServices,
  uniqueEmail,
} from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";

const database = useTestDatabase();

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    const domain = domainErrorOf(error);
    return { code: error.code, reason: domain?.reason, retryAfterSeconds: domain?.retryAfterSeconds };
  }
  throw new Error("expected the call to fail");
}

function resolveToken(token: string, clock = () => new Date()) {
  return resolveIdentity(
    {
      db: database.db,
      clock,
      request: { clientIp: null, userAgent: null },
      services: { ...testServices(), responseCookies: new RecordingCookies() },
    },
    { bearerToken: token },
  );
}

describe("auth.login", () => {
  it("signs in with email and password, opens a login session and sets the cookie", async () => {
    const { email, password, user } = await createLocalUser(database.db, "user");
    const cookies = new RecordingCookies();
    const result = await callerFor(database.db, { cookies }).auth.login({
      email: email.toUpperCase(),
      password,
    });
    expect(result.user.id).toBe(user.id);
    expect(cookies.events).toEqual([{ kind: "set", token: result.token, expiresAt: result.expiresAt }]);

    const resolved = await resolveToken(result.token);
    expect(resolved.identity?.user.id).toBe(user.id);
    expect(resolved.identity?.method).toBe("local");
    expect(resolved.identity?.mfa).toBe(false);
    expect(resolved.identity?.loginSession?.expiresAt).toEqual(result.expiresAt);

    const audit = await database.db.audit.list({ action: "auth.login", actorEmail: email, limit: 5 });
    expect(audit.items[0]).toMatchObject({ result: "success", actor: { id: user.id } });
  });

  it("answers the same for a wrong password and an unknown email, and audits both", async () => {
    const { email } = await createLocalUser(database.db, "user");
    const wrongPassword = await rejection(
      callerFor(database.db).auth.login({ email, password: "not-the-password" }),
    );
    const unknown = uniqueEmail("ghost");
    const unknownEmail = await rejection(
      callerFor(database.db).auth.login({ email: unknown, password: "whatever" }),
    );
    expect(wrongPassword).toEqual({
      code: "UNAUTHORIZED",
      reason: "invalid_credentials",
      retryAfterSeconds: undefined,
    });
    expect(unknownEmail).toEqual(wrongPassword);
    const audit = await database.db.audit.list({ action: "auth.login", actorEmail: unknown, limit: 5 });
    expect(audit.items[0]).toMatchObject({ result: "denied", reason: "invalid_credentials" });
  });

  it("throttles an account after the configured failures, even with the right password", async () => {
    const { email, password } = await createLocalUser(database.db, "user");
    const caller = callerFor(database.db, { clientIp: "198.51.100.1" });
    for (let attempt = 0; attempt < 3; attempt++) {
      expect((await rejection(caller.auth.login({ email, password: "wrong-password" }))).reason).toBe(
        "invalid_credentials",
      );
    }
    // Another address, the right password: the account key still holds.
    const throttled = await rejection(
      callerFor(database.db, { clientIp: "198.51.100.2" }).auth.login({ email, password }),
    );
    expect(throttled.code).toBe("TOO_MANY_REQUESTS");
    expect(throttled.reason).toBe("throttled");
    expect(throttled.retryAfterSeconds).toBeGreaterThan(0);
    expect(throttled.retryAfterSeconds).toBeLessThanOrEqual(600);
    const audit = await database.db.audit.list({
      action: "auth.login",
      actorEmail: email,
      result: "denied",
      limit: 1,
    });
    expect(audit.items[0]?.reason).toBe("throttled");
  });

  it("lifts the throttle when the window has passed", async () => {
    const time = manualClock();
    const { email, password } = await createLocalUser(database.db, "user");
    const caller = () => callerFor(database.db, { clientIp: "198.51.100.3", clock: time.clock });
    for (let attempt = 0; attempt < 3; attempt++)
      await rejection(caller().auth.login({ email, password: "wrong-password" }));
    expect((await rejection(caller().auth.login({ email, password }))).code).toBe("TOO_MANY_REQUESTS");
    time.advance(601);
    await expect(caller().auth.login({ email, password })).resolves.toMatchObject({ user: { email } });
  });

  it("throttles one client address across accounts", async () => {
    const caller = callerFor(database.db, { clientIp: "203.0.113.77" });
    for (let attempt = 0; attempt < 6; attempt++) {
      await rejection(caller.auth.login({ email: uniqueEmail("spray"), password: "guess-guess" }));
    }
    const { email, password } = await createLocalUser(database.db, "user");
    expect((await rejection(caller.auth.login({ email, password }))).code).toBe("TOO_MANY_REQUESTS");
    await expect(
      callerFor(database.db, { clientIp: "203.0.113.78" }).auth.login({ email, password }),
    ).resolves.toMatchObject({ user: { email } });
  });

  it("refuses disabled accounts", async () => {
    const { email, password, user } = await createLocalUser(database.db, "user");
    await database.db.users.update(user.id, { disabled: true });
    expect(await rejection(callerFor(database.db).auth.login({ email, password }))).toMatchObject({
      code: "FORBIDDEN",
      reason: "account_disabled",
    });
  });

  it("is refused while the local-login policy is off", async () => {
    const { email, password } = await createLocalUser(database.db, "user");
    await database.db.policies.setEnabled("local-login", false, null);
    try {
      expect(await rejection(callerFor(database.db).auth.login({ email, password }))).toMatchObject({
        code: "FORBIDDEN",
        reason: "local_login_disabled",
      });
      expect((await callerFor(database.db).auth.config()).localLogin).toBe(false);
    } finally {
      await database.db.policies.setEnabled("local-login", true, null);
    }
  });

  it("applies the ip-allowlist policy", async () => {
    const { email, password } = await createLocalUser(database.db, "user");
    await database.db.policies.setSettings("ip-allowlist", { cidrs: ["10.0.0.0/8"] }, null);
    await database.db.policies.setEnabled("ip-allowlist", true, null);
    try {
      expect(
        await rejection(callerFor(database.db, { clientIp: "192.0.2.50" }).auth.login({ email, password })),
      ).toMatchObject({ code: "FORBIDDEN", reason: "ip_not_allowed" });
      await expect(
        callerFor(database.db, { clientIp: "10.1.2.3" }).auth.login({ email, password }),
      ).resolves.toMatchObject({ user: { email } });
    } finally {
      await database.db.policies.setEnabled("ip-allowlist", false, null);
    }
  });
});

describe("TOTP", () => {
  it("enrols, asks for the code at login, refuses a replayed code, and disables with a code", async () => {
    const time = manualClock();
    const { email, password, user } = await createLocalUser(database.db, "user");
    const signedIn = () => callerFor(database.db, { user, clock: time.clock });

    const { secret, otpauthUri } = await signedIn().auth.mfa.enroll({ password });
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    expect(await rejection(signedIn().auth.mfa.confirm({ code: "000000" }))).toMatchObject({
      code: "BAD_REQUEST",
      reason: "invalid_totp",
    });
    await signedIn().auth.mfa.confirm({ code: generateTotp(secret, time.clock()) });
    expect((await database.db.users.findById(user.id))?.totpEnabled).toBe(true);

    time.advance(60);
    const login = () => callerFor(database.db, { clock: time.clock, clientIp: "192.0.2.90" });
    expect(await rejection(login().auth.login({ email, password }))).toMatchObject({
      code: "UNAUTHORIZED",
      reason: "totp_required",
    });
    const code = generateTotp(secret, time.clock());
    const result = await login().auth.login({ email, password, totp: code });
    expect(result.user.totpEnabled).toBe(true);
    expect((await resolveToken(result.token, time.clock)).identity?.mfa).toBe(true);
    expect(await rejection(login().auth.login({ email, password, totp: code }))).toMatchObject({
      code: "UNAUTHORIZED",
      reason: "invalid_totp",
    });

    time.advance(60);
    const current = (await database.db.users.findById(user.id)) ?? user;
    await callerFor(database.db, { user: current, clock: time.clock }).auth.mfa.disable({
      code: generateTotp(secret, time.clock()),
    });
    expect((await database.db.users.findById(user.id))?.totpEnabled).toBe(false);
  });
});

describe("auth.register", () => {
  it("is closed while the self-registration policy is off", async () => {
    const input = { email: uniqueEmail("self"), name: "Self", password: "long-enough-password" };
    expect(await rejection(callerFor(database.db).auth.register(input))).toMatchObject({
      code: "FORBIDDEN",
      reason: "self_registration_closed",
    });
  });

  it("creates a `user` and never accepts a role", async () => {
    await database.db.policies.setEnabled("self-registration", true, null);
    try {
      const sneaky = {
        email: uniqueEmail("self"),
        name: "Self",
        password: "long-enough-password",
        role: "admin",
      };
      expect((await rejection(callerFor(database.db).auth.register(sneaky))).code).toBe("BAD_REQUEST");
      const input = { email: uniqueEmail("self"), name: "Self", password: "long-enough-password" };
      const result = await callerFor(database.db).auth.register(input);
      expect(result.user).toMatchObject({ email: input.email, role: "user", source: "local" });
      expect(await rejection(callerFor(database.db).auth.register(input))).toMatchObject({
        code: "CONFLICT",
        reason: "duplicate",
      });
    } finally {
      await database.db.policies.setEnabled("self-registration", false, null);
    }
  });
});

describe("auth.logout", () => {
  it("revokes this session (or every session) so the token is refused", async () => {
    const { email, password } = await createLocalUser(database.db, "user");
    const first = await callerFor(database.db).auth.login({ email, password });
    const second = await callerFor(database.db).auth.login({ email, password });
    const third = await callerFor(database.db).auth.login({ email, password });

    const asFirst = await resolveToken(first.token);
    const cookies = new RecordingCookies();
    await callerFor(database.db, {
      user: asFirst.identity?.user ?? null,
      loginSession: asFirst.identity?.loginSession ?? null,
      cookies,
    }).auth.logout();
    expect(cookies.events).toEqual([{ kind: "clear" }]);
    expect((await resolveToken(first.token)).credentialError?.reason).toBe("session_revoked");
    expect((await resolveToken(second.token)).identity).not.toBeNull();

    const asSecond = await resolveToken(second.token);
    await callerFor(database.db, {
      user: asSecond.identity?.user ?? null,
      loginSession: asSecond.identity?.loginSession ?? null,
    }).auth.logout({ everywhere: true });
    expect((await resolveToken(second.token)).credentialError?.reason).toBe("session_revoked");
    expect((await resolveToken(third.token)).credentialError?.reason).toBe("session_revoked");
  });

  it("answers a revoked token with its reason instead of a bare not-signed-in", async () => {
    const { email, password } = await createLocalUser(database.db, "user");
    const { token } = await callerFor(database.db).auth.login({ email, password });
    const resolved = await resolveToken(token);
    await database.db.loginSessions.revoke(resolved.identity?.loginSession?.id ?? "", new Date());
    const again = await resolveToken(token);
    const caller = callerFor(database.db, { credentialError: again.credentialError });
    expect(await rejection(caller.auth.me())).toMatchObject({
      code: "UNAUTHORIZED",
      reason: "session_revoked",
    });
  });

  it("refuses a token signed with another secret and a token for an expired session", async () => {
    const { email, password } = await createLocalUser(database.db, "user");
    const time = manualClock();
    const { token } = await callerFor(database.db, { clock: time.clock }).auth.login({ email, password });
    const forged = `${token.slice(0, -4)}AAAA`;
    expect((await resolveToken(forged)).credentialError?.reason).toBe("invalid_token");
    time.advance(3601);
    expect((await resolveToken(token, time.clock)).credentialError?.reason).toBe("session_expired");
  });
});

describe("auth.changePassword", () => {
  it("clears a one-time password; until then only me/changePassword/logout are open", async () => {
    const { email, password, user } = await createLocalUser(database.db, "neosc", {
      mustChangePassword: true,
    });
    const login = await callerFor(database.db).auth.login({ email, password });
    expect(login.user.mustChangePassword).toBe(true);
    const resolved = await resolveToken(login.token);
    const signedIn = callerFor(database.db, {
      user: resolved.identity?.user ?? null,
      loginSession: resolved.identity?.loginSession ?? null,
    });
    expect(await rejection(signedIn.workspace.list())).toMatchObject({
      code: "FORBIDDEN",
      reason: "password_change_required",
    });
    await expect(signedIn.auth.me()).resolves.toMatchObject({ user: { id: user.id } });

    expect(
      await rejection(
        signedIn.auth.changePassword({ currentPassword: "wrong-password", newPassword: "a-new-password-1" }),
      ),
    ).toMatchObject({ code: "FORBIDDEN", reason: "invalid_credentials" });
    await signedIn.auth.changePassword({ currentPassword: password, newPassword: "a-new-password-1" });

    const after = await database.db.users.findById(user.id);
    expect(after?.mustChangePassword).toBe(false);
    await expect(
      callerFor(database.db).auth.login({ email, password: "a-new-password-1" }),
    ).resolves.toMatchObject({ user: { mustChangePassword: false } });
    expect((await rejection(callerFor(database.db).auth.login({ email, password }))).reason).toBe(
      "invalid_credentials",
    );
    // The session that changed the password stays signed in.
    expect((await resolveToken(login.token)).identity).not.toBeNull();
  });
});
