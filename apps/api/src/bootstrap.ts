import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { generateAuditSigningKeyText } from "@neosc/auth/audit-signing";
import { SYSTEM_ACTOR } from "@neosc/core/audit";
import { isDomainError } from "@neosc/core/errors";
import type { Database } from "@neosc/db/database";
import type { CatalogueAddresses, PasswordHasher } from "@neosc/router/context";
import { seedDefaultCatalogue } from "@neosc/router/domain/workspaces/workspaces";
import type { Logger } from "pino";

/** A secret kept in a file of the data folder (0600), created on first use or when unusable. */
async function persistentSecret(file: string, generate: () => string, usable: (text: string) => boolean) {
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (usable(existing)) return existing;
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "ENOENT")) throw error;
  }
  await mkdir(path.dirname(file), { recursive: true });
  const secret = generate();
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return secret;
}

/** Embedded mode keeps the session secret beside the data, so restarts keep people signed in. */
export function persistentSessionSecret(dataDir: string): Promise<string> {
  return persistentSecret(
    path.join(dataDir, "session-secret"),
    () => randomBytes(48).toString("base64url"),
    (text) => Buffer.byteLength(text, "utf8") >= 32,
  );
}

/** The audit checkpoints' signing key when NEOSC_AUDIT_SIGNING_KEY is unset: beside, not in, the database. */
export function persistentAuditSigningKey(dataDir: string): Promise<string> {
  return persistentSecret(
    path.join(dataDir, "audit-signing-key"),
    generateAuditSigningKeyText,
    (text) => Buffer.from(text, "base64").length === 32,
  );
}

export interface BootstrapAdminOptions {
  email: string;
  /** Unset: a password is generated, printed once, and must be changed at first sign-in. */
  password: string | undefined;
  passwords: PasswordHasher;
  logger: Logger;
  /** Where the one-time notice goes (standard output by default). */
  announce?: (text: string) => void;
  /** Where the first catalogue's own web apps live (this install's ports). */
  catalogue?: CatalogueAddresses;
}

/**
 * What the first start did about the admin account, so the ready banner can say how to sign in:
 * `generated` (its password was printed once), `configured` (NEOSC_ADMIN_PASSWORD), `existing`
 * (an admin was there already), `blocked` (no admin, and the bootstrap email is someone else's).
 */
export type BootstrapOutcome = "generated" | "configured" | "existing" | "blocked";

/**
 * First start: seeds the policies and, when there is no admin at all, creates one. Safe to run on
 * every start and on several replicas at once (a duplicate from a racing replica is ignored).
 */
export async function bootstrapDatabase(
  db: Database,
  options: BootstrapAdminOptions,
): Promise<BootstrapOutcome> {
  await db.policies.seedDefaults();
  if ((await db.users.count({ role: "admin" })) > 0) return "existing";
  await seedDefaultCatalogue(db, options.catalogue);
  if ((await db.users.findByEmail(options.email)) !== null) {
    options.logger.warn(
      { email: options.email },
      "no admin exists and the bootstrap email belongs to a non-admin",
    );
    return "blocked";
  }
  const generated = options.password === undefined;
  const password = options.password ?? options.passwords.generateOneTimePassword();
  try {
    await db.users.create({
      source: "local",
      email: options.email,
      name: "Administrator",
      role: "admin",
      organizationId: null,
      passwordHash: await options.passwords.hash(password),
      mustChangePassword: generated,
    });
  } catch (error) {
    if (isDomainError(error, "duplicate")) return "existing";
    throw error;
  }
  await db.audit.append({
    actor: SYSTEM_ACTOR,
    action: "system.bootstrapAdmin",
    resource: { type: "user", id: null },
    clientIp: null,
    userAgent: null,
    result: "success",
    reason: null,
    details: { email: options.email, generatedPassword: generated },
  });
  if (generated) {
    const announce = options.announce ?? ((text: string) => process.stdout.write(text));
    announce(
      [
        "",
        "  NeoSC created the first admin account (shown once; change it at first sign-in):",
        `    email:    ${options.email}`,
        `    password: ${password}`,
        "",
        "",
      ].join("\n"),
    );
    return "generated";
  }
  options.logger.info({ email: options.email }, "bootstrap admin created");
  return "configured";
}
