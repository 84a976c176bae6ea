import { randomBytes } from "node:crypto";
import { issueSessionToken } from "@neosc/auth/session-token";
import type { Database } from "@neosc/db/database";
import { COOKIE, type Launched, SECRET } from "./gateway.ts";

export interface Watcher {
  user: Awaited<ReturnType<Database["users"]["create"]>>;
  loginSessionId: string;
  /** `neosc_session=<token>` of the watcher's login. */
  cookie: string;
}

/** Someone signed in who may ask to watch (an admin, unless said otherwise). */
export async function signedIn(db: Database, role: "admin" | "user" = "admin"): Promise<Watcher> {
  const user = await db.users.create({
    source: "local",
    email: `${randomBytes(6).toString("hex")}@example.test`,
    name: "Admin",
    role,
    organizationId: null,
    passwordHash: "unused",
    mustChangePassword: false,
  });
  const now = new Date();
  const login = await db.loginSessions.create({
    userId: user.id,
    method: "local",
    mfa: false,
    clientIp: null,
    userAgent: null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 3600_000),
  });
  const { token } = await issueSessionToken(
    { secret: SECRET },
    { sessionId: login.id, userId: user.id, now },
  );
  return { user, loginSessionId: login.id, cookie: `${COOKIE}=${token}` };
}

/** What `session.watch` stores for an admin (the router's test covers who may get one). */
export async function watchTicket(db: Database, launched: Launched, watcher: Watcher): Promise<string> {
  const ticket = randomBytes(32).toString("base64url");
  const issuedAt = new Date();
  await db.connectTickets.issue(ticket, {
    sessionId: launched.session.id,
    userId: watcher.user.id,
    loginSessionId: watcher.loginSessionId,
    subject: null,
    issuedAt,
    expiresAt: new Date(issuedAt.getTime() + 60_000),
    watch: true,
  });
  return ticket;
}
