import type { MongoClient } from "mongodb";
import { connectClient, createMongoClient, dbNameFromUrl, onCommand, unavailable } from "./client.ts";
import { collectionsOf, ensureIndexes } from "./collections.ts";
import { type ApiTokensRepository, createApiTokensRepository } from "./repositories/api-tokens.ts";
import { type AuditRepository, createAuditRepository } from "./repositories/audit.ts";
import {
  type AuditCheckpointsRepository,
  createAuditCheckpointsRepository,
} from "./repositories/audit-checkpoints.ts";
import {
  type ConnectTicketsRepository,
  createConnectTicketsRepository,
} from "./repositories/connect-tickets.ts";
import { createGatewayRepository, type GatewayRepository } from "./repositories/gateway.ts";
import { createIdTokenUsesRepository, type IdTokenUsesRepository } from "./repositories/id-token-uses.ts";
import {
  createLoginAttemptsRepository,
  type LoginAttemptsRepository,
} from "./repositories/login-attempts.ts";
import {
  createLoginSessionsRepository,
  type LoginSessionsRepository,
} from "./repositories/login-sessions.ts";
import { createOrganizationsRepository, type OrganizationsRepository } from "./repositories/organizations.ts";
import { createPoliciesRepository, type PoliciesRepository } from "./repositories/policies.ts";
import { createSessionsRepository, type SessionsRepository } from "./repositories/sessions.ts";
import { createUsersRepository, type UsersRepository } from "./repositories/users.ts";
import {
  createWorkspaceHostsRepository,
  type WorkspaceHostsRepository,
} from "./repositories/workspace-hosts.ts";
import { createWorkspacesRepository, type WorkspacesRepository } from "./repositories/workspaces.ts";

/*
 * The data layer's contract. Repositories speak @neosc/core types (`id`, never `_id`), never
 * return secrets except through `users.findAuthRecord*`, and throw
 * `DomainError("CONFLICT", "duplicate", ..., { details: { field } })` on unique violations.
 * Time-dependent decisions take the caller's `now`/`at`, so domain code keeps one clock.
 * Everything stays inside the FerretDB envelope (ARCHITECTURE §5): no transactions.
 */

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
  connectTickets: ConnectTicketsRepository;
  gateway: GatewayRepository;
  apiTokens: ApiTokensRepository;
  workspaceHosts: WorkspaceHostsRepository;
  idTokenUses: IdTokenUsesRepository;
  auditCheckpoints: AuditCheckpointsRepository;
}

/**
 * Bounded staleness of the shared copies (catalogue, policies, hosts) on other replicas: short
 * against anything a person notices, long against the request rate that would otherwise read them.
 */
export const DEFAULT_CACHE_MAX_AGE_MS = 1000;

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
  /**
   * Creates indexes on connect and builds what an upgraded install lacks (the per-person and per-host
   * load documents); default true, idempotent.
   */
  ensureIndexes?: boolean;
  /**
   * How long a replica serves its copy of the catalogue, the policies and the workspace hosts
   * before checking it is current (default 1000 ms; writes through this replica drop it at once).
   */
  cacheMaxAgeMs?: number;
  /** Clock for createdAt/updatedAt and audit `at` (default `() => new Date()`). */
  clock?: () => Date;
}

/** The collections that grow with use (history and people), which the admin pages scan. */
const GROWING_COLLECTIONS = ["sessions", "audit_logs", "users", "auth_sessions", "login_attempts", "claims"];

export interface DatabaseConnection {
  db: Database;
  client: MongoClient;
  dbName: string;
  /** Throws DomainError("UNAVAILABLE", "database_unavailable") when the server does not answer. */
  ping(): Promise<void>;
  ensureIndexes(): Promise<void>;
  /** Calls `listener` with each command's name (one database round trip each); returns an unsubscribe. */
  onCommand(listener: (commandName: string) => void): () => void;
  /** The growing collections holding at least `documents` documents (estimated counts). */
  collectionsOver(documents: number): Promise<{ collection: string; documents: number }[]>;
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
  const cache = { cacheMaxAgeMs: options.cacheMaxAgeMs ?? DEFAULT_CACHE_MAX_AGE_MS };
  const connection: DatabaseConnection = {
    db: {
      users: createUsersRepository(collections, clock),
      organizations: createOrganizationsRepository(collections, clock),
      workspaces: createWorkspacesRepository(collections, clock, cache),
      sessions: createSessionsRepository(collections),
      loginSessions: createLoginSessionsRepository(collections),
      audit: createAuditRepository(collections, clock),
      policies: createPoliciesRepository(collections, clock, cache),
      loginAttempts: createLoginAttemptsRepository(collections),
      connectTickets: createConnectTicketsRepository(collections),
      gateway: createGatewayRepository(collections),
      apiTokens: createApiTokensRepository(collections),
      workspaceHosts: createWorkspaceHostsRepository(collections, cache),
      idTokenUses: createIdTokenUsesRepository(collections),
      auditCheckpoints: createAuditCheckpointsRepository(collections),
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
    onCommand: (listener) => onCommand(client, listener),
    async collectionsOver(documents) {
      const sizes = await Promise.all(
        GROWING_COLLECTIONS.map(async (collection) => ({
          collection,
          documents: await client.db(dbName).collection(collection).estimatedDocumentCount(),
        })),
      );
      return sizes.filter((size) => size.documents >= documents);
    },
    close: () => client.close(),
  };
  if (options.ensureIndexes !== false) {
    try {
      await connection.ensureIndexes();
      await connection.db.sessions.indexPeople();
      await connection.db.sessions.indexHostLoads();
      await connection.db.sessions.indexActiveSessions();
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
    }
  }
  return connection;
}
