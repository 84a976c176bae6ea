import type { ApiTokenScope } from "@neosc/core/api-token";
import type { LoginSession } from "@neosc/core/auth";
import type { DomainError } from "@neosc/core/errors";
import type { RecordingKind } from "@neosc/core/recording";
import type { Role } from "@neosc/core/roles";
import type { AuthMethod, User } from "@neosc/core/user";
import type { AppsAddressing } from "@neosc/core/web-app";
import type { WorkspaceHost } from "@neosc/core/workspace-host";
import type { Database } from "@neosc/db/database";

/** Who is calling, resolved once per request by the host (see `domain/identity/identity.ts`). */
export interface Identity {
  user: User;
  /** The app login session behind a bearer token or cookie; null for Pomerium assertions. */
  loginSession: LoginSession | null;
  method: AuthMethod;
  mfa: boolean;
  /** Set when the request carried an API token: its scope narrows what may be called. */
  apiToken?: ApiTokenGrant;
}

/** The API token behind a request (method `token`). */
export interface ApiTokenGrant {
  id: string;
  name: string;
  scope: ApiTokenScope;
}

export interface RequestInfo {
  /** Client address after the configured trusted proxy hops. */
  clientIp: string | null;
  userAgent: string | null;
}

/** Router settings; the host builds them from its environment. */
/** Where this install serves the web apps of its own catalogue (its API and its request inspector). */
export interface CatalogueAddresses {
  /** The API's own HTTP port on loopback (PORT). */
  apiPort: number;
  /** The request inspector's loopback port (NEOSC_INSPECTOR_PORT); 0: not started, left out. */
  inspectorPort: number;
}

export interface RouterConfig {
  session: {
    /** Lifetime of an app login session and its token. */
    ttlSeconds: number;
  };
  loginThrottle: {
    /** Failures are counted over this sliding window. */
    windowSeconds: number;
    /** Failures for one account inside the window before login is refused. */
    maxFailuresPerAccount: number;
    /**
     * Failures from one client IP inside the window before login is refused; also how many
     * sign-ups (`auth.register`) one client IP may attempt inside the window.
     */
    maxFailuresPerIp: number;
  };
  /** Issuer label shown by authenticator apps for TOTP enrolment. */
  totpIssuer: string;
  /**
   * How long after its `iat` an ID token from the SPA is accepted by `auth.sso` (default
   * `DEFAULT_ID_TOKEN_MAX_AGE_SECONDS`): the SPA posts it right after the redirect.
   */
  idTokenMaxAgeSeconds?: number;
  /**
   * The gateway's WebSocket URL handed out by `session.connect`: absent when it is mounted on this
   * server (`/gateway/connect`), `wss://workspace.portal.<domain>/gateway/connect` behind Pomerium.
   */
  gateway?: { url: string };
  /** Where web workspaces' sessions are served (their own origins); without it they cannot be opened. */
  apps?: AppsAddressing;
  /** Where the default catalogue's own web apps live (`workspace.reset`); default 8080 and 8090. */
  catalogue?: CatalogueAddresses;
}

/** An identity asserted by an external party (Zitadel ID token, Pomerium assertion). */
export interface ExternalIdentity {
  /** IdP subject (`sub`). */
  subject: string;
  email: string;
  /**
   * False when the IdP says the address is not verified (Zitadel: `email_verified` false or
   * absent); such an identity is never linked to an existing account by email. Undefined when the
   * source does not say (a Pomerium assertion without the claim).
   */
  emailVerified?: boolean;
  name: string | null;
  /** Roles the IdP sent; null when it sent none (the stored role then stays). */
  roles: Role[] | null;
  /** `amr` contained `mfa`. */
  mfa: boolean;
  /** From Zitadel's resourceowner claims. */
  organization: { externalId: string; name: string | null; domain: string | null } | null;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a mismatch; with a null hash it spends the same work and answers false. */
  verify(hash: string | null, password: string): Promise<boolean>;
  /** A random password for admin-created accounts, shown once. */
  generateOneTimePassword(): string;
  /** A random recovery code (`xxxxx-xxxxx`), shown once and stored with `hash`. */
  generateRecoveryCode(): string;
}

export interface SessionTokenClaims {
  /** The `auth_sessions` document id (JWT `jti`). */
  sessionId: string;
  userId: string;
}

export interface SessionTokens {
  issue(claims: SessionTokenClaims & { issuedAt: Date; expiresAt: Date }): Promise<string>;
  /**
   * Checks signature and expiry at `now`; throws (preferably an UNAUTHORIZED DomainError) when the
   * token is not one of ours or has expired. Revocation is checked by the caller.
   */
  verify(token: string, now: Date): Promise<SessionTokenClaims>;
}

export interface TotpService {
  /** A new secret and its `otpauth://` URI for an authenticator app. */
  create(account: string, issuer: string): { secret: string; otpauthUri: string };
  /** The time step the code belongs to (for replay protection), or null when it does not match. */
  verify(secret: string, code: string, at: Date): number | null;
}

export interface PomeriumVerifier {
  /** Verifies `X-Pomerium-Jwt-Assertion` at `now`; throws on any forgery, expiry or mismatch. */
  verify(assertion: string, now: Date): Promise<ExternalIdentity>;
}

/** A verified ID token: who it names, and what makes it usable once and only while young. */
export interface VerifiedIdToken {
  identity: ExternalIdentity;
  /** Stable for this token and no other (its issuer + `jti`, or a hash of its claims). */
  useKey: string;
  /** `iat`. */
  issuedAt: Date;
}

