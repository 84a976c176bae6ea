import { hashPassword } from "@neosc/auth/password";
import { issueSessionToken } from "@neosc/auth/session-token";
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
