import { randomUUID } from "node:crypto";
// The services the API runs, not a copy: the wiring lives in the API (it is the host's choice),
// and a package dependency router → api would be a cycle, so the tests reach the file directly.
import { parseAuditSigningKey } from "@neosc/auth/audit-signing";
import type { LoginSession } from "@neosc/core/auth";
import type { DomainError } from "@neosc/core/errors";
import type { Role } from "@neosc/core/roles";
import type { AuthMethod, User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import type { Database } from "@neosc/db/database";
import { createAuthServices, passwordHasher } from "../../../../apps/api/src/auth-services.ts";
import {
  createInnerContext,
  type ExternalIdentity,
  type Identity,
  type InnerContext,
  type OidcService,
  type PomeriumVerifier,
  type ResponseCookies,
  type RouterConfig,
  type WorkspaceHostClient,
} from "../../src/context.ts";
import { appRouter } from "../../src/root.ts";
import { createCallerFactory } from "../../src/trpc.ts";

export const TEST_SESSION_SECRET = "router-tests-session-secret-0123456789abcdef";
export const TEST_AUDIT_SIGNING_KEY = parseAuditSigningKey(Buffer.alloc(32, 7).toString("base64"));

export const TEST_CONFIG: RouterConfig = {
  session: { ttlSeconds: 3600 },
  loginThrottle: { windowSeconds: 600, maxFailuresPerAccount: 3, maxFailuresPerIp: 6 },
  totpIssuer: "NeoSC test",
};

export const createCaller = createCallerFactory(appRouter);

/** Records what a procedure asked the HTTP host to do with the session cookie. */
export class RecordingCookies implements ResponseCookies {
  readonly events: ({ kind: "set"; token: string; expiresAt: Date } | { kind: "clear" })[] = [];
  setSession(token: string, expiresAt: Date) {
    this.events.push({ kind: "set", token, expiresAt });
  }
  clearSession() {
    this.events.push({ kind: "clear" });
  }
}

export interface TestContextOptions {
  user?: User | null;
  method?: AuthMethod;
  mfa?: boolean;
  loginSession?: LoginSession | null;
  clientIp?: string | null;
  clock?: () => Date;
  cookies?: ResponseCookies;
  oidc?: OidcService | null;
  pomerium?: PomeriumVerifier | null;
  config?: RouterConfig;
  credentialError?: DomainError | null;
  /** Default `acceptingHosts`; null: this API reaches no workspace host. */
  workspaceHosts?: WorkspaceHostClient | null;
}

/**
 * Stands in for the test host of `registerTestHost`: it accepts every start. Only the launch's
 * decisions are under test here; real starts are tested in packages/host and through the API.
 */
export const acceptingHosts: WorkspaceHostClient = {
  start: async () => {},
  stop: async () => {},
  reaches: () => true,
};

/** The real services (argon2, session tokens, TOTP) with optional stand-ins for the IdPs. */
export function testServices(options: Pick<TestContextOptions, "oidc" | "pomerium" | "workspaceHosts"> = {}) {
  return {
    ...createAuthServices({
      sessionSecret: TEST_SESSION_SECRET,
      auditSigningKey: TEST_AUDIT_SIGNING_KEY,
      pomerium: options.pomerium ?? null,
      oidc: options.oidc ?? null,
    }),
    workspaceHosts: options.workspaceHosts === undefined ? acceptingHosts : options.workspaceHosts,
  };
}

export function identityOf(
  user: User,
  options: Pick<TestContextOptions, "method" | "mfa" | "loginSession"> = {},
): Identity {
  return {
    user,
    loginSession: options.loginSession ?? null,
    method: options.method ?? "local",
    mfa: options.mfa ?? false,
  };
}

/** An inner context as the HTTP host would build it, for `createCaller`. */
export function makeContext(db: Database, options: TestContextOptions = {}): InnerContext {
  const user = options.user ?? null;
  return createInnerContext({
    db,
    config: options.config ?? TEST_CONFIG,
    services: {
      ...testServices(options),
      ...(options.cookies === undefined ? {} : { responseCookies: options.cookies }),
    },
    identity: user === null ? null : identityOf(user, options),
    credentialError: options.credentialError ?? null,
    request: {
      clientIp: options.clientIp === undefined ? "192.0.2.10" : options.clientIp,
      userAgent: "vitest",
    },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
}

export function callerFor(db: Database, options: TestContextOptions = {}) {
  return createCaller(makeContext(db, options));
}

/** Resets the default catalogue (as `options.user`, an admin); the entry of a slug, or the setup fails. */
export async function resetCatalogue(db: Database, options: TestContextOptions) {
  const { workspaces } = await callerFor(db, options).workspace.reset();
  return (slug: string): Workspace => {
    const found = workspaces.find((workspace) => workspace.slug === slug);
    if (found === undefined) throw new Error(`${slug} missing`);
    return found;
  };
}

let counter = 0;

/** A unique email for this run (test files share one server but not one database). */
export function uniqueEmail(prefix = "person"): string {
  counter += 1;
  return `${prefix}-${counter}-${randomUUID().slice(0, 8)}@example.test`;
}

export interface CreatedUser {
  user: User;
  email: string;
  password: string;
}

/** A local account with a known password, created through the repository. */
export async function createLocalUser(
  db: Database,
  role: Role,
  options: {
    email?: string;
    password?: string;
    mustChangePassword?: boolean;
    organizationId?: string | null;
  } = {},
): Promise<CreatedUser> {
  const email = options.email ?? uniqueEmail(role);
  const password = options.password ?? `pw-${randomUUID()}`;
  const user = await db.users.create({
    source: "local",
    email,
    name: `Test ${role}`,
    role,
    organizationId: options.organizationId ?? null,
    passwordHash: await passwordHasher.hash(password),
    mustChangePassword: options.mustChangePassword ?? false,
  });
  return { user, email, password };
}

/** A controllable clock starting now. */
export function manualClock(start = new Date()) {
  let now = start;
  return {
    clock: () => now,
    advance(seconds: number) {
      now = new Date(now.getTime() + seconds * 1000);
    },
    set(at: Date) {
      now = at;
    },
  };
}

/** An identity provider stand-in at the port boundary: answers with the identity it was given. */
export function fixedOidc(identity: ExternalIdentity | (() => ExternalIdentity)): OidcService {
  const next = typeof identity === "function" ? identity : () => identity;
  return {
    publicSettings: { issuer: "https://idp.example.test", clientId: "neosc", scopes: ["openid"] },
    verifyIdToken: async (idToken) => {
      if (idToken !== "valid-id-token") throw new Error("signature check failed");
      // A fresh token each call: this stand-in's tokens are not the ones one-use checks are about.
      return { identity: next(), useKey: `test:${randomUUID()}`, issuedAt: new Date() };
    },
    exchangeCode: async ({ code }) => {
      if (code !== "valid-code") throw new Error("invalid_grant");
      return next();
    },
  };
}
