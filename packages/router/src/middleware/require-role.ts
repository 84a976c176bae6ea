import { DomainError } from "@neosc/core/errors";
import { AUDITOR_PROCEDURES, type ProcedurePath } from "@neosc/core/permissions";
import { hasRole, type Role } from "@neosc/core/roles";
import type { AuthedContext } from "../context.ts";
import { audit } from "../domain/audit/record.ts";

/** What a person with a one-time password may still do before choosing their own. */
const ALLOWED_BEFORE_PASSWORD_CHANGE: ReadonlySet<ProcedurePath> = new Set([
  "auth.me",
  "auth.changePassword",
  "auth.logout",
]);

/**
 * The role gate of one procedure: FORBIDDEN `role_required` below the required role (for the
 * auditor: outside AUDITOR_PROCEDURES), FORBIDDEN
 * `password_change_required` while a one-time password is unchanged. Each denial is audited.
 */
export async function enforceRole(ctx: AuthedContext, path: ProcedurePath, required: Role): Promise<void> {
  const { user } = ctx.identity;
  const allowed = user.role === "auditor" ? AUDITOR_PROCEDURES.has(path) : hasRole(user.role, required);
  if (!allowed) {
    await audit(ctx, {
      action: path,
      resource: { type: "procedure", id: path },
      result: "denied",
      reason: "role_required",
      details: { required, role: user.role },
    });
    const message =
      user.role === "auditor"
        ? "The auditor role only reads the audit log, sessions and recordings"
        : `This needs the ${required} role`;
    throw new DomainError("FORBIDDEN", "role_required", message, {
      details: { required },
    });
  }
  if (user.mustChangePassword && !ALLOWED_BEFORE_PASSWORD_CHANGE.has(path)) {
    await audit(ctx, {
      action: path,
      resource: { type: "procedure", id: path },
      result: "denied",
      reason: "password_change_required",
    });
    throw new DomainError("FORBIDDEN", "password_change_required", "Change your one-time password first");
  }
}
