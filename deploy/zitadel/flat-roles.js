/**
 * Zitadel Action (Actions v1) named `flatRoles`: adds the flat claim `neosc_roles` — a list of
 * the NeoSC roles (admin, neosc, user, auditor) the person holds in the NeoSC project — to the ID token,
 * userinfo, introspection and JWT access tokens.
 *
 * Why: Pomerium stores claims flattened, so Zitadel's nested roles object
 * `{"urn:zitadel:iam:org:project:roles": {"admin": {"<orgId>": "<domain>"}}}` can only be matched
 * with the org id in the key. A flat list is matched by `claim/neosc_roles: admin`, and the API
 * reads the same claim. Actions may not write under `urn:zitadel:iam`, hence the plain name.
 *
 * Install (deploy/zitadel/SETUP.md): replace NEOSC_PROJECT_ID below with the NeoSC project's
 * resource id, create the action with the name `flatRoles` (it must equal the function name),
 * and add it to the flow "Complement Token" on both triggers "Pre Userinfo creation" and
 * "Pre access token creation". Until the id is replaced the action grants no role (fails closed).
 */
// biome-ignore lint/correctness/noUnusedVariables: Zitadel calls the function whose name equals the action name.
function flatRoles(ctx, api) {
  const projectId = "NEOSC_PROJECT_ID";
  const known = ["admin", "neosc", "user", "auditor"];
  const roles = [];
  const list = ctx.v1.user.grants;
  // biome-ignore lint/complexity/useOptionalChain: kept to the JavaScript subset every Zitadel (goja) release runs.
  const grants = list && list.grants ? list.grants : [];
  for (let i = 0; i < grants.length; i++) {
    const grant = grants[i];
    // Grants of other projects may use the same role names; only NeoSC's count.
    if (!grant || grant.projectId !== projectId) continue;
    const keys = grant.roles || [];
    for (let j = 0; j < keys.length; j++) {
      const key = keys[j];
      if (known.indexOf(key) >= 0 && roles.indexOf(key) < 0) roles.push(key);
    }
  }
  api.v1.claims.setClaim("neosc_roles", roles);
}
