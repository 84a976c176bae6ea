import { DomainError } from "@neosc/core/errors";
import type {
  CreateOrganizationInput,
  Organization,
  OrganizationWithCount,
  UpdateOrganizationInput,
} from "@neosc/core/organization";
import { isAdmin } from "@neosc/core/roles";
import type { AuthedContext } from "../../context.ts";
import { audit } from "../audit/record.ts";

/** Admins: every organization with its member count; others: their own (or none). */
export async function listOrganizations(ctx: AuthedContext): Promise<OrganizationWithCount[]> {
  const { user } = ctx.identity;
  const counts = await ctx.db.users.countByOrganization();
  const withCount = (organization: Organization) => ({
    ...organization,
    memberCount: counts[organization.id] ?? 0,
  });
  if (isAdmin(user)) return (await ctx.db.organizations.list()).map(withCount);
  if (user.organizationId === null) return [];
  const own = await ctx.db.organizations.findById(user.organizationId);
  return own === null ? [] : [withCount(own)];
}

function noSuchOrganization(organizationId: string): DomainError {
  return new DomainError("NOT_FOUND", "not_found", "No such organization", { details: { organizationId } });
}

/**
 * Runs `write` (something joining `organizationId`: a member, a workspace) so that a concurrent
 * `organization.delete` either sees it or refuses it: the organization exists until `write` is done.
 * Without an organization it just runs. `missing` is thrown when the organization does not exist.
 */
export async function joiningOrganization<T>(
  ctx: { db: AuthedContext["db"] },
  organizationId: string | null | undefined,
  write: () => Promise<T>,
  missing: () => DomainError = () => noSuchOrganization(organizationId ?? ""),
): Promise<T> {
  if (organizationId === null || organizationId === undefined) return write();
  const joined = await ctx.db.organizations.joining(organizationId, write);
  if (joined === null) throw missing();
  return joined.value;
}

/** Admins: a new organization (slug and domain unique). */
export async function createOrganization(
  ctx: AuthedContext,
  input: CreateOrganizationInput,
): Promise<Organization> {
  // The repository claims the domain (one organization at most, also against a racing admin).
  const organization = await ctx.db.organizations.create(input);
  await audit(ctx, {
    action: "organization.create",
    resource: { type: "organization", id: organization.id },
    details: { slug: organization.slug, name: organization.name, domain: organization.domain },
  });
  return organization;
}

/** Admins: renames or changes the domain of an organization. */
export async function updateOrganization(
  ctx: AuthedContext,
  input: UpdateOrganizationInput,
): Promise<Organization> {
  const { id, ...patch } = input;
  const before = await ctx.db.organizations.findById(id);
  if (before === null) throw noSuchOrganization(id);
  const updated = await ctx.db.organizations.update(id, patch);
  if (updated === null) throw noSuchOrganization(id);
  await audit(ctx, {
    action: "organization.update",
    resource: { type: "organization", id },
    details: {
      before: { name: before.name, domain: before.domain },
      after: { name: updated.name, domain: updated.domain },
    },
  });
  return updated;
}

/**
 * Admins: deletes an organization that nothing belongs to any more; with members or workspaces
 * left it refuses, saying how many (they are moved or removed first, so nobody silently loses the
 * workspaces of their organization).
 */
export async function deleteOrganization(ctx: AuthedContext, input: { id: string }): Promise<{ ok: true }> {
  // Counted under the organization's write lock: a member or workspace joining meanwhile either
  // is counted or finds the organization gone (see joiningOrganization).
  const result = await ctx.db.organizations.deleteIfEmpty(
    input.id,
    async () => {
      const [members, workspaces] = await Promise.all([
        ctx.db.users.count({ organizationId: input.id }),
        // From the database: the catalogue copy may not show another replica's newest workspace yet.
        ctx.db.workspaces.countInOrganization(input.id),
      ]);
      return { members, workspaces };
    },
    ({ members, workspaces }) => members === 0 && workspaces === 0,
  );
  if (result.outcome === "missing") throw noSuchOrganization(input.id);
  if (result.outcome === "not_empty") {
    await audit(ctx, {
      action: "organization.delete",
      resource: { type: "organization", id: input.id },
      result: "denied",
      reason: "organization_not_empty",
      details: result.contents,
    });
    throw new DomainError(
      "CONFLICT",
      "organization_not_empty",
      "The organization still has members or workspaces",
      { details: result.contents },
    );
  }
  const { organization } = result;
  await audit(ctx, {
    action: "organization.delete",
    resource: { type: "organization", id: organization.id },
    details: { slug: organization.slug, name: organization.name, domain: organization.domain },
  });
  return { ok: true };
}
