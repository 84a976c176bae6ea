import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { issueSessionToken } from "@neosc/auth/session-token";
import { GATEWAY_PATH } from "@neosc/core/connection";
import type { WorkspaceSession } from "@neosc/core/session";
import type { User } from "@neosc/core/user";
import type { Database } from "@neosc/db/database";
import { createGateway, type Gateway, type GatewayOptions } from "../../src/gateway.ts";

export const ORIGIN = "http://portal.test";
export const COOKIE = "neosc_session";
export const SECRET = "gateway-tests-session-secret-0123456789abcdef";

export interface LogLine {
  level: "info" | "warn";
  details: Record<string, unknown>;
  message: string;
}

export interface TestGateway {
  gateway: Gateway;
  url: string;
  logs: LogLine[];
  close(): Promise<void>;
}

/** A gateway mounted at /gateway/connect on a loopback HTTP server, as the API mounts it. */
export async function startGateway(
  options: Pick<GatewayOptions, "db" | "endpoints"> & Partial<GatewayOptions>,
): Promise<TestGateway> {
  const logs: LogLine[] = [];
  const gateway = createGateway({
    allowedOrigins: new Set([ORIGIN]),
    pomerium: null,
    loginCookie: { name: COOKIE, secret: SECRET },
    logger: {
      info: (details, message) => logs.push({ level: "info", details, message }),
      warn: (details, message) => logs.push({ level: "warn", details, message }),
    },
    ...options,
  });
  const server: Server = createServer((_request, response) => response.writeHead(404).end());
  server.on("upgrade", (request, socket, head) => {
    if (new URL(request.url ?? "/", "http://x").pathname === GATEWAY_PATH)
      gateway.handleUpgrade(request, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    gateway,
    url: `ws://127.0.0.1:${port}${GATEWAY_PATH}`,
    logs,
    async close() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Launched {
  user: User;
  session: WorkspaceSession;
  loginSessionId: string;
  /** `neosc_session=<token>` of the person's login. */
  cookie: string;
  /** A fresh ticket for this session (what session.connect hands out; through Pomerium: a subject, no login). */
  ticket(options?: { subject?: string }): Promise<string>;
}

/** A person, their login and an active session, written as launch would write them. */
export async function launchSession(
  db: Database,
  options: {
    endsAt?: Date | null;
    idleEndsAt?: Date | null;
    now?: Date;
    kind?: "desktop" | "web" | "terminal";
    /** A catalogue entry the session is of (default: one that does not exist). */
    workspaceId?: string;
  } = {},
): Promise<Launched> {
  const now = options.now ?? new Date();
  const user = await db.users.create({
    source: "local",
    email: `${randomBytes(6).toString("hex")}@example.test`,
    name: "Person",
    role: "user",
    organizationId: null,
    passwordHash: "unused",
    mustChangePassword: false,
  });
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
  const session = await db.sessions.createWithinLimit(
    {
      workspaceId: options.workspaceId ?? "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
      workspaceSlug: options.kind ?? "desktop",
      workspaceName: options.kind === "web" ? "Web app" : "Desktop",
      workspaceKind: options.kind ?? "desktop",
      userId: user.id,
      userEmail: user.email,
      organizationId: null,
      startedAt: now,
      clientIp: null,
      connectionUrl: null,
      endsAt: options.endsAt ?? null,
      idleEndsAt: options.idleEndsAt ?? null,
    },
    null,
  );
  if (session === null) throw new Error("no session");
  return {
    user,
    session,
    loginSessionId: login.id,
    cookie: `${COOKIE}=${token}`,
    async ticket(options = {}) {
      const ticket = randomBytes(32).toString("base64url");
      const issuedAt = new Date();
      await db.connectTickets.issue(ticket, {
        sessionId: session.id,
        userId: user.id,
        loginSessionId: options.subject === undefined ? login.id : null,
        subject: options.subject ?? null,
        issuedAt,
        expiresAt: new Date(issuedAt.getTime() + 60_000),
      });
      return ticket;
    },
  };
}
