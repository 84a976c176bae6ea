import type {
  AuditEntry,
  AuditEvent,
  AuditFilter,
  AuditVerifyOutput,
  ListAuditInput,
} from "@neosc/core/audit";
import type { LoginSession } from "@neosc/core/auth";
import type { Page } from "@neosc/core/common";
import type { CreateOrganizationInput, Organization } from "@neosc/core/organization";
import type { Policy, PolicyKey, PolicyOf, PolicySettings } from "@neosc/core/policy";
import type { Role } from "@neosc/core/roles";
import type { ListSessionsInput, SessionEndReason, WorkspaceSession } from "@neosc/core/session";
import type { AuthMethod, ListUsersInput, User } from "@neosc/core/user";
import type {
  CreateWorkspaceInput,
  ListWorkspacesInput,
  UpdateWorkspaceInput,
  Workspace,
} from "@neosc/core/workspace";
import type { MongoClient } from "mongodb";
import { connectClient, createMongoClient, dbNameFromUrl, unavailable } from "./client.ts";
import { collectionsOf, ensureIndexes } from "./collections.ts";
import { createAuditRepository } from "./repositories/audit.ts";
import { createLoginAttemptsRepository } from "./repositories/login-attempts.ts";
import { createLoginSessionsRepository } from "./repositories/login-sessions.ts";
import { createOrganizationsRepository } from "./repositories/organizations.ts";
import { createPoliciesRepository } from "./repositories/policies.ts";
import { createSessionsRepository } from "./repositories/sessions.ts";
import { createUsersRepository } from "./repositories/users.ts";
import { createWorkspacesRepository } from "./repositories/workspaces.ts";

/*
 * The data layer's contract. Repositories speak @neosc/core types (`id`, never `_id`), never
 * return secrets except through `users.findAuthRecord*`, and throw
 * `DomainError("CONFLICT", "duplicate", ..., { details: { field } })` on unique violations.
 * Time-dependent decisions take the caller's `now`/`at`, so domain code keeps one clock.
 * Everything stays inside the FerretDB envelope (ARCHITECTURE §5): no transactions.
 */

// ---------------------------------------------------------------- users

export interface NewLocalUser {
  source: "local";
  email: string;
  name: string;
  role: Role;
  organizationId: string | null;
  passwordHash: string;
  /** True for admin-created accounts with a one-time password. */
  mustChangePassword: boolean;
}

/** A person seen for the first time through SSO or Pomerium (just-in-time). */
export interface NewExternalUser {
  source: Exclude<AuthMethod, "local">;
  email: string;
  name: string;
  role: Role;
  organizationId: string | null;
  externalId: string;
}

export type NewUser = NewLocalUser | NewExternalUser;

export interface UserPatch {
  email?: string;
  name?: string;
  role?: Role;
  organizationId?: string | null;
  disabled?: boolean;
  mustChangePassword?: boolean;
  source?: AuthMethod;
  externalId?: string | null;
}

/** What login needs and nothing else may see: the password hash and the TOTP secret. */
export interface UserAuthRecord {
  user: User;
  passwordHash: string | null;
  /** Set while enrolling (user.totpEnabled false) and once confirmed (totpEnabled true). */
  totpSecret: string | null;
}

export interface UserCountFilter {
  role?: Role;
  disabled?: boolean;
  organizationId?: string | null;
}

export interface UsersRepository {
  create(input: NewUser): Promise<User>;
  findById(id: string): Promise<User | null>;
  /** Case-insensitive (emails are stored lower-case). */
  findByEmail(email: string): Promise<User | null>;
  /** IdP subject (Zitadel `sub`, also what Pomerium forwards). */
  findByExternalId(externalId: string): Promise<User | null>;
  findAuthRecordByEmail(email: string): Promise<UserAuthRecord | null>;
  findAuthRecordById(id: string): Promise<UserAuthRecord | null>;
  /** Sorted by email ascending; keyset cursor. `search` matches email or name (substring). */
  list(input: ListUsersInput): Promise<Page<User>>;
  /** Returns the updated user, or null when there is no such user. */
  update(id: string, patch: UserPatch): Promise<User | null>;
  setPassword(
    id: string,
    passwordHash: string,
    options: { mustChangePassword: boolean },
  ): Promise<User | null>;
  /** Enrol: `{ secret, enabled: false }`; confirm: `{ secret, enabled: true }`; disable: `{ secret: null, enabled: false }`. */
  setTotp(id: string, totp: { secret: string | null; enabled: boolean }): Promise<User | null>;
  /**
   * Marks a TOTP time step as used (replay protection). Compare-and-set: true only if `step` is
   * later than every step used before by this user.
   */
  consumeTotpStep(id: string, step: number): Promise<boolean>;
  recordLogin(id: string, at: Date): Promise<void>;
  count(filter?: UserCountFilter): Promise<number>;
  /** Every role present as a key (0 when nobody has it). */
  countByRole(filter?: { disabled?: boolean }): Promise<Record<Role, number>>;
  /** organizationId → number of members (users without organization are not counted). */
  countByOrganization(): Promise<Record<string, number>>;
}

