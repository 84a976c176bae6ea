import { useState } from "react";
import { useNavigate } from "react-router";
import { useMe } from "../../app/me-context.tsx";
import { useRuntimeConfig } from "../../app/runtime-config.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
import { readApiError } from "../../lib/api-error.ts";
import { describeError, type Problem } from "../../lib/problem.ts";
import { trpc } from "../../lib/trpc.ts";
import type { StepUpInput } from "../mfa/step-up-dialog.tsx";

/**
 * Where "Open" goes: a session's `/workspace/<id>` is the portal's own session page (every kind);
 * an absolute URL (web sessions launched before they went through the gateway) opens as it is.
 */
export function connectionHref(connectionUrl: string, apiBaseUrl: string): string {
  if (connectionUrl.startsWith("/workspace/")) return connectionUrl;
  try {
    return new URL(connectionUrl, apiBaseUrl || window.location.origin).toString();
  } catch {
    return connectionUrl;
  }
}

interface LaunchTarget {
  id: string;
  name: string;
  kind: string;
}

/**
 * Launch and stop with the refusal kept per workspace, in words. A launch refused for
 * `mfa-required` by someone with an authenticator asks for a code (`stepUp`) and carries on.
 */
export function useLaunch() {
  const me = useMe();
  const utils = trpc.useUtils();
  const { apiBaseUrl } = useRuntimeConfig();
  const navigate = useNavigate();
  const [problems, setProblems] = useState<Record<string, Problem>>({});
  const [pendingId, setPendingId] = useState<string | null>(null);
  const launch = trpc.workspace.launch.useMutation();
  const stop = trpc.workspace.stop.useMutation();
  const raise = trpc.auth.mfa.stepUp.useMutation();
  const [stepUpFor, setStepUpFor] = useState<LaunchTarget | null>(null);
  const canStepUp = me.method === "local" && me.user.totpEnabled;

  const clearProblem = (workspaceId: string) => setProblems(({ [workspaceId]: _removed, ...rest }) => rest);

  async function launchWorkspace(workspace: LaunchTarget) {
    clearProblem(workspace.id);
    setPendingId(workspace.id);
    try {
      const session = await launch.mutateAsync({ workspaceId: workspace.id });
      toast({ title: `${workspace.name} launched`, description: "The session is running." });
      // Every kind opens in the session page right away (web apps framed from their session origin).
      void navigate(`/workspace/${session.id}`);
    } catch (error) {
      const apiError = readApiError(error);
      if (apiError.domain?.reason === "mfa_required" && canStepUp) setStepUpFor(workspace);
      else setProblems((current) => ({ ...current, [workspace.id]: describeError(apiError) }));
    } finally {
      setPendingId(null);
      void utils.session.invalidate();
      void utils.stats.invalidate();
    }
  }

  async function stopWorkspace(workspace: { id: string; name: string }) {
    clearProblem(workspace.id);
    setPendingId(workspace.id);
    try {
      await stop.mutateAsync({ workspaceId: workspace.id });
      toast({ title: `${workspace.name} stopped` });
    } catch (error) {
      toastError(error);
    } finally {
      setPendingId(null);
      void utils.session.invalidate();
    }
  }

  const stepUp = {
    workspaceName: stepUpFor?.name ?? null,
    verify: async (input: StepUpInput) => {
      await raise.mutateAsync(input);
      const workspace = stepUpFor;
      setStepUpFor(null);
      void utils.auth.me.invalidate();
      if (workspace !== null) await launchWorkspace(workspace);
    },
    onCancel: () => setStepUpFor(null),
  };

  return { launchWorkspace, stopWorkspace, problems, clearProblem, pendingId, apiBaseUrl, stepUp };
}
