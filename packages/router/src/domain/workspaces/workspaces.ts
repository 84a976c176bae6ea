import { SYSTEM_ACTOR } from "@neosc/core/audit";
import { DomainError, isDomainError } from "@neosc/core/errors";
import { isAdmin } from "@neosc/core/roles";
import type { User } from "@neosc/core/user";
import {
  type CreateWorkspaceInput,
  CreateWorkspaceInputSchema,
  type ListWorkspacesInput,
  type UpdateWorkspaceInput,
  type Workspace,
} from "@neosc/core/workspace";
import type { CatalogueEntry } from "@neosc/core/workspace-host";
import type { Database } from "@neosc/db/database";
import type { WorkspaceFilter } from "@neosc/db/repositories/workspaces";
import type { AuthedContext, CatalogueAddresses } from "../../context.ts";
import { audit } from "../audit/record.ts";
import { joiningOrganization } from "../organizations/organizations.ts";
import { endSessionOnce } from "../sessions/end.ts";
import { availabilityOf, reachableHosts } from "./availability.ts";
import { DEFAULT_CATALOGUE_ADDRESSES, defaultCatalogue } from "./default-catalogue.ts";

/** A workspace a person could launch: enabled, their role allowed, global or their organization. */
export function isLaunchableBy(workspace: Workspace, user: User): boolean {
  return (
    workspace.enabled && workspace.allowedRoles.includes(user.role) && organizationMatches(workspace, user)
  );
}

/** Admins are global; everyone else sees global workspaces and those of their own organization. */
export function organizationMatches(workspace: Workspace, user: User): boolean {
  return (
    isAdmin(user) || workspace.organizationId === null || workspace.organizationId === user.organizationId
  );
}

/**
 * Admins: every workspace, with all filters, or with `launchable` what they may launch. Others:
 * always what they may launch (kind/tag/search apply).
 */
export async function listWorkspaces(
  ctx: AuthedContext,
  input: ListWorkspacesInput,
): Promise<CatalogueEntry[]> {
  const [workspaces, hosts] = await Promise.all([findWorkspaces(ctx, input), reachableHosts(ctx)]);
  const now = ctx.clock();
  return workspaces.map((workspace) => ({
    ...workspace,
    availability: availabilityOf(workspace, hosts, now),
  }));
}

function findWorkspaces(ctx: AuthedContext, input: ListWorkspacesInput): Promise<Workspace[]> {
  const { user } = ctx.identity;
  if (isAdmin(user) && input.launchable !== true) return ctx.db.workspaces.list(input);
  const filter: WorkspaceFilter = {
    ...(input.kind === undefined ? {} : { kind: input.kind }),
    ...(input.tag === undefined ? {} : { tag: input.tag }),
    ...(input.search === undefined ? {} : { search: input.search }),
    role: user.role,
    enabled: true,
    // As organizationMatches: admins are global.
    ...(isAdmin(user)
      ? {}
      : { organizationIds: user.organizationId === null ? [null] : [null, user.organizationId] }),
  };
  return ctx.db.workspaces.list(filter);
}

/** One workspace; NOT_FOUND when it does not exist or the caller may not launch it (existence is sensitive). */
export async function getWorkspace(ctx: AuthedContext, id: string): Promise<Workspace> {
  const workspace = await ctx.db.workspaces.findById(id);
  const { user } = ctx.identity;
  if (workspace === null || !(isAdmin(user) || isLaunchableBy(workspace, user))) {
    throw notFound(id);
  }
  return workspace;
}

export function notFound(id: string): DomainError {
  return new DomainError("NOT_FOUND", "not_found", "No such workspace", { details: { workspaceId: id } });
}

/** Runs `write` assigning a workspace to `organizationId`, which cannot be deleted meanwhile. */
function assigningTo<T>(
  ctx: AuthedContext,
  organizationId: string | null | undefined,
  write: () => Promise<T>,
) {
  return joiningOrganization(
    ctx,
    organizationId,
    write,
    () =>
      new DomainError("BAD_REQUEST", "invalid_input", "No such organization", {
        details: { field: "organizationId" },
      }),
  );
}

/** Admins: adds a workspace to the catalogue. */
export async function createWorkspace(ctx: AuthedContext, input: CreateWorkspaceInput): Promise<Workspace> {
  const workspace = await assigningTo(ctx, input.organizationId, () => ctx.db.workspaces.create(input));
  await audit(ctx, {
    action: "workspace.create",
    resource: { type: "workspace", id: workspace.id },
    details: { slug: workspace.slug, kind: workspace.kind, allowedRoles: workspace.allowedRoles },
  });
  return workspace;
}

