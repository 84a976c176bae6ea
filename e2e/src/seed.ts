import { hashPassword } from "@neosc/auth/password";
import { issueSessionToken } from "@neosc/auth/session-token";
import { actorFor } from "@neosc/core/audit";
import type { Role } from "@neosc/core/roles";
import type { Workspace } from "@neosc/core/workspace";
import { connectDatabase } from "@neosc/db/database";

export interface SeededUser {
  id: string;
  email: string;
  /** A real app session token: a stored login session, signed with the API's session secret. */
  token: string;
}

/**
 * Creates many signed-in people quickly, through the same repositories and token code the API
 * uses: one password hash shared by all (argon2id per person would take minutes), one login
 * session document each, and its signed token. The API then resolves each token like any other.
 */
export async function seedSignedInUsers(options: {
  mongoUrl: string;
  dbName: string;
  sessionSecret: string;
  count: number;
  prefix: string;
  role?: Role;
  concurrency?: number;
}): Promise<SeededUser[]> {
  const connection = await connectDatabase({
    url: options.mongoUrl,
    dbName: options.dbName,
    maxPoolSize: 32,
  });
  try {
    const { db } = connection;
    const passwordHash = await hashPassword(`${options.prefix}-not-used-for-login`);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + 8 * 3600_000);
    const seeded: SeededUser[] = new Array(options.count);
    const concurrency = options.concurrency ?? 24;
    let next = 0;
    const worker = async () => {
      for (let index = next++; index < options.count; index = next++) {
        const email = `${options.prefix}-${index}@bench.test`;
        const user = await db.users.create({
          source: "local",
          email,
          name: `Bench Person ${index}`,
          role: options.role ?? "user",
          organizationId: null,
          passwordHash,
          mustChangePassword: false,
        });
        const session = await db.loginSessions.create({
          userId: user.id,
          method: "local",
          mfa: false,
          clientIp: null,
          userAgent: "neosc-bench",
          createdAt: now,
          expiresAt,
        });
        const { token } = await issueSessionToken(
          { secret: options.sessionSecret },
          { sessionId: session.id, userId: user.id, now, expiresAt },
        );
        seeded[index] = { id: user.id, email, token };
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return seeded;
  } finally {
    await connection.close();
  }
}

/**
 * Gives each person one running session of `workspace`, written through the sessions repository
 * (the launch path itself is what the benchmark measures, so the scene is set without it).
 */
export async function seedActiveSessions(options: {
  mongoUrl: string;
  dbName: string;
  users: readonly SeededUser[];
  workspace: Workspace;
  concurrency?: number;
}): Promise<void> {
  const connection = await connectDatabase({
    url: options.mongoUrl,
    dbName: options.dbName,
    maxPoolSize: 32,
  });
  try {
    const { db } = connection;
    const { workspace } = options;
    const now = new Date();
    let next = 0;
    const worker = async () => {
      for (let index = next++; index < options.users.length; index = next++) {
        const user = options.users[index] as SeededUser;
        const session = await db.sessions.createWithinLimit(
          {
            workspaceId: workspace.id,
            workspaceSlug: workspace.slug,
            workspaceName: workspace.name,
            workspaceKind: workspace.kind,
            userId: user.id,
            userEmail: user.email,
            organizationId: null,
            startedAt: now,
            clientIp: "127.0.0.1",
            connectionUrl: null,
            endsAt: new Date(now.getTime() + 8 * 3600_000),
            idleEndsAt: new Date(now.getTime() + 3600_000),
          },
          null,
        );
        if (session === null) throw new Error(`could not seed a session for ${user.email}`);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 24 }, worker));
  } finally {
    await connection.close();
  }
}

/**
 * Stored history, written as the real code writes it: `count` past sessions spread over `users`
 * and the last 30 days, each created through the sessions repository, audited as
 * `workspace.launch`, ended `user_stopped` and audited as `workspace.stop` (the audit entries
 * chained by `audit.append`, as the API appends them). Returns how many audit entries it added.
 */
export async function seedSessionHistory(options: {
  mongoUrl: string;
  dbName: string;
  users: readonly SeededUser[];
  workspace: Workspace;
  count: number;
  concurrency?: number;
}): Promise<number> {
  const connection = await connectDatabase({
    url: options.mongoUrl,
    dbName: options.dbName,
    maxPoolSize: 16,
  });
  try {
    const { db } = connection;
    const { workspace } = options;
    const now = Date.now();
    const thirtyDays = 30 * 24 * 3600_000;
    let next = 0;
    let appended = 0;
    const worker = async () => {
      for (let index = next++; index < options.count; index = next++) {
        const user = options.users[index % options.users.length] as SeededUser;
        const startedAt = new Date(now - thirtyDays + Math.floor((index / options.count) * thirtyDays));
        const endedAt = new Date(startedAt.getTime() + 20 * 60_000);
        const session = await db.sessions.createWithinLimit(
          {
            workspaceId: workspace.id,
            workspaceSlug: workspace.slug,
            workspaceName: workspace.name,
            workspaceKind: workspace.kind,
            userId: user.id,
            userEmail: user.email,
            organizationId: null,
            startedAt,
            clientIp: "127.0.0.1",
            connectionUrl: null,
            // No deadlines: a past start with past deadlines would race the API's sweeper to end it.
            endsAt: null,
            idleEndsAt: null,
          },
          null,
        );
        if (session === null) throw new Error(`could not seed a past session for ${user.email}`);
        const actor = actorFor({ id: user.id, email: user.email, role: "user" });
        await db.audit.append({
          actor,
          action: "workspace.launch",
          resource: { type: "workspace", id: workspace.id },
          clientIp: "127.0.0.1",
          userAgent: "neosc-bench",
          result: "success",
          reason: null,
          details: { sessionId: session.id, slug: workspace.slug, kind: workspace.kind, hostId: null },
        });
        const ended = await db.sessions.end(session.id, { reason: "user_stopped", at: endedAt });
        if (ended === null) throw new Error(`could not end the past session ${session.id}`);
        await db.audit.append({
          actor,
          action: "workspace.stop",
          resource: { type: "session", id: session.id },
          clientIp: "127.0.0.1",
          userAgent: "neosc-bench",
          result: "success",
          reason: "user_stopped",
          details: { userId: user.id, workspaceId: workspace.id },
        });
        appended += 2;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
    return appended;
  } finally {
    await connection.close();
  }
}
