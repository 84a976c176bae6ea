import { isWithinAccessHours } from "@neosc/core/access-hours";
import type { PolicyOf, PolicyPreview, PolicySettings, PreviewPolicyInput } from "@neosc/core/policy";
import type { AuthedContext } from "../../context.ts";
import { ipInAnyCidr } from "./cidr.ts";

/** How long the IdP's discovery document may take to answer before SSO counts as not answering. */
const DISCOVERY_TIMEOUT_MS = 3000;

/** Whether the OIDC issuer's discovery document answers now (a reachable, working IdP). */
async function discoveryAnswers(issuer: string): Promise<boolean> {
  try {
    const response = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
      redirect: "error",
    });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Admins: what a policy change would do, before it is made, for the portal's confirmations —
 * whether the caller's own address stays on an allowlist, how many running sessions new access
 * hours would end now (the sweeper ends every active session outside the hours), and whether
 * single sign-on can take over from password sign-in. Changes nothing and audits nothing.
 */
export async function previewPolicy(ctx: AuthedContext, input: PreviewPolicyInput): Promise<PolicyPreview> {
  const current = await ctx.db.policies.get(input.key);
  const settings = input.settings ?? current.settings;
  const preview: PolicyPreview = {
    callerIp: ctx.request.clientIp,
    callerAllowed: null,
    sessionsEndingNow: null,
    sso: null,
  };
  if (input.key === "ip-allowlist") {
    const { cidrs } = settings as PolicySettings<"ip-allowlist">;
    preview.callerAllowed = !input.enabled || ipInAnyCidr(ctx.request.clientIp, cidrs);
  }
  if (input.key === "access-hours") {
    const hours = settings as PolicyOf<"access-hours">["settings"];
    preview.sessionsEndingNow =
      input.enabled && !isWithinAccessHours(ctx.clock(), hours) ? await ctx.db.sessions.countActive() : 0;
  }
  if (input.key === "local-login") {
    const { oidc, pomerium } = ctx.services;
    const [ssoAdmins, pomeriumAdmins] = await Promise.all([
      ctx.db.users.count({ role: "admin", disabled: false, source: "sso" }),
      ctx.db.users.count({ role: "admin", disabled: false, source: "pomerium" }),
    ]);
    preview.sso = {
      configured: oidc !== null || pomerium !== null,
      issuer: oidc?.publicSettings.issuer ?? null,
      answered: oidc === null ? null : await discoveryAnswers(oidc.publicSettings.issuer),
      admins: ssoAdmins + pomeriumAdmins,
    };
  }
  return preview;
}