/** Admins: changes fields; the kind/target rule is checked on the merged document. */
export async function updateWorkspace(ctx: AuthedContext, input: UpdateWorkspaceInput): Promise<Workspace> {
  const current = await ctx.db.workspaces.findById(input.id);
  if (current === null) throw notFound(input.id);
  const merged = CreateWorkspaceInputSchema.safeParse({
    slug: current.slug,
    name: current.name,
    description: current.description,
    kind: current.kind,
    image: current.image,
    url: current.url,
    driver: current.driver,
    program: current.program,
    target: current.target,
    sshTarget: current.sshTarget,
    cpu: current.cpu,
    memoryMb: current.memoryMb,
    warm: current.warm,
    allowedRoles: current.allowedRoles,
    organizationId: current.organizationId,
    enabled: current.enabled,
    tags: current.tags,
    ...input.patch,
  });
  if (!merged.success) {
    const issue = merged.error.issues[0];
    throw new DomainError("BAD_REQUEST", "invalid_input", issue?.message ?? "Invalid workspace", {
      details: { field: issue?.path.join(".") ?? null },
    });
  }
  const updated = await assigningTo(ctx, input.patch.organizationId, () =>
    ctx.db.workspaces.update(input.id, input.patch),
  );
  if (updated === null) throw notFound(input.id);
  await audit(ctx, {
    action: "workspace.update",
    resource: { type: "workspace", id: updated.id },
    details: {
      changed: Object.keys(input.patch),
      before: pick(current, input.patch),
      after: pick(updated, input.patch),
    },
  });
  return updated;
}

function pick(workspace: Workspace, patch: UpdateWorkspaceInput["patch"]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(patch) as (keyof Workspace)[]) out[key] = workspace[key];
  return out;
}

/** Ends every active session of the given workspaces (they no longer exist). */
async function endSessionsOfWorkspaces(ctx: AuthedContext, workspaceIds: string[]): Promise<number> {
  let ended = 0;
  const at = ctx.clock();
  for (const workspaceId of workspaceIds) {
    for (const session of await ctx.db.sessions.listActive({ workspaceId })) {
      const result = await endSessionOnce(ctx, session, {
        reason: "workspace_deleted",
        at,
        action: "session.end",
      });
      if (result !== null) ended++;
    }
  }
  return ended;
}

/** Admins: removes a workspace and ends its active sessions (reason `workspace_deleted`). */
export async function deleteWorkspace(
  ctx: AuthedContext,
  id: string,
): Promise<{ ok: true; endedSessions: number }> {
  const workspace = await ctx.db.workspaces.findById(id);
  if (workspace === null || !(await ctx.db.workspaces.delete(id))) throw notFound(id);
  // Deleted first, so no launch can start a new session while the running ones are ended.
  const endedSessions = await endSessionsOfWorkspaces(ctx, [id]);
  await audit(ctx, {
    action: "workspace.delete",
    resource: { type: "workspace", id },
    details: { slug: workspace.slug, endedSessions },
  });
  return { ok: true, endedSessions };
}

/** Admins: restores the default catalogue; other workspaces are removed and their sessions ended. */
export async function resetWorkspaces(
  ctx: AuthedContext,
): Promise<{ workspaces: Workspace[]; removed: number; endedSessions: number }> {
  const { workspaces, removedIds } = await ctx.db.workspaces.replaceAll(
    defaultCatalogue(ctx.config.catalogue ?? DEFAULT_CATALOGUE_ADDRESSES),
  );
  const endedSessions = await endSessionsOfWorkspaces(ctx, removedIds);
  await audit(ctx, {
    action: "workspace.reset",
    resource: { type: "workspace", id: null },
    details: { restored: workspaces.map((w) => w.slug), removed: removedIds.length, endedSessions },
  });
  return { workspaces, removed: removedIds.length, endedSessions };
}

/**
 * First start: fills an empty catalogue with the defaults, so a fresh install has something to
 * launch. Safe on several replicas at once (a slug another replica inserted first is skipped).
 */
export async function seedDefaultCatalogue(
  db: Database,
  addresses: CatalogueAddresses = DEFAULT_CATALOGUE_ADDRESSES,
): Promise<number> {
  if ((await db.workspaces.countAll()).total > 0) return 0;
  const created: string[] = [];
  for (const input of defaultCatalogue(addresses)) {
    try {
      created.push((await db.workspaces.create(input)).slug);
    } catch (error) {
      if (!isDomainError(error, "duplicate")) throw error;
    }
  }
  if (created.length > 0) {
    await audit(
      { db, identity: null, request: { clientIp: null, userAgent: null } },
      {
        action: "system.seedCatalogue",
        actor: SYSTEM_ACTOR,
        resource: { type: "workspace", id: null },
        details: { created },
      },
    );
  }
  return created.length;
}
