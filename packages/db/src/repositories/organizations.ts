import { randomUUID } from "node:crypto";
import { DomainError, isDomainError } from "@neosc/core/errors";
import type { CreateOrganizationInput, Organization } from "@neosc/core/organization";
import { uuidFromKey } from "../canonical.ts";
import type { ClaimDoc, Collections, OrganizationDoc } from "../collections.ts";
import { claimOnce, defined } from "../collections.ts";
import { mapDuplicate } from "../errors.ts";
import { withLock } from "../locks.ts";

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
  /** The organizations holding this domain (a scan). */
  findByDomain(domain: string): Promise<Organization[]>;
  /**
   * Runs `write` — a member joining, a workspace assigned — while the organization cannot be
   * deleted (under its write lock, once it is known to exist). null, with nothing written, when
   * there is no such organization.
   */
  joining<T>(id: string, write: () => Promise<T>): Promise<{ value: T } | null>;
  /**
   * Deletes the organization when what `contents` reads under its write lock (so nothing joins
   * meanwhile) passes `isEmpty`; its domain becomes free.
   */
  deleteIfEmpty<C>(
    id: string,
    contents: () => Promise<C>,
    isEmpty: (contents: C) => boolean,
  ): Promise<
    | { outcome: "deleted"; organization: Organization }
    | { outcome: "not_empty"; contents: C }
    | { outcome: "missing" }
  >;
  /** True when this call deleted it. */
  delete(id: string): Promise<boolean>;
  count(): Promise<number>;
}

const UNIQUE = ["slug", "_id"] as const;

/*
 * A domain belongs to one organization at most. A scan before the write cannot promise that (two
 * admins both see it free), so each held domain is a claim `domain:<domain>` in `claims` naming
 * its organization: the unique `_id` lets one of two racing writers win on MongoDB and FerretDB
 * alike. A claim is taken before the organization is written and given back when it lets the
 * domain go; one left behind by a writer that died (its organization does not hold the domain and
 * it is older than CLAIM_SETTLE_MS) is taken over by exactly one later writer.
 */
const CLAIM_SETTLE_MS = 10_000;

function domainTaken(): DomainError {
  return new DomainError("CONFLICT", "duplicate", "Another organization has this domain", {
    details: { field: "domain" },
  });
}

const domainClaimId = (domain: string) => `domain:${domain}`;
/**
 * An IdP's organization has its id derived from the IdP's id for it, so a login (and every
 * Pomerium request) finds it by `_id`, and two logins creating it at once collide on `_id`.
 */