// ---------------------------------------------------------------- organizations

export interface NewOrganization extends CreateOrganizationInput {
  externalId?: string | null;
}

export interface OrganizationsRepository {
  create(input: NewOrganization): Promise<Organization>;
  findById(id: string): Promise<Organization | null>;
  findBySlug(slug: string): Promise<Organization | null>;
  findByExternalId(externalId: string): Promise<Organization | null>;
  /**
   * Just-in-time organization from IdP claims: returns the existing one (name refreshed) or
   * creates it. Safe under concurrent logins (the id is derived from `externalId`); the slug is
   * derived from the name and suffixed when taken.
   */
  upsertByExternalId(input: {
    externalId: string;
    name: string;
    domain?: string | null;
  }): Promise<Organization>;
  /** Sorted by name. */
  list(): Promise<Organization[]>;
  update(id: string, patch: { name?: string; domain?: string | null }): Promise<Organization | null>;
  count(): Promise<number>;
}

// ---------------------------------------------------------------- workspaces

export interface WorkspaceFilter extends NonNullable<ListWorkspacesInput> {
  /** Only workspaces of these organizations (`null` = global workspaces). */
  organizationIds?: (string | null)[];
}

export interface WorkspacesRepository {
  create(input: CreateWorkspaceInput): Promise<Workspace>;
  findById(id: string): Promise<Workspace | null>;
  findBySlug(slug: string): Promise<Workspace | null>;
  /**
   * Sorted by name. `role` keeps workspaces whose allowedRoles contain it; `tag` one tag;
   * `search` substring of name/slug/description.
   */
  list(filter?: WorkspaceFilter): Promise<Workspace[]>;
  update(id: string, patch: UpdateWorkspaceInput["patch"]): Promise<Workspace | null>;
  /** True when it existed. */
  delete(id: string): Promise<boolean>;
  /**
   * Restores a catalogue: workspaces whose slug is in `inputs` are overwritten in place (ids kept,
   * so running sessions stay linked), all others removed (their ids returned).
   */
  replaceAll(inputs: CreateWorkspaceInput[]): Promise<{ workspaces: Workspace[]; removedIds: string[] }>;
  countAll(): Promise<{ total: number; enabled: number }>;
}

// ---------------------------------------------------------------- workspace sessions

/** What the domain supplies at launch; status, heartbeat and end fields are set by the repository. */
export interface NewWorkspaceSession {
  /** Optional: the caller may choose the id (the gateway connection URL contains it). */
  id?: string;
  workspaceId: string;
  workspaceSlug: string;
  workspaceName: string;
  workspaceKind: WorkspaceSession["workspaceKind"];
  userId: string;
  userEmail: string;
  organizationId: string | null;
  startedAt: Date;
  clientIp: string | null;
  connectionUrl: string | null;
  endsAt: Date | null;
  idleEndsAt: Date | null;
}

export interface ActiveSessionFilter {
  userId?: string;
  workspaceId?: string;
  organizationId?: string;
}

export type TimeUnit = "hour" | "day";

/** One UTC hour or day with at least one event (empty buckets are not returned). */
export interface BucketCount {
  start: Date;
  count: number;
}

