import { randomBytes } from "node:crypto";
import { apiTokenPrefix, generateApiToken } from "@neosc/auth/api-token";
import type { ApiToken, CreateApiTokenInput, CreateServiceAccountInput } from "@neosc/core/api-token";
import { DomainError } from "@neosc/core/errors";
import { isAdmin } from "@neosc/core/roles";
import type { User } from "@neosc/core/user";
import type { StoredApiToken } from "@neosc/db/repositories/api-tokens";
import type { AuthedContext } from "../../context.ts";
import { audit } from "../audit/record.ts";
import { joiningOrganization } from "../organizations/organizations.ts";

/*
 * Personal API tokens and service accounts. A person makes tokens for themselves; an admin makes
 * service accounts (users with source `service`, no password) and their tokens. A token acts as
 * its owner, narrowed by its scope (middleware/require-token-scope.ts); no token can manage
 * tokens. The secret is answered once and stored as a hash.
 */

const DAY_MS = 86_400_000;

function shown(token: StoredApiToken, owner: Pick<User, "email">): ApiToken {
  return { ...token, ownerEmail: owner.email, prefix: apiTokenPrefix(token.id) };
}

/** The account whose tokens the call is about: the caller, or (admins) a service account. */
async function ownerFor(ctx: AuthedContext, serviceAccountId: string | undefined): Promise<User> {
  const caller = ctx.identity.user;
  if (serviceAccountId === undefined || serviceAccountId === caller.id) return caller;
  if (!isAdmin(caller)) {
    throw new DomainError("FORBIDDEN", "role_required", "Only admins manage service accounts", {
      details: { required: "admin" },
    });
  }
  const account = await ctx.db.users.findById(serviceAccountId);
  if (account === null || account.source !== "service") {
    throw new DomainError("NOT_FOUND", "not_found", "No such service account", {
      details: { serviceAccountId },
    });
  }
  return account;
}

export async function createApiToken(
  ctx: AuthedContext,
  input: CreateApiTokenInput,
): Promise<{ token: ApiToken; secret: string }> {
  const owner = await ownerFor(ctx, input.serviceAccountId);
  if (owner.disabled) {
    throw new DomainError("CONFLICT", "account_disabled", "The service account is disabled");
  }
  const now = ctx.clock();
  const generated = generateApiToken();
  const stored = await ctx.db.apiTokens.create({
    id: generated.id,
    name: input.name,
    ownerId: owner.id,
    scope: input.scope,
    secretHash: generated.secretHash,
    createdAt: now,
    createdBy: ctx.identity.user.id,
    expiresAt: new Date(now.getTime() + input.expiresInDays * DAY_MS),
  });
  await audit(ctx, {
    action: "apiToken.create",
    resource: { type: "api_token", id: stored.id },
    details: {
      name: stored.name,
      ownerId: owner.id,
      ownerEmail: owner.email,
      scope: stored.scope,
      expiresAt: stored.expiresAt.toISOString(),
    },
  });
  return { token: shown(stored, owner), secret: generated.value };
}

export async function listApiTokens(
  ctx: AuthedContext,
  input: { serviceAccountId?: string | undefined },
): Promise<ApiToken[]> {
  const owner = await ownerFor(ctx, input.serviceAccountId);
  const tokens = await ctx.db.apiTokens.listByOwner(owner.id);
  return tokens.map((token) => shown(token, owner));
}

/** The owner or an admin; anyone else learns nothing about the token (NOT_FOUND). */
export async function revokeApiToken(ctx: AuthedContext, id: string): Promise<{ ok: true }> {
  const caller = ctx.identity.user;
  const token = await ctx.db.apiTokens.findById(id);
  if (token === null || (token.ownerId !== caller.id && !isAdmin(caller))) {
    throw new DomainError("NOT_FOUND", "not_found", "No such API token", { details: { id } });
  }
  const revoked = await ctx.db.apiTokens.revoke(id, ctx.clock());
  if (revoked) {
    await audit(ctx, {
      action: "apiToken.revoke",
      resource: { type: "api_token", id },
      details: { name: token.name, ownerId: token.ownerId },
    });
  }
  return { ok: true };
}

function slugOf(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return slug === "" ? "service" : slug;
}

export async function createServiceAccount(
  ctx: AuthedContext,
  input: CreateServiceAccountInput,
): Promise<User> {
  // `.invalid` is reserved (RFC 2606): no mailbox or IdP can ever claim the address.
  const email = `${slugOf(input.name)}-${randomBytes(3).toString("hex")}@service-accounts.invalid`;
  const account = await joiningOrganization(ctx, input.organizationId, () =>
    ctx.db.users.create({
      source: "service",
      email,
      name: input.name,
      role: input.role,
      organizationId: input.organizationId,
    }),
  );
  await audit(ctx, {
    action: "serviceAccount.create",
    resource: { type: "user", id: account.id },
    details: { name: account.name, email: account.email, role: account.role },
  });
  return account;
}

export async function listServiceAccounts(
  ctx: AuthedContext,
): Promise<{ user: User; activeTokens: number }[]> {
  const page = await ctx.db.users.list({ source: "service", limit: 200 });
  const counts = await ctx.db.apiTokens.countActiveByOwner(
    page.items.map((user) => user.id),
    ctx.clock(),
  );
  return page.items.map((user) => ({ user, activeTokens: counts[user.id] ?? 0 }));
}
