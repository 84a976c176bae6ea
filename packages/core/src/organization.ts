import { z } from "zod";
import { IdSchema, NameSchema, SlugSchema } from "./common.ts";

export const OrganizationSchema = z.object({
  id: IdSchema,
  name: z.string(),
  slug: z.string(),
  /** Zitadel organization id when created just-in-time from resourceowner claims. */
  externalId: z.string().nullable(),
  domain: z.string().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type Organization = z.infer<typeof OrganizationSchema>;

export const OrganizationWithCountSchema = OrganizationSchema.extend({ memberCount: z.number().int() });
export type OrganizationWithCount = z.infer<typeof OrganizationWithCountSchema>;

export const CreateOrganizationInputSchema = z.strictObject({
  name: NameSchema,
  slug: SlugSchema,
  domain: z.string().trim().max(253).nullable().default(null),
});
export type CreateOrganizationInput = z.infer<typeof CreateOrganizationInputSchema>;

export const UpdateOrganizationInputSchema = z.strictObject({
  id: IdSchema,
  name: NameSchema.optional(),
  domain: z.string().trim().max(253).nullable().optional(),
});
export type UpdateOrganizationInput = z.infer<typeof UpdateOrganizationInputSchema>;