export interface SessionsRepository {
  /**
   * Starts a session only while the person has fewer than `limit` active sessions (`null`: no
   * limit). Race-free without transactions: every active session occupies a numbered slot
   * (`<userId>:<n>`) under a unique index, so of many parallel launches only `limit` can take
   * the slots 0..limit-1. Returns null when all slots are taken.
   */
  createWithinLimit(session: NewWorkspaceSession, limit: number | null): Promise<WorkspaceSession | null>;
  findById(id: string): Promise<WorkspaceSession | null>;
  /** The person's active session of that workspace, if any (newest first when several). */
  findActiveByUserAndWorkspace(userId: string, workspaceId: string): Promise<WorkspaceSession | null>;
  listActiveByUser(userId: string): Promise<WorkspaceSession[]>;
  countActiveByUser(userId: string): Promise<number>;
  /** Newest first. */
  listActive(filter?: ActiveSessionFilter): Promise<WorkspaceSession[]>;
  countActive(filter?: ActiveSessionFilter): Promise<number>;
  /** Newest first (startedAt desc, id desc), keyset cursor. */
  list(input: ListSessionsInput): Promise<Page<WorkspaceSession>>;
  /** Only while active; returns the updated session or null. */
  heartbeat(id: string, update: { at: Date; idleEndsAt: Date | null }): Promise<WorkspaceSession | null>;
  /**
   * Compare-and-set: ends the session only if it is still active. Returns the ended session when
   * THIS call ended it, null when it was already ended (or does not exist).
   */
  end(
    id: string,
    end: { reason: SessionEndReason; at: Date; note?: string | null },
  ): Promise<WorkspaceSession | null>;
  /** Active sessions whose `endsAt` or `idleEndsAt` is at or before `now` (for the sweeper). */
  findExpired(now: Date, limit?: number): Promise<WorkspaceSession[]>;
  /** Launches (session starts) per UTC hour/day since `from`, oldest first. */
  launchesPerBucket(unit: TimeUnit, from: Date): Promise<BucketCount[]>;
  /** Most launched workspaces since `from`. */
  topWorkspaces(
    from: Date,
    limit: number,
  ): Promise<{ workspaceId: string; name: string; launches: number }[]>;
}

// ---------------------------------------------------------------- login sessions

