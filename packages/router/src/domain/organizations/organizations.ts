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

/** Admins: a new organization (slug unique). */
export async function createOrganization(
  ctx: AuthedContext,
  input: CreateOrganizationInput,
): Promise<Organization> {
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
  const updated = before === null ? null : await ctx.db.organizations.update(id, patch);
  if (before === null || updated === null) {
    throw new DomainError("NOT_FOUND", "not_found", "No such organization", {
      details: { organizationId: id },
    });
  }
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
