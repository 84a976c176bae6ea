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
 * A domain belongs to one organization at most. Checked before the write (a scan of a small
 * collection, admin writes only); two admins racing to claim one domain could both pass.
 */
async function assertDomainFree(ctx: AuthedContext, domain: string | null | undefined, ownId: string | null) {
  if (domain === null || domain === undefined) return;
  const holders = await ctx.db.organizations.findByDomain(domain);
  if (holders.some((holder) => holder.id !== ownId)) {
    throw new DomainError("CONFLICT", "duplicate", "Another organization has this domain", {
      details: { field: "domain" },
    });
  }
}

/** Admins: a new organization (slug and domain unique). */
export async function createOrganization(
  ctx: AuthedContext,
  input: CreateOrganizationInput,
): Promise<Organization> {
  await assertDomainFree(ctx, input.domain, null);
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
  await assertDomainFree(ctx, patch.domain, id);
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
  const organization = await ctx.db.organizations.findById(input.id);
  if (organization === null) throw noSuchOrganization(input.id);
  const [members, workspaces] = await Promise.all([
    ctx.db.users.count({ organizationId: organization.id }),
    ctx.db.workspaces.list({ organizationIds: [organization.id] }).then((list) => list.length),
  ]);
  if (members > 0 || workspaces > 0) {
    await audit(ctx, {
      action: "organization.delete",
      resource: { type: "organization", id: organization.id },
      result: "denied",
      reason: "organization_not_empty",
      details: { members, workspaces },
    });
    throw new DomainError(
      "CONFLICT",
      "organization_not_empty",
      "The organization still has members or workspaces",
      {
        details: { members, workspaces },
      },
    );
  }
  if (!(await ctx.db.organizations.delete(organization.id))) throw noSuchOrganization(input.id);
  await audit(ctx, {
    action: "organization.delete",
    resource: { type: "organization", id: organization.id },
    details: { slug: organization.slug, name: organization.name, domain: organization.domain },
  });
  return { ok: true };
}
