import type { ApiTokenScope } from "@neosc/core/api-token";
import type { ApiTokenDoc, Collections } from "../collections.ts";

/** A stored token without its owner's email (the router joins that in). */
export type StoredApiToken = Omit<ApiTokenDoc, "_id" | "secretHash"> & { id: string };

export interface NewApiToken {
  id: string;
  name: string;
  ownerId: string;
  scope: ApiTokenScope;
  secretHash: string;
  createdAt: Date;
  createdBy: string;
  expiresAt: Date;
}

export interface ApiTokensRepository {
  create(input: NewApiToken): Promise<StoredApiToken>;
  /** The token and its secret hash, by `_id` alone (the one filter FerretDB does not scan for). */
  findForAuthentication(id: string): Promise<{ token: StoredApiToken; secretHash: string } | null>;
  findById(id: string): Promise<StoredApiToken | null>;
  /** Newest first; revoked and expired ones included (the portal shows them greyed). */
  listByOwner(ownerId: string): Promise<StoredApiToken[]>;
  /** Unrevoked, unexpired tokens per owner. */
  countActiveByOwner(ownerIds: readonly string[], now: Date): Promise<Record<string, number>>;
  /** True when this call revoked it. */
  revoke(id: string, at: Date): Promise<boolean>;
  /** Stamps `lastUsedAt` (callers throttle it). */
  touch(id: string, at: Date): Promise<void>;
}

function toStored(doc: ApiTokenDoc): StoredApiToken {
  return {
    id: doc._id,
    name: doc.name,
    ownerId: doc.ownerId,
    scope: doc.scope,
    createdAt: doc.createdAt,
    createdBy: doc.createdBy,
    expiresAt: doc.expiresAt,
    revokedAt: doc.revokedAt ?? null,
    lastUsedAt: doc.lastUsedAt ?? null,
  };
}

export function createApiTokensRepository(collections: Collections): ApiTokensRepository {
  const tokens = collections.apiTokens;
  return {
    async create(input) {
      const doc: ApiTokenDoc = {
        _id: input.id,
        name: input.name,
        ownerId: input.ownerId,
        scope: input.scope,
        secretHash: input.secretHash,
        createdAt: input.createdAt,
        createdBy: input.createdBy,
        expiresAt: input.expiresAt,
        revokedAt: null,
        lastUsedAt: null,
      };
      await tokens.insertOne(doc);
      return toStored(doc);
    },

    async findForAuthentication(id) {
      const doc = await tokens.findOne({ _id: id });
      return doc === null ? null : { token: toStored(doc), secretHash: doc.secretHash };
    },

    async findById(id) {
      const doc = await tokens.findOne({ _id: id });
      return doc === null ? null : toStored(doc);
    },

    async listByOwner(ownerId) {
      const docs = await tokens.find({ ownerId }).sort({ createdAt: -1 }).limit(500).toArray();
      return docs.map(toStored);
    },

    async countActiveByOwner(ownerIds, now) {
      const counts: Record<string, number> = Object.fromEntries(ownerIds.map((id) => [id, 0]));
      if (ownerIds.length === 0) return counts;
      const docs = await tokens
        .find(
          { ownerId: { $in: [...ownerIds] }, revokedAt: null },
          { projection: { ownerId: 1, expiresAt: 1 } },
        )
        .toArray();
      for (const doc of docs) {
        if (doc.expiresAt > now) counts[doc.ownerId] = (counts[doc.ownerId] ?? 0) + 1;
      }
      return counts;
    },

    async revoke(id, at) {
      // By `_id` alone (FerretDB scans the collection for any extra condition); revoking twice
      // keeps the first time.
      const doc = await tokens.findOne({ _id: id });
      if (doc === null || (doc.revokedAt ?? null) !== null) return false;
      await tokens.updateOne({ _id: id }, { $set: { revokedAt: at } });
      return true;
    },

    async touch(id, at) {
      await tokens.updateOne({ _id: id }, { $set: { lastUsedAt: at } });
    },
  };
}