export interface OidcService {
  /** What the SPA needs to start a PKCE flow. */
  publicSettings: { issuer: string; clientId: string; scopes: string[] };
  verifyIdToken(idToken: string, options: { nonce?: string | undefined }): Promise<VerifiedIdToken>;
  exchangeCode(options: {
    code: string;
    codeVerifier: string;
    redirectUri: string;
    nonce?: string | undefined;
  }): Promise<ExternalIdentity>;
}

/** Outcome of one workspace launch, for metrics. */
export type LaunchResult = "success" | "denied" | "error";

/** Observer the host turns into Prometheus metrics. */
export interface ApiEvents {
  workspaceLaunched(result: LaunchResult, seconds: number): void;
}

/**
 * Per-request cookie writer: procedures that sign someone in or out call it, and the HTTP host
 * turns it into `Set-Cookie` (HttpOnly, SameSite=Lax, Secure under https).
 */
export interface ResponseCookies {
  setSession(token: string, expiresAt: Date): void;
  clearSession(): void;
}

/**
 * Reaches the workspace hosts: the in-process host in the embedded default, a host process over
 * its internal API otherwise. Which host runs a session is decided here (placement); the client
 * only carries the order out.
 */
export interface WorkspaceHostClient {
  /**
   * Starts the session's workspace on `hostId` and resolves once it accepts connections. Rejects
   * with an Error whose message can be shown to the person (the host says why, e.g. which
   * package is missing); the caller ends the session with `launch_failed`.
   */
  start(hostId: string, sessionId: string): Promise<void>;
  /** Best effort and idempotent: the host's reconciler also stops what belongs to ended sessions. */
  stop(hostId: string, sessionId: string): Promise<void>;
  /**
   * Whether this API can reach the host: its own in-process host, or one that announced an
   * internal URL while this API holds the hosts' token. Placement only considers these.
   */
  reaches(host: WorkspaceHost): boolean;
}

/**
 * The recordings folder as the API uses it (the gateway's store in @neosc/gateway satisfies it):
 * checks before a launch under `required`, verification, replay and retention.
 */
export interface RecordingFiles {
  /** Whether a recording can be written now. */
  writable(): Promise<boolean>;
  /** SHA-256 and size of a stored segment, or null when the file is not there. */
  hash(ref: RecordingSegmentRef): Promise<{ sha256: string; bytes: number } | null>;
  /** Up to `length` stored bytes from `offset`, and the file's size; null when it is not there. */
  readChunk(
    ref: RecordingSegmentRef,
    offset: number,
    length: number,
  ): Promise<{ bytes: Uint8Array; total: number } | null>;
  /** Deletes a stored segment; false when it was not there. */
  remove(ref: RecordingSegmentRef): Promise<boolean>;
}

/** One stored segment: a session's numbered segment of one kind. */
export interface RecordingSegmentRef {
  sessionId: string;
  segment: number;
  kind: RecordingKind;
}

/**
 * Signs audit checkpoints with a key held outside the database (@neosc/auth/audit-signing).
 * Every replica must hold the same key, or checkpoints one signed fail verification on another.
 */
export interface AuditSigner {
  keyId: string;
  sign(payload: string): string;
  verify(payload: string, signature: string): boolean;
}

/** Collaborators injected by the host (or a test), so nothing here reads the environment. */
export interface Services {
  auditSigner: AuditSigner;
  passwords: PasswordHasher;
  sessionTokens: SessionTokens;
  totp: TotpService;
  /** Present only when Pomerium trust is configured. */
  pomerium: PomeriumVerifier | null;
  /** Present only when Zitadel (OIDC) is configured. */
  oidc: OidcService | null;
  events: ApiEvents;
  responseCookies: ResponseCookies;
  /** Null when this API reaches no workspace host: desktops and apps are then unavailable. */
  workspaceHosts: WorkspaceHostClient | null;
  /** Null when this API has no recordings folder: `required` recording then refuses launches. */
  recordings: RecordingFiles | null;
}

/** The context every procedure receives; it holds no request object, so tests build it directly. */
export interface InnerContext {
  db: Database;
  clock: () => Date;
  config: RouterConfig;
  identity: Identity | null;
  /**
   * Why a presented credential (token, cookie, assertion) was refused. Public procedures ignore
   * it; procedures that need an identity answer with it instead of a bare "not signed in".
   */
  credentialError: DomainError | null;
  request: RequestInfo;
  services: Services;
}

/** The context of procedures behind the identity gate. */
export type AuthedContext = InnerContext & { identity: Identity };

export const noopEvents: ApiEvents = { workspaceLaunched: () => {} };

export const noopResponseCookies: ResponseCookies = { setSession: () => {}, clearSession: () => {} };

export interface CreateInnerContextOptions {
  db: Database;
  config: RouterConfig;
  services: Omit<Services, "events" | "responseCookies" | "workspaceHosts" | "recordings"> &
    Partial<Pick<Services, "events" | "responseCookies" | "workspaceHosts" | "recordings">>;
  identity?: Identity | null;
  credentialError?: DomainError | null;
  request?: Partial<RequestInfo>;
  clock?: () => Date;
}

export function createInnerContext(options: CreateInnerContextOptions): InnerContext {
  return {
    db: options.db,
    clock: options.clock ?? (() => new Date()),
    config: options.config,
    identity: options.identity ?? null,
    credentialError: options.credentialError ?? null,
    request: { clientIp: options.request?.clientIp ?? null, userAgent: options.request?.userAgent ?? null },
    services: {
      ...options.services,
      events: options.services.events ?? noopEvents,
      responseCookies: options.services.responseCookies ?? noopResponseCookies,
      workspaceHosts: options.services.workspaceHosts ?? null,
      recordings: options.services.recordings ?? null,
    },
  };
}
