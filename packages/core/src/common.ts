import { z } from "zod";

/** Entity ids are UUID strings (`_id` in MongoDB, `id` on the wire). */
export const IdSchema = z.uuid();
export type Id = z.infer<typeof IdSchema>;

export const EmailSchema = z
  .email()
  .max(254)
  // Without an example, OpenAPI viewers render one generated from the email regex (gibberish).
  .meta({ examples: ["person@example.com"] })
  .transform((value) => value.trim().toLowerCase());

/** Free text with bounds: no field accepts unbounded input. */
export const NameSchema = z.string().trim().min(1).max(120);
export const DescriptionSchema = z.string().trim().max(2000);

/** URL-safe identifier: lower-case letters, digits and dashes. */
export const SlugSchema = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "lower-case letters, digits and dashes");

/** Opaque cursor for keyset pagination. */
export const CursorSchema = z.string().min(1).max(512);

export const PageInputSchema = z.object({
  limit: z.number().int().min(1).max(200).default(50),
  cursor: CursorSchema.optional(),
});
export type PageInput = z.infer<typeof PageInputSchema>;

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** An IPv4 or IPv6 CIDR block, e.g. `10.0.0.0/8` or `2001:db8::/32`. */
export const CidrSchema = z.union([z.cidrv4(), z.cidrv6()]);

export const OkSchema = z.object({ ok: z.literal(true) });

/** The input of procedures that take none (every procedure declares one, see the router tests). */
export const NoInputSchema = z.void();
