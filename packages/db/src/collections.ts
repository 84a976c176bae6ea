import type { ApiToken } from "@neosc/core/api-token";
import type { AuditCheckpoint, AuditEntry } from "@neosc/core/audit";
import type { LoginSession } from "@neosc/core/auth";
import type { WorkspaceEndpoint } from "@neosc/core/endpoint";
import type { Organization } from "@neosc/core/organization";
import type { PolicyKey } from "@neosc/core/policy";
import type { WorkspaceSession } from "@neosc/core/session";
import type { User } from "@neosc/core/user";
import type { SshCredential, Workspace } from "@neosc/core/workspace";
import type { WorkspaceHost } from "@neosc/core/workspace-host";
import type { Collection, Db, IndexDescription } from "mongodb";
import { isDuplicateKeyError } from "./errors.ts";

/** Stored shape of an entity: `_id` instead of `id`, plus storage-only fields. */
type Stored<T extends { id: string }> = Omit<T, "id"> & { _id: string };

export interface UserDoc extends Stored<User> {
  passwordHash: string | null;
  totpSecret: string | null;
  /** Last TOTP time step accepted (replay protection); 0 when none. */
  totpLastStep: number;
  /** The current set of recovery codes (argon2id hashes); absent on accounts made before them. */
  recoveryCodes?: RecoveryCodeDoc[];
}
/** One recovery code: its hash and when it was used (each is good once; `id` names its claim). */
export interface RecoveryCodeDoc {
  id: string;
  hash: string;
  usedAt: Date | null;
}
export type OrganizationDoc = Stored<Organization>;
export interface WorkspaceDoc extends Stored<Omit<Workspace, "hasVncPassword" | "hasSshCredential">> {
  /** The static target's VNC password; read only by `findVncPassword`, never mapped to a Workspace. */
  vncPassword: string | null;
  /** The ssh target's login; read only by `findSshCredential`, never mapped to a Workspace. */
  sshCredential: SshCredential | null;
}
export interface SessionDoc extends Stored<WorkspaceSession> {
  /** Where its workspace listens, written by its host once started (no secret: see endpoint.ts). */
  endpoint?: Omit<WorkspaceEndpoint, "secret"> | null;
  /** `<userId>:<n>` while active (unique: the concurrency slot), `ended:<id>` afterwards. */
  slotKey: string;
  /** UTC hour and day of `startedAt`, so statistics group on plain fields. */
  startHour: Date;
  startDay: Date;
  /** Open watches (`session.watch`), one lease per watching connection (see `setWatch`). */
  watches?: { connectionId: string; until: Date }[];
}
export type WorkspaceHostDoc = Stored<WorkspaceHost>;
export type LoginSessionDoc = Stored<LoginSession>;
export type AuditDoc = Stored<AuditEntry>;
/** The latest signed checkpoint of the audit chain, under `_id: "latest"`. */
export interface AuditCheckpointDoc extends AuditCheckpoint {
  _id: string;
}
/** The secret is stored only as its SHA-256 (it is 256 random bits: a slow hash adds nothing). */
export interface ApiTokenDoc extends Stored<Omit<ApiToken, "ownerEmail" | "prefix">> {
  secretHash: string;
}
export interface PolicyDoc {
  _id: PolicyKey;
  enabled: boolean;
  settings: Record<string, unknown>;
  updatedAt: Date;
  updatedBy: string | null;
}
export interface LoginAttemptDoc {
  _id: string;
  /** Throttle keys still counting this failure (cleared keys are pulled out). */
  keys: string[];
  at: Date;
  hour: Date;
  day: Date;
  /** Absent for failed logins; registrations are throttled here but are no failed logins. */
  kind?: "registration";
}

/**
 * A marker for something that must happen once (a session ending, a TOTP step being used).
 * Claimed by inserting `_id`: the unique `_id` lets exactly one writer win on MongoDB and on
 * FerretDB alike. (FerretDB 1.24 applies updates as read-modify-write of the whole document, so a
 * conditional update is NOT a compare-and-set there: two racing `{status: "active"}` updates can
 * both succeed, and a stale write can put back old values. Inserts under a unique index are
 * atomic on both.)
 */
export interface ClaimDoc {
  _id: string;
  at: Date;
  data: Record<string, unknown>;
}

/** Coordination state of the gateway replicas (see repositories/gateway.ts); all found by `_id`. */
export interface GatewayStateDoc {
  _id: string;
  at: Date;
  token?: string;
  replica?: string;
  connectionId?: string;
}

