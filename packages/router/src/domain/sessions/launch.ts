import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { SYSTEM_ACTOR } from "@neosc/core/audit";
import { DomainError, isDomainError } from "@neosc/core/errors";
import { recordingMode } from "@neosc/core/policy";
import { isAdmin } from "@neosc/core/roles";
import type { WorkspaceSession } from "@neosc/core/session";
import type { LaunchWorkspaceInput } from "@neosc/core/workspace";
import type { WorkspaceHost } from "@neosc/core/workspace-host";
import type { AuthedContext, LaunchResult } from "../../context.ts";
import { audit } from "../audit/record.ts";
import { checkAccessHours, checkIpAllowlist, checkMfa, sessionDeadlines } from "../policies/checks.ts";
import { loadPolicies } from "../policies/policies.ts";
import { checkRecordingAvailable } from "../recordings/recordings.ts";
import { HOSTS_FULL, isLive, placeSession, reachableHosts } from "../workspaces/availability.ts";
import { notFound, organizationMatches } from "../workspaces/workspaces.ts";
import { endSessionOnce, expireIfDue } from "./end.ts";

/**
 * Where the browser goes: the portal's session page, for every kind. A web app is shown there
 * from its session origin through the gateway, never at its own URL (that would go around the
 * portal and every policy).
 */
export function connectionUrlFor(sessionId: string): string {
  return `/workspace/${sessionId}`;
}

/**
 * Launches a workspace for the caller. Checks, in order, each denial audited: the workspace
 * exists for them (NOT_FOUND otherwise) and is enabled, their role is allowed, then the
 * ip-allowlist, access-hours, mfa-required and max-concurrent-sessions policies; then a workspace
 * host with room that can run it (refused with `workspace_unavailable` when none can), and the
 * workspace starts there before the session is returned: no success without a running workspace.
 */
export async function launchWorkspace(
  ctx: AuthedContext,
  input: LaunchWorkspaceInput,
): Promise<WorkspaceSession> {
  const started = performance.now();
  let result: LaunchResult = "error";
  try {
    const session = await launch(ctx, input);
    result = "success";
    return session;
  } catch (error) {
    if (isDomainError(error) && (error.code === "FORBIDDEN" || error.code === "NOT_FOUND")) result = "denied";
    throw error;
  } finally {
    ctx.services.events.workspaceLaunched(result, (performance.now() - started) / 1000);
  }
}

/** A local account with an authenticator, signed in with a login session: a code raises it. */
function canStepUp(ctx: AuthedContext): boolean {
  const { user, loginSession } = ctx.identity;
  return user.source === "local" && user.totpEnabled && loginSession !== null;
}

