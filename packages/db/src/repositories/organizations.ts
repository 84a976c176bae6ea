import { randomUUID } from "node:crypto";
import { isDomainError } from "@neosc/core/errors";
import type { CreateOrganizationInput, Organization } from "@neosc/core/organization";
import { uuidFromKey } from "../canonical.ts";
import type { Collections, OrganizationDoc } from "../collections.ts";
import { defined } from "../collections.ts";
import { mapDuplicate } from "../errors.ts";

export interface NewOrganization extends CreateOrganizationInput {
  externalId?: string | null;
}

export interface OrganizationsRepository {
  create(input: NewOrganization): Promise<Organization>;
  findById(id: string): Promise<Organization | null>;
  findBySlug(slug: string): Promise<Organization | null>;
  findByExternalId(externalId: string): Promise<Organization | null>;
  /**
   * Just-in-time organization from IdP claims: returns the existing one (name refreshed) or
   * creates it. Safe under concurrent logins (the id is derived from `externalId`); the slug is
   * derived from the name and suffixed when taken.
   */
  upsertByExternalId(input: {
    externalId: string;
    name: string;
    domain?: string | null;
  }): Promise<Organization>;
  /** Sorted by name. */
  list(): Promise<Organization[]>;
  update(id: string, patch: { name?: string; domain?: string | null }): Promise<Organization | null>;
  /** The organizations holding this domain (admin writes check it is free; a scan). */
  findByDomain(domain: string): Promise<Organization[]>;
  /** True when this call deleted it. */
  delete(id: string): Promise<boolean>;
  count(): Promise<number>;
}

const UNIQUE = ["slug", "_id"] as const;

function toOrganization(doc: OrganizationDoc): Organization {
  return {
    id: doc._id,
    name: doc.name,
    slug: doc.slug,
    externalId: doc.externalId ?? null,
    domain: doc.domain ?? null,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

/** A SlugSchema-valid slug from a display name (`ACME Corp.` → `acme-corp`). */
export function slugify(name: string): string {
  const base = name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 56)
    .replace(/-+$/g, "");
  return base.length >= 2 ? base : `org-${base || "x"}`;
}

export function createOrganizationsRepository(
  collections: Collections,
  clock: () => Date,
): OrganizationsRepository {
  const organizations = collections.organizations;

  async function insert(doc: OrganizationDoc): Promise<Organization> {
    await mapDuplicate(() => organizations.insertOne(doc), {
      entity: "organization",
      collection: organizations,
      written: doc,
      unique: UNIQUE,
    });
    return toOrganization(doc);
  }

  return {
    create(input: NewOrganization) {
      const now = clock();
      return insert({
        _id: randomUUID(),
        name: input.name,
        slug: input.slug,
        externalId: input.externalId ?? null,
        domain: input.domain ?? null,
        createdAt: now,
        updatedAt: now,
      });
    },

    async findById(id) {
      const doc = await organizations.findOne({ _id: id });
      return doc ? toOrganization(doc) : null;
    },

    async findBySlug(slug) {
      const doc = await organizations.findOne({ slug });
      return doc ? toOrganization(doc) : null;
    },

    async findByExternalId(externalId) {
      const doc = await organizations.findOne({ externalId }, { sort: { createdAt: 1 } });
      return doc ? toOrganization(doc) : null;
    },

    async upsertByExternalId(input) {
      const existing = await organizations.findOne(
        { externalId: input.externalId },
        { sort: { createdAt: 1 } },
      );
      if (existing) {
        const changes = defined({
          name: existing.name === input.name ? undefined : input.name,
          domain: input.domain === undefined || input.domain === existing.domain ? undefined : input.domain,
        });
        if (Object.keys(changes).length === 0) return toOrganization(existing);
        const updated = await organizations.findOneAndUpdate(
          { _id: existing._id },
          { $set: { ...changes, updatedAt: clock() } },
          { returnDocument: "after" },
        );
        return toOrganization(updated ?? existing);
      }
      // The id is derived from the external id: two logins creating the same organization at
      // once collide on _id, and the loser reads the winner's document.
      const id = uuidFromKey(`organization:${input.externalId}`);
      const base = slugify(input.name);
      for (let attempt = 0; attempt < 20; attempt += 1) {
        const now = clock();
        const slug = attempt === 0 ? base : `${base}-${attempt + 1}`;
        try {
          return await insert({
            _id: id,
            name: input.name,
            slug,
            externalId: input.externalId,
            domain: input.domain ?? null,
            createdAt: now,
            updatedAt: now,
          });
        } catch (error) {
          if (!isDomainError(error, "duplicate")) throw error;
          if (error.details?.field === "id") {
            const winner = await organizations.findOne({ _id: id });
            if (winner) return toOrganization(winner);
          }
        }
      }
      throw new Error(`no free slug for organization ${input.name}`);
    },

    async list() {
      const docs = await organizations.find({}).sort({ name: 1, _id: 1 }).toArray();
      return docs.map(toOrganization);
    },

    async update(id, patch) {
      const set = defined({ name: patch.name, domain: patch.domain });
      const doc = await organizations.findOneAndUpdate(
        { _id: id },
        { $set: { ...set, updatedAt: clock() } },
        { returnDocument: "after" },
      );
      return doc ? toOrganization(doc) : null;
    },

    async findByDomain(domain) {
      const docs = await organizations.find({ domain }).sort({ _id: 1 }).toArray();
      return docs.map(toOrganization);
    },

    async delete(id) {
      const result = await organizations.deleteOne({ _id: id });
      return result.deletedCount === 1;
    },

    count() {
      return organizations.countDocuments({});
    },
  };
}