/**
 * A person's active workspace sessions (`_id` = their user id), so what every request needs about
 * them is one read by `_id` however many sessions are stored: the dashboard lists these copies and
 * the max-concurrent-sessions limit counts them. Written only under the person's write lock
 * (locks.ts) by the sessions repository: launch adds, end removes, input and heartbeats refresh a
 * copy. A copy whose session ended without its removal (a writer died in between) is dropped by
 * the next launch that would otherwise be refused.
 */
export interface PersonDoc {
  _id: string;
  sessions: SessionSnapshot[];
  updatedAt: Date;
}

/**
 * The active sessions placed on one workspace host (`_id` = the host id), so placement reads each
 * host's load by `_id` instead of counting sessions. Written only under the host's load lock
 * (locks.ts) by the sessions repository: launch adds the session, the end that wins its claim
 * removes it; a set of ids, so writing either twice changes nothing. A periodic recount from the
 * host's active sessions (its reconciler) repairs what a writer that died in between left.
 */
export interface HostLoadDoc {
  _id: string;
  sessions: string[];
  updatedAt: Date;
}

/**
 * One active session (`_id` = the session id), so what runs periodically on every replica (the
 * sweeper's deadlines, access hours, lost hosts; a host's orphan check and load recount; the admin
 * list of active sessions) reads this collection, whose size is what is active now, and then each
 * session by `_id`, instead of scanning `sessions`, which holds every session ever started.
 * A superset of the active sessions: the launch inserts the entry before the session (a launch that
 * dies in between leaves an entry without a session, dropped once older than a launch can take);
 * the end that wins the session's claim deletes it (an end that dies first leaves an entry whose
 * session is ended, dropped by the next reader that fetches it). `endsAt` and `idleEndsAt` follow
 * the session's (input moves `idleEndsAt`), never later than the session's own, so the sweeper
 * fetches every session that may be due and decides on the session itself.
 */
export interface ActiveSessionDoc {
  _id: string;
  userId: string;
  workspaceId: string;
  organizationId: string | null;
  hostId: string | null;
  endsAt: Date | null;
  idleEndsAt: Date | null;
  at: Date;
}

/** A session as the person document copies it (everything but where it listens). */
export type SessionSnapshot = Omit<SessionDoc, "endpoint">;

/**
 * Small documents found by a fixed `_id` (see repositories): the audit chain head, the catalogue
 * and policy versions, migration marks.
 */
export interface MarkerDoc {
  _id: string;
  at: Date;
  /** Changes on every write of what it versions (random, see repositories/cache.ts). */
  token?: string;
  seq?: number;
  hash?: string;
}

/**
 * Secondary keys as documents (`<kind>:<key>` → the id of the document holding it), so a lookup by
 * email or IdP subject is two reads by `_id` instead of a scan. A hint: the reader checks the
 * target still holds the key and falls back to a scan (and rewrites the hint) when not.
 */
export interface LookupDoc {
  _id: string;
  targetId: string;
  at: Date;
}

export const COLLECTION_NAMES = {
  users: "users",
  organizations: "organizations",
  workspaces: "workspaces",
  sessions: "sessions",
  loginSessions: "auth_sessions",
  audit: "audit_logs",
  policies: "policies",
  loginAttempts: "login_attempts",
  claims: "claims",
  gatewayState: "gateway_state",
  apiTokens: "api_tokens",
  workspaceHosts: "workspace_hosts",
  auditCheckpoints: "audit_checkpoints",
  people: "people",
  hostLoads: "host_loads",
  activeSessions: "active_sessions",
  markers: "markers",
  lookups: "lookups",
} as const;

export interface Collections {
  users: Collection<UserDoc>;
  organizations: Collection<OrganizationDoc>;
  workspaces: Collection<WorkspaceDoc>;
  sessions: Collection<SessionDoc>;
  loginSessions: Collection<LoginSessionDoc>;
  audit: Collection<AuditDoc>;
  policies: Collection<PolicyDoc>;
  loginAttempts: Collection<LoginAttemptDoc>;
  claims: Collection<ClaimDoc>;
  gatewayState: Collection<GatewayStateDoc>;
  apiTokens: Collection<ApiTokenDoc>;
  workspaceHosts: Collection<WorkspaceHostDoc>;
  auditCheckpoints: Collection<AuditCheckpointDoc>;
  people: Collection<PersonDoc>;
  hostLoads: Collection<HostLoadDoc>;
  activeSessions: Collection<ActiveSessionDoc>;
  markers: Collection<MarkerDoc>;
  lookups: Collection<LookupDoc>;
}

