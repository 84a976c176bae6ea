import { DomainError } from "@neosc/core/errors";
import {
  DEFAULT_POLICIES,
  POLICY_KEYS,
  type Policy,
  type PolicyKey,
  type PolicyOf,
  PolicySchema,
  type PolicySettings,
  type UpdatePolicyInput,
} from "@neosc/core/policy";
import type { Database } from "@neosc/db/database";
import type { AuthedContext } from "../../context.ts";
import { audit } from "../audit/record.ts";

export type PolicyMap = { [K in PolicyKey]: PolicyOf<K> };

/** Every policy in one read, keyed for typed access (missing ones fall back to their defaults). */
export async function loadPolicies(db: Pick<Database, "policies">): Promise<PolicyMap> {
  const map: Partial<Record<PolicyKey, Policy>> = {};
  for (const policy of await db.policies.list()) map[policy.key] = policy;
  for (const key of POLICY_KEYS) {
    map[key] ??= PolicySchema.parse({
      key,
      ...DEFAULT_POLICIES[key],
      updatedAt: new Date(0),
      updatedBy: null,
    });
  }
  return map as PolicyMap;
}

/** Everyone: the policies and their settings. */
export function listPolicies(ctx: Pick<AuthedContext, "db">): Promise<Policy[]> {
  return ctx.db.policies.list();
}

/** An allowlist with no entries would lock everyone out of launches and logins. */
function refuseEmptyAllowlist(key: PolicyKey, enabled: boolean, settings: Policy["settings"]): void {
  if (key === "ip-allowlist" && enabled && (settings as PolicySettings<"ip-allowlist">).cidrs.length === 0) {
    throw new DomainError(
      "BAD_REQUEST",
      "invalid_input",
      "Add at least one address block before enabling the allowlist",
      {
        details: { field: "settings.cidrs" },
      },
    );
  }
}

/** Admins: switches a policy on or off; the old and new state are audited. */
export async function togglePolicy(
  ctx: AuthedContext,
  input: { key: PolicyKey; enabled: boolean },
): Promise<Policy> {
  const before = await ctx.db.policies.get(input.key);
  try {
    refuseEmptyAllowlist(input.key, input.enabled, before.settings);
  } catch (error) {
    await auditRefusal(ctx, "policy.toggle", input.key, { enabled: input.enabled });
    throw error;
  }
  const after = await ctx.db.policies.setEnabled(input.key, input.enabled, ctx.identity.user.id);
  await audit(ctx, {
    action: "policy.toggle",
    resource: { type: "policy", id: input.key },
    details: { before: { enabled: before.enabled }, after: { enabled: after.enabled } },
  });
  return after;
}

/** Admins: replaces a policy's settings (already validated against its bounds by the input schema). */
export async function updatePolicy(ctx: AuthedContext, input: UpdatePolicyInput): Promise<Policy> {
  const before = await ctx.db.policies.get(input.key);
  try {
    refuseEmptyAllowlist(input.key, before.enabled, input.settings as Policy["settings"]);
  } catch (error) {
    await auditRefusal(ctx, "policy.update", input.key, { settings: input.settings });
    throw error;
  }
  const after = await ctx.db.policies.setSettings(
    input.key,
    input.settings as PolicySettings<typeof input.key>,
    ctx.identity.user.id,
  );
  await audit(ctx, {
    action: "policy.update",
    resource: { type: "policy", id: input.key },
    details: { before: before.settings, after: after.settings },
  });
  return after;
}

async function auditRefusal(
  ctx: AuthedContext,
  action: string,
  key: PolicyKey,
  details: Record<string, unknown>,
) {
  await audit(ctx, {
    action,
    resource: { type: "policy", id: key },
    result: "denied",
    reason: "invalid_input",
    details,
  });
}
