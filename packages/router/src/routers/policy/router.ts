import { NoInputSchema } from "@neosc/core/common";
import {
  PolicyPreviewSchema,
  PolicySchema,
  PreviewPolicyInputSchema,
  TogglePolicyInputSchema,
  UpdatePolicyInputSchema,
} from "@neosc/core/policy";
import { z } from "zod";
import { listPolicies, togglePolicy, updatePolicy } from "../../domain/policies/policies.ts";
import { previewPolicy } from "../../domain/policies/preview.ts";
import { procedureFor, router } from "../../trpc.ts";

export const policyRouter = router({
  /** Signed-in callers: every policy and its settings. */
  list: procedureFor("policy.list")
    .input(NoInputSchema)
    .output(z.array(PolicySchema))
    .query(({ ctx }) => listPolicies(ctx)),

  /** Admins: switches a policy on or off. */
  toggle: procedureFor("policy.toggle")
    .input(TogglePolicyInputSchema)
    .output(PolicySchema)
    .mutation(({ ctx, input }) => togglePolicy(ctx, input)),

  /** Admins: changes a policy's settings within its bounds. */
  update: procedureFor("policy.update")
    .input(UpdatePolicyInputSchema)
    .output(PolicySchema)
    .mutation(({ ctx, input }) => updatePolicy(ctx, input)),

  /** Admins: what a change would do (own address, sessions ended now, SSO), changing nothing. */
  preview: procedureFor("policy.preview")
    .input(PreviewPolicyInputSchema)
    .output(PolicyPreviewSchema)
    .query(({ ctx, input }) => previewPolicy(ctx, input)),
});
