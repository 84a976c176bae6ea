import { highestRole, isRole, type Role } from "@neosc/core/roles";

/** Zitadel's roles claim: `{ roleKey: { orgId: orgPrimaryDomain } }`. */
export const ZITADEL_ROLES_CLAIM = "urn:zitadel:iam:org:project:roles";
/** A flat role claim a Zitadel Action adds (Actions may not write under `urn:zitadel:iam`). */
export const DEFAULT_ROLE_CLAIM = "neosc_roles";

/** `urn:zitadel:iam:org:project:<projectId>:roles`. */
export function zitadelProjectRolesClaim(projectId: string): string {
  return `urn:zitadel:iam:org:project:${projectId}:roles`;
}

export interface RoleClaimOptions {
  /** Name of the flat role claim (array of strings or comma-joined string); default `neosc_roles`. */
  roleClaim?: string;
  /** Zitadel project id: also read `urn:zitadel:iam:org:project:<projectId>:roles`. */
  projectId?: string;
}

export interface ClaimedRoles {
  /** Known NeoSC roles granted by any role claim, in order of appearance (unknown names ignored). */
  roles: Role[];
  /** The most privileged of `roles`; undefined when none was granted. */
  role: Role | undefined;
  /** True when at least one role claim was present, even if it granted no known role. */
  rolesAsserted: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function flatRoleNames(value: unknown): string[] | null {
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string");
  if (typeof value === "string") return value.split(",");
  return null;
}

/**
 * Roles from verified claims: the Zitadel roles objects (generic, and project-specific when the
 * project id is known) and the flat claim (what a Zitadel Action adds, or what Pomerium's
 * `jwt_claims_headers` passes on as a comma-joined string). Pure.
 */
export function rolesFromClaims(
  claims: Record<string, unknown>,
  options: RoleClaimOptions = {},
): ClaimedRoles {
  const names: string[] = [];
  let rolesAsserted = false;
  const objectClaims = [ZITADEL_ROLES_CLAIM];
  if (options.projectId) objectClaims.push(zitadelProjectRolesClaim(options.projectId));
  for (const claim of objectClaims) {
    const value = claims[claim];
    if (isRecord(value)) {
      rolesAsserted = true;
      names.push(...Object.keys(value));
    }
    // Pomerium stores claims flattened (`<claim>.<role>.<orgId>`) and passes them on in that
    // form when the zitadel-roles deploy mode names them in `jwt_claims_headers`.
    for (const key of Object.keys(claims)) {
      if (!key.startsWith(`${claim}.`)) continue;
      const role = key.slice(claim.length + 1).split(".")[0];
      if (role) {
        rolesAsserted = true;
        names.push(role);
      }
    }
  }
  const flat = flatRoleNames(claims[options.roleClaim ?? DEFAULT_ROLE_CLAIM]);
  if (flat !== null) {
    rolesAsserted = true;
    names.push(...flat);
  }
  const roles: Role[] = [];
  for (const name of names) {
    const normalized = name.trim().toLowerCase();
    if (isRole(normalized) && !roles.includes(normalized)) roles.push(normalized);
  }
  return { roles, role: highestRole(roles), rolesAsserted };
}
