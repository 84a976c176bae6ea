import { z } from "zod";
import { IdSchema, NameSchema, SlugSchema } from "./common.ts";
import { DOMAIN_NAME_PATTERN } from "./routes.ts";

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

/**
 * An organization's email domain: a real DNS name, stored lower-case without a trailing dot, and
 * held by one organization at most (checked on write).
 */
export const OrganizationDomainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .overwrite((value) => value.replace(/\.$/, ""))
  .max(253)
  .regex(DOMAIN_NAME_PATTERN, "a domain name such as example.com");

export const CreateOrganizationInputSchema = z.strictObject({
  name: NameSchema,
  slug: SlugSchema,
  domain: OrganizationDomainSchema.nullable().default(null),
});
export type CreateOrganizationInput = z.infer<typeof CreateOrganizationInputSchema>;

export const UpdateOrganizationInputSchema = z.strictObject({
  id: IdSchema,
  name: NameSchema.optional(),
  domain: OrganizationDomainSchema.nullable().optional(),
});
export type UpdateOrganizationInput = z.infer<typeof UpdateOrganizationInputSchema>;

export const OrganizationIdInputSchema = z.strictObject({ id: IdSchema });