export function collectionsOf(db: Db): Collections {
  return {
    users: db.collection<UserDoc>(COLLECTION_NAMES.users),
    organizations: db.collection<OrganizationDoc>(COLLECTION_NAMES.organizations),
    workspaces: db.collection<WorkspaceDoc>(COLLECTION_NAMES.workspaces),
    sessions: db.collection<SessionDoc>(COLLECTION_NAMES.sessions),
    loginSessions: db.collection<LoginSessionDoc>(COLLECTION_NAMES.loginSessions),
    audit: db.collection<AuditDoc>(COLLECTION_NAMES.audit),
    policies: db.collection<PolicyDoc>(COLLECTION_NAMES.policies),
    loginAttempts: db.collection<LoginAttemptDoc>(COLLECTION_NAMES.loginAttempts),
    claims: db.collection<ClaimDoc>(COLLECTION_NAMES.claims),
    gatewayState: db.collection<GatewayStateDoc>(COLLECTION_NAMES.gatewayState),
    apiTokens: db.collection<ApiTokenDoc>(COLLECTION_NAMES.apiTokens),
    workspaceHosts: db.collection<WorkspaceHostDoc>(COLLECTION_NAMES.workspaceHosts),
    auditCheckpoints: db.collection<AuditCheckpointDoc>(COLLECTION_NAMES.auditCheckpoints),
    people: db.collection<PersonDoc>(COLLECTION_NAMES.people),
    hostLoads: db.collection<HostLoadDoc>(COLLECTION_NAMES.hostLoads),
    activeSessions: db.collection<ActiveSessionDoc>(COLLECTION_NAMES.activeSessions),
    markers: db.collection<MarkerDoc>(COLLECTION_NAMES.markers),
    lookups: db.collection<LookupDoc>(COLLECTION_NAMES.lookups),
  };
}

/*
 * Indexes, inside the FerretDB envelope: unique only on fields every document has, no TTL, no
 * partial or sparse indexes (expiry is done in code).
 */
export const INDEXES: { [K in keyof Collections]: IndexDescription[] } = {
  users: [
    { key: { email: 1 }, name: "email_unique", unique: true },
    { key: { externalId: 1 }, name: "externalId" },
    { key: { organizationId: 1 }, name: "organizationId" },
  ],
  organizations: [
    { key: { slug: 1 }, name: "slug_unique", unique: true },
    { key: { externalId: 1 }, name: "externalId" },
  ],
  workspaces: [{ key: { slug: 1 }, name: "slug_unique", unique: true }],
  sessions: [
    { key: { slotKey: 1 }, name: "slotKey_unique", unique: true },
    { key: { userId: 1, status: 1 }, name: "userId_status" },
    { key: { status: 1, startedAt: -1 }, name: "status_startedAt" },
    { key: { startedAt: -1 }, name: "startedAt" },
    { key: { hostId: 1, status: 1 }, name: "hostId_status" },
  ],
  loginSessions: [{ key: { userId: 1 }, name: "userId" }],
  audit: [
    { key: { seq: 1 }, name: "seq_unique", unique: true },
    { key: { at: 1 }, name: "at" },
  ],
  policies: [],
  loginAttempts: [
    { key: { keys: 1, at: 1 }, name: "keys_at" },
    { key: { at: 1 }, name: "at" },
  ],
  claims: [],
  gatewayState: [],
  apiTokens: [{ key: { ownerId: 1 }, name: "ownerId" }],
  workspaceHosts: [],
  auditCheckpoints: [],
  people: [],
  hostLoads: [],
  activeSessions: [],
  markers: [],
  lookups: [],
};

/**
 * Creates every index; safe to run on every start (existing identical indexes are kept). One index
 * per command: FerretDB 1.24 panics (connection closed) on a multi-index createIndexes when the
 * indexes already exist, i.e. on every restart of a persistent database.
 */
export async function ensureIndexes(collections: Collections): Promise<void> {
  for (const name of Object.keys(INDEXES) as (keyof Collections)[]) {
    for (const index of INDEXES[name]) await collections[name].createIndexes([index]);
  }
}

/** Start of the UTC hour / day containing `at`. */
export function hourOf(at: Date): Date {
  const start = new Date(at);
  start.setUTCMinutes(0, 0, 0);
  return start;
}

export function dayOf(at: Date): Date {
  const start = new Date(at);
  start.setUTCHours(0, 0, 0, 0);
  return start;
}

/** Drops undefined members, so a partial patch never writes `null` for a field it did not name. */
export function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/**
 * Inserts the claim; true when this call made it, false when it already existed (someone else
 * won). See ClaimDoc.
 */
export async function claimOnce(claims: Collection<ClaimDoc>, claim: ClaimDoc): Promise<boolean> {
  try {
    await claims.insertOne(claim);
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}
