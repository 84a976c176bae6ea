import { NoInputSchema, OkSchema } from "@neosc/core/common";
import {
  CreateOrganizationInputSchema,
  OrganizationIdInputSchema,
  OrganizationSchema,
  OrganizationWithCountSchema,
  UpdateOrganizationInputSchema,
} from "@neosc/core/organization";
import { z } from "zod";
import {
  createOrganization,
  deleteOrganization,
  listOrganizations,
  updateOrganization,
} from "../../domain/organizations/organizations.ts";
import { procedureFor, router } from "../../trpc.ts";

export const organizationRouter = router({
  /** Admins: all with member counts; others: their own. */
  list: procedureFor("organization.list")
    .input(NoInputSchema)
    .output(z.array(OrganizationWithCountSchema))
    .query(({ ctx }) => listOrganizations(ctx)),

  /** Admins: adds an organization. */
  create: procedureFor("organization.create")
    .input(CreateOrganizationInputSchema)
    .output(OrganizationSchema)
    .mutation(({ ctx, input }) => createOrganization(ctx, input)),

  /** Admins: renames an organization or changes its domain. */
  update: procedureFor("organization.update")
    .input(UpdateOrganizationInputSchema)
    .output(OrganizationSchema)
    .mutation(({ ctx, input }) => updateOrganization(ctx, input)),

  /** Admins: deletes an organization with no members and no workspaces. */
  delete: procedureFor("organization.delete")
    .input(OrganizationIdInputSchema)
    .output(OkSchema)
    .mutation(({ ctx, input }) => deleteOrganization(ctx, input)),
});