const externalOrganizationId = (externalId: string) => uuidFromKey(`organization:${externalId}`);
const writeLockId = (id: string) => `organization-write:${id}`;

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

  const claims = collections.claims;

  /** Takes the domain for `organizationId`, or throws CONFLICT naming the field `domain`. */
  async function claimDomain(domain: string, organizationId: string): Promise<void> {
    const _id = domainClaimId(domain);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (await claimOnce(claims, { _id, at: clock(), data: { organizationId } })) {
        // Domains held from before claims existed have none: the scan still finds them.
        const holders = await organizations.find({ domain }).project<{ _id: string }>({ _id: 1 }).toArray();
        if (holders.some((holder) => holder._id !== organizationId)) {
          await claims.deleteOne({ _id });
          throw domainTaken();
        }
        return;
      }
      const held: ClaimDoc | null = await claims.findOne({ _id });
      if (held === null) continue;
      const holderId = String(held.data.organizationId);
      if (holderId === organizationId) return;
      const holder = await organizations.findOne({ _id: holderId });
      const settled = Date.now() - held.at.getTime() > CLAIM_SETTLE_MS;
      if (holder?.domain === domain || !settled) throw domainTaken();
      const takeover = `${_id}:takeover:${holderId}:${held.at.getTime()}`;
      if (await claimOnce(claims, { _id: takeover, at: clock(), data: {} })) await claims.deleteOne({ _id });
    }
    throw domainTaken();
  }

  /** Gives the domain back, if `organizationId` holds its claim. */
  async function releaseDomain(domain: string | null | undefined, organizationId: string): Promise<void> {
    if (domain === null || domain === undefined) return;
    const held = await claims.findOne({ _id: domainClaimId(domain) });
    if (held !== null && held.data.organizationId === organizationId) {
      await claims.deleteOne({ _id: held._id });
    }
  }

  /** Claims the domain for `organizationId` if no other organization holds it. */
  async function domainFreeFor(domain: string, organizationId: string): Promise<boolean> {
    try {
      await claimDomain(domain, organizationId);
      return true;
    } catch (error) {
      if (isDomainError(error, "duplicate") && error.details?.field === "domain") return false;
      throw error;
    }
  }

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
    async create(input: NewOrganization) {
      const now = clock();
      const externalId = input.externalId ?? null;
      const id = externalId === null ? randomUUID() : externalOrganizationId(externalId);
      const domain = input.domain ?? null;
      if (domain !== null) await claimDomain(domain, id);
      try {
        return await insert({
          _id: id,
          name: input.name,
          slug: input.slug,
          externalId,
          domain,
          createdAt: now,
          updatedAt: now,
        });
      } catch (error) {
        await releaseDomain(domain, id);
        throw error;
      }
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
      const doc = await organizations.findOne({ _id: externalOrganizationId(externalId) });
      return doc?.externalId === externalId ? toOrganization(doc) : null;
    },

    async upsertByExternalId(input) {
      const id = externalOrganizationId(input.externalId);
      const existing = await organizations.findOne({ _id: id });
      if (existing) {
        const wanted =
          input.domain === undefined || input.domain === existing.domain ? undefined : input.domain;
        // The IdP's word does not take a domain another organization holds: the login goes on
        // with the domain as it was (an admin settles who owns it).
        const domain =
          wanted === undefined || wanted === null || (await domainFreeFor(wanted, id)) ? wanted : undefined;
        const changes = defined({ name: existing.name === input.name ? undefined : input.name, domain });
        if (Object.keys(changes).length === 0) return toOrganization(existing);
        const updated = await organizations.findOneAndUpdate(
          { _id: existing._id },
          { $set: { ...changes, updatedAt: clock() } },
          { returnDocument: "after" },
        );
        if (domain !== undefined) await releaseDomain(existing.domain, id);
        return toOrganization(updated ?? existing);
      }
      // Two logins creating the same organization at once collide on _id, and the loser reads
      // the winner's document. The domain is claimed first, as an admin's would be; one held
      // elsewhere is left off (the organization starts without it).
      const claimed = input.domain ?? null;
      const domain = claimed !== null && (await domainFreeFor(claimed, id)) ? claimed : null;
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
            domain,
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
      const before = await organizations.findOne({ _id: id });
      if (before === null) return null;
      const newDomain =
        patch.domain !== undefined && patch.domain !== before.domain ? patch.domain : undefined;
      if (newDomain) await claimDomain(newDomain, id);
      const doc = await organizations.findOneAndUpdate(
        { _id: id },
        { $set: { ...set, updatedAt: clock() } },
        { returnDocument: "after" },
      );
      if (newDomain !== undefined) await releaseDomain(doc === null ? newDomain : before.domain, id);
      return doc ? toOrganization(doc) : null;
    },

    async findByDomain(domain) {
      const docs = await organizations.find({ domain }).sort({ _id: 1 }).toArray();
      return docs.map(toOrganization);
    },

    async joining(id, write) {
      return withLock(claims, writeLockId(id), async () => {
        if ((await organizations.findOne({ _id: id }, { projection: { _id: 1 } })) === null) return null;
        return { value: await write() };
      });
    },

    async deleteIfEmpty(id, contents, isEmpty) {
      return withLock(claims, writeLockId(id), async () => {
        const doc = await organizations.findOne({ _id: id });
        if (doc === null) return { outcome: "missing" as const };
        const found = await contents();
        if (!isEmpty(found)) return { outcome: "not_empty" as const, contents: found };
        const result = await organizations.deleteOne({ _id: id });
        if (result.deletedCount !== 1) return { outcome: "missing" as const };
        await releaseDomain(doc.domain, id);
        return { outcome: "deleted" as const, organization: toOrganization(doc) };
      });
    },

    async delete(id) {
      const doc = await organizations.findOne({ _id: id });
      if (doc === null || (await organizations.deleteOne({ _id: id })).deletedCount !== 1) return false;
      await releaseDomain(doc.domain, id);
      return true;
    },

    count() {
      return organizations.countDocuments({});
    },
  };
}