async function launch(ctx: AuthedContext, input: LaunchWorkspaceInput): Promise<WorkspaceSession> {
  const { user, mfa } = ctx.identity;
  const now = ctx.clock();

  /** Audits `error`; answers `answer` (the same error unless it must not be revealed). */
  const deny = async (error: DomainError, answer: DomainError = error): Promise<never> => {
    await audit(ctx, {
      action: "workspace.launch",
      resource: { type: "workspace", id: input.workspaceId },
      result: "denied",
      reason: error.reason,
      details: error.details ?? {},
    });
    throw answer;
  };

  const workspace = await ctx.db.workspaces.findById(input.workspaceId);
  if (workspace === null || !organizationMatches(workspace, user)) return deny(notFound(input.workspaceId));
  // Someone who may not see a workspace (workspace.get, workspace.list) learns nothing from the
  // answer: it reads as if there were none. The audit entry keeps the real reason.
  const hidden = isAdmin(user) ? undefined : notFound(input.workspaceId);
  if (!workspace.enabled) {
    return deny(new DomainError("FORBIDDEN", "workspace_disabled", "This workspace is switched off"), hidden);
  }
  if (!workspace.allowedRoles.includes(user.role)) {
    return deny(
      new DomainError("FORBIDDEN", "role_not_allowed", "Your role may not launch this workspace", {
        details: { role: user.role, allowedRoles: workspace.allowedRoles },
      }),
      hidden,
    );
  }

  const policies = await loadPolicies(ctx.db);
  const refusal =
    checkIpAllowlist(policies["ip-allowlist"], ctx.request.clientIp) ??
    checkAccessHours(policies["access-hours"], now) ??
    checkMfa(policies["mfa-required"], mfa, canStepUp(ctx), ctx.identity.method) ??
    (await checkRecordingAvailable(
      ctx,
      recordingMode(policies.recording, workspace.recording) === "required",
    ));
  if (refusal !== null) return deny(refusal);

  // Sessions past a deadline still hold a slot until the sweeper reaches them; free the caller's now.
  for (const active of await ctx.db.sessions.listActiveByUser(user.id)) await expireIfDue(ctx, active, now);

  // Desktops and apps run on a workspace host; web workspaces need none.
  /** Where it may be placed, least loaded first; null: a web workspace, placed nowhere. */
  let hosts: WorkspaceHost[] | null = null;
  if (workspace.kind !== "web") {
    const reachable = await reachableHosts(ctx);
    // Each live host's load is one read by `_id` (its load document), not a count of sessions.
    const live = reachable.filter((host) => isLive(host, now)).map((host) => host.id);
    const placement = placeSession(workspace, reachable, await ctx.db.sessions.activeCountsByHost(live), now);
    if ("unavailable" in placement) {
      const { reason, missing } = placement.unavailable;
      return deny(
        new DomainError(
          "UNAVAILABLE",
          "workspace_unavailable",
          reason ?? "This workspace cannot start here",
          {
            details: { missing },
          },
        ),
      );
    }
    hosts = placement.hosts;
  }

  const maxConcurrent = policies["max-concurrent-sessions"];
  const limit = maxConcurrent.enabled ? maxConcurrent.settings.limit : null;
  const id = randomUUID();
  const newSession = {
    id,
    workspaceId: workspace.id,
    workspaceSlug: workspace.slug,
    workspaceName: workspace.name,
    workspaceKind: workspace.kind,
    userId: user.id,
    userEmail: user.email,
    organizationId: user.organizationId,
    startedAt: now,
    clientIp: ctx.request.clientIp,
    connectionUrl: connectionUrlFor(id),
    ...sessionDeadlines(policies["session-max-duration"], policies["idle-timeout"], now),
  };
  // The host's room is checked again as the place is taken, atomically: of launches that all saw
  // its last place free, one gets it and the others the next host with room, or this refusal.
  const created =
    hosts === null
      ? ((await ctx.db.sessions.createWithinLimit({ ...newSession, hostId: null }, limit)) ?? "person_limit")
      : await ctx.db.sessions.createPlaced(
          newSession,
          limit,
          hosts.map((host) => ({ id: host.id, capacity: host.capacity })),
        );
  if (created === "hosts_full") {
    return deny(
      new DomainError("UNAVAILABLE", "workspace_unavailable", HOSTS_FULL, {
        details: { missing: [] },
      }),
    );
  }
  if (created === "person_limit") {
    const active = await ctx.db.sessions.countActiveByUser(user.id);
    return deny(
      new DomainError(
        "FORBIDDEN",
        "max_concurrent_sessions",
        `You can run at most ${limit} workspaces at once`,
        {
          details: { limit, active },
        },
      ),
    );
  }

  const session = created;
  const hostId = session.hostId;
  if (hostId !== null) await startOnHost(ctx, session, hostId);

  await audit(ctx, {
    action: "workspace.launch",
    resource: { type: "workspace", id: workspace.id },
    details: { sessionId: session.id, slug: workspace.slug, kind: workspace.kind, hostId },
  });
  return session;
}

/** Starts the session's workspace; when it does not start, the session ends `launch_failed`. */
async function startOnHost(ctx: AuthedContext, session: WorkspaceSession, hostId: string): Promise<void> {
  const hosts = ctx.services.workspaceHosts;
  let failure: string | null = null;
  if (hosts === null) failure = "This API reaches no workspace host";
  else {
    try {
      await hosts.start(hostId, session.id);
    } catch (error) {
      failure = error instanceof Error ? error.message : "The workspace did not start";
    }
  }
  if (failure === null) return;
  await endSessionOnce(ctx, session, {
    reason: "launch_failed",
    at: ctx.clock(),
    action: "session.launchFailed",
    actor: SYSTEM_ACTOR,
    details: { hostId, problem: failure },
  });
  await hosts?.stop(hostId, session.id).catch(() => {});
  throw new DomainError("UNAVAILABLE", "launch_failed", `The workspace did not start: ${failure}`, {
    details: { hostId },
  });
}