export interface NewLoginSession {
  /** Optional: the caller may choose the id (it becomes the token's `jti`). */
  id?: string;
  userId: string;
  method: AuthMethod;
  mfa: boolean;
  clientIp: string | null;
  userAgent: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface LoginSessionsRepository {
  create(input: NewLoginSession): Promise<LoginSession>;
  findById(id: string): Promise<LoginSession | null>;
  /** Not revoked and `expiresAt` after `now`. */
  findActive(id: string, now: Date): Promise<LoginSession | null>;
  /** True when this call revoked it (it was not revoked before). */
  revoke(id: string, at: Date): Promise<boolean>;
  /** Revokes every unrevoked session of the person except `exceptId`; returns how many. */
  revokeAllForUser(userId: string, at: Date, options?: { exceptId?: string }): Promise<number>;
  /** Housekeeping: deletes sessions that expired before `before`. Returns how many. */
  deleteExpired(before: Date): Promise<number>;
}

// ---------------------------------------------------------------- audit

export interface AuditRepository {
  /**
   * Appends one link: assigns `seq` (next after the last, unique index, retried on conflict),
   * `at` (never earlier than the previous entry), `prevHash` and
   * `hash = sha256(canonicalJson(entry without hash))`. `details` are stored as plain JSON.
   */
  append(event: AuditEvent): Promise<AuditEntry>;
  /** Newest first (seq desc), keyset cursor. */
  list(input: ListAuditInput): Promise<Page<AuditEntry>>;
  /** Oldest first (seq asc), at most `limit` entries matching the filter (export). */
  scan(filter: AuditFilter, limit: number): Promise<AuditEntry[]>;
  /** Walks the whole chain by seq and reports the first broken link. */
  verify(): Promise<AuditVerifyOutput>;
  count(): Promise<number>;
}

// ---------------------------------------------------------------- policies

export interface PoliciesRepository {
  /** Inserts every missing policy with its default; never overwrites. Idempotent. */
  seedDefaults(at?: Date): Promise<void>;
  /** Every policy in POLICY_KEYS order (missing ones as their defaults). */
  list(): Promise<Policy[]>;
  get<K extends PolicyKey>(key: K): Promise<PolicyOf<K>>;
  setEnabled(key: PolicyKey, enabled: boolean, by: string | null): Promise<Policy>;
  /** Settings are validated against the policy's schema (BAD_REQUEST invalid_input otherwise). */
  setSettings<K extends PolicyKey>(
    key: K,
    settings: PolicySettings<K>,
    by: string | null,
  ): Promise<PolicyOf<K>>;
}

// ---------------------------------------------------------------- login attempts

export interface LoginAttemptsRepository {
  /**
   * Records one failed login under several throttle keys at once (e.g. `email:a@b.c` and
   * `ip:10.0.0.1`); it counts once in the failed-login statistics. Returns its id, so an attempt
   * recorded before its outcome was known can be forgotten again.
   */
  recordFailure(keys: string[], at: Date): Promise<string>;
  /**
   * Records one registration attempt under throttle keys (e.g. `register-ip:10.0.0.1`); it is
   * counted by `countSince` but is not a failed login in the statistics.
   */
  recordRegistration(keys: string[], at: Date): Promise<string>;
  /** Removes one recorded attempt entirely (it turned out not to be a failure). */
  forget(id: string): Promise<void>;
  /** Attempts under `key` at or after `since`, and the oldest of them (for Retry-After). */
  countSince(key: string, since: Date): Promise<{ count: number; oldestAt: Date | null }>;
  /** Forgets `key` for throttling (after a successful login); statistics keep the failures. */
  clear(key: string): Promise<void>;
  /** Failed logins per UTC hour/day since `from`, oldest first. */
  failuresPerBucket(unit: TimeUnit, from: Date): Promise<BucketCount[]>;
  /** Housekeeping: deletes failures older than `before`. Returns how many. */
  prune(before: Date): Promise<number>;
}

// ---------------------------------------------------------------- the database

export interface Database {
  users: UsersRepository;
  organizations: OrganizationsRepository;
  workspaces: WorkspacesRepository;
  sessions: SessionsRepository;
  loginSessions: LoginSessionsRepository;
  audit: AuditRepository;
  policies: PoliciesRepository;
  loginAttempts: LoginAttemptsRepository;
}

export interface ConnectDatabaseOptions {
  /** mongodb:// URL; credentials are never echoed in errors. */
  url: string;
  /** Defaults to the URL's path, else `neosc`. */
  dbName?: string;
  /** Connection pool size (default 20). */
  maxPoolSize?: number;
  /** How long to wait for a reachable server (default 5000 ms). */
  serverSelectionTimeoutMS?: number;
  connectTimeoutMS?: number;
  appName?: string;
  /** Creates indexes on connect (default true; idempotent). */
  ensureIndexes?: boolean;
  /** Clock for createdAt/updatedAt and audit `at` (default `() => new Date()`). */
  clock?: () => Date;
}

export interface DatabaseConnection {
  db: Database;
  client: MongoClient;
  dbName: string;
  /** Throws DomainError("UNAVAILABLE", "database_unavailable") when the server does not answer. */
  ping(): Promise<void>;
  ensureIndexes(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects, pings (failing with a clear UNAVAILABLE error that names the URL without
 * credentials) and ensures indexes.
 */
export async function connectDatabase(options: ConnectDatabaseOptions): Promise<DatabaseConnection> {
  const dbName = options.dbName ?? dbNameFromUrl(options.url) ?? "neosc";
  const clock = options.clock ?? (() => new Date());
  const client = createMongoClient(options);
  await connectClient(client, options.url, dbName);
  const collections = collectionsOf(client.db(dbName));
  const connection: DatabaseConnection = {
    db: {
      users: createUsersRepository(collections, clock),
      organizations: createOrganizationsRepository(collections, clock),
      workspaces: createWorkspacesRepository(collections, clock),
      sessions: createSessionsRepository(collections),
      loginSessions: createLoginSessionsRepository(collections),
      audit: createAuditRepository(collections, clock),
      policies: createPoliciesRepository(collections, clock),
      loginAttempts: createLoginAttemptsRepository(collections),
    },
    client,
    dbName,
    async ping() {
      try {
        await client.db(dbName).command({ ping: 1 });
      } catch (error) {
        throw unavailable(options.url, error);
      }
    },
    ensureIndexes: () => ensureIndexes(collections),
    close: () => client.close(),
  };
  if (options.ensureIndexes !== false) {
    try {
      await connection.ensureIndexes();
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
    }
  }
  return connection;
}
