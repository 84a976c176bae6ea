import type { Collections } from "../collections.ts";
import { claimOnce } from "../collections.ts";

export interface IdTokenUsesRepository {
  /**
   * Records the use of the ID token named `key`: true for its first use on any replica, false
   * when it was used before. The record is kept until `keepUntil` (after which the token is too
   * old to be accepted anyway); records past theirs are deleted here.
   */
  claim(key: string, at: Date, keepUntil: Date): Promise<boolean>;
}

const PREFIX = "id-token:";

/*
 * A claim per token under its unique `_id` (see ClaimDoc): the insert lets exactly one replica
 * win. There is no TTL index inside the FerretDB envelope, so expiry is done here; the delete
 * scans the claims, which costs one query per SSO sign-in (not a per-request path).
 */
export function createIdTokenUsesRepository(collections: Collections): IdTokenUsesRepository {
  const { claims } = collections;
  return {
    async claim(key, at, keepUntil) {
      await claims.deleteMany({ _id: { $regex: `^${PREFIX}` }, "data.keepUntil": { $lt: at } });
      return claimOnce(claims, { _id: `${PREFIX}${key}`, at, data: { keepUntil } });
    },
  };
}
