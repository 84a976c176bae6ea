import { DomainError } from "@neosc/core/errors";
import {
  DEFAULT_POLICIES,
  POLICY_KEYS,
  POLICY_SETTINGS_SCHEMAS,
  type Policy,
  type PolicyKey,
  type PolicyOf,
  PolicySchema,
  type PolicySettings,
} from "@neosc/core/policy";
import type { Collections, PolicyDoc } from "../collections.ts";
import { isDuplicateKeyError } from "../errors.ts";
import { sharedCache } from "./cache.ts";

export interface PoliciesRepository {
  /** Inserts every missing policy with its default; never overwrites. Idempotent. */
  seedDefaults(at?: Date): Promise<void>;
  /** Every policy in POLICY_KEYS order (missing ones as their defaults). */
  list(): Promise<Policy[]>;
  get<K extends PolicyKey>(key: K): Promise<PolicyOf<K>>;
  setEnabled(key: PolicyKey, enabled: boolean, by: string | null): Promise<Policy>;
  /** Settings are validated against the policy's schema (BAD_REQUEST invalid_input otherwise). */
  setSettings<K extends PolicyKey>(
    key: K,
    settings: PolicySettings<K>,
    by: string | null,
  ): Promise<PolicyOf<K>>;
}

function toPolicy<K extends PolicyKey>(key: K, doc: PolicyDoc | null, fallbackAt: Date): PolicyOf<K> {
  const defaults = DEFAULT_POLICIES[key];
  return PolicySchema.parse({
    key,
    enabled: doc?.enabled ?? defaults.enabled,
    settings: doc?.settings ?? defaults.settings,
    updatedAt: doc?.updatedAt ?? fallbackAt,
    updatedBy: doc?.updatedBy ?? null,
  }) as PolicyOf<K>;
}

export function createPoliciesRepository(
  collections: Collections,
  clock: () => Date,
  options: { cacheMaxAgeMs: number },
): PoliciesRepository {
  const policies = collections.policies;
  /** Every policy document, shared by every request of this replica (see cache.ts). */
  const stored = sharedCache({
    markers: collections.markers,
    versionId: "policies-version",
    maxAgeMs: options.cacheMaxAgeMs,
    load: async () => new Map((await policies.find({}).toArray()).map((doc) => [doc._id, doc])),
  });

  /** Writes `set` on the policy, creating it from its default first when it is missing. */
  async function write<K extends PolicyKey>(key: K, set: Partial<PolicyDoc>): Promise<PolicyOf<K>> {
    const defaults = DEFAULT_POLICIES[key];
    const onInsert: Partial<PolicyDoc> = {};
    if (set.enabled === undefined) onInsert.enabled = defaults.enabled;
    if (set.settings === undefined) onInsert.settings = defaults.settings;
    const update = () =>
      policies.findOneAndUpdate(
        { _id: key },
        { $set: set, ...(Object.keys(onInsert).length > 0 ? { $setOnInsert: onInsert } : {}) },
        { upsert: true, returnDocument: "after" },
      );
    let doc: PolicyDoc | null;
    try {
      doc = await update();
    } catch (error) {
      // A parallel first write inserted the document: now it exists, update it.
      if (!isDuplicateKeyError(error)) throw error;
      doc = await update();
    } finally {
      await stored.changed();
    }
    return toPolicy(key, doc, clock());
  }

  return {
    async seedDefaults(at) {
      const now = at ?? clock();
      for (const key of POLICY_KEYS) {
        const defaults = DEFAULT_POLICIES[key];
        try {
          await policies.updateOne(
            { _id: key },
            {
              $setOnInsert: {
                enabled: defaults.enabled,
                settings: defaults.settings,
                updatedAt: now,
                updatedBy: null,
              },
            },
            { upsert: true },
          );
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
        }
      }
      await stored.changed();
    },

    async list(): Promise<Policy[]> {
      const byKey = await stored.get();
      const now = clock();
      return POLICY_KEYS.map((key) => toPolicy(key, byKey.get(key) ?? null, now));
    },

    async get(key) {
      return toPolicy(key, (await stored.get()).get(key) ?? null, clock());
    },

    setEnabled(key, enabled, by) {
      return write(key, { enabled, updatedAt: clock(), updatedBy: by });
    },

    setSettings(key, settings, by) {
      const parsed = POLICY_SETTINGS_SCHEMAS[key].safeParse(settings);
      if (!parsed.success) {
        throw new DomainError("BAD_REQUEST", "invalid_input", `invalid settings for policy ${key}`, {
          details: {
            issues: parsed.error.issues.map((issue) => ({
              path: issue.path.map(String),
              message: issue.message,
            })),
          },
        });
      }
      return write(key, {
        settings: parsed.data as Record<string, unknown>,
        updatedAt: clock(),
        updatedBy: by,
      });
    },
  };
}
