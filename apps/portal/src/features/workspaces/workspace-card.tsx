import type { WorkspaceSession } from "@neosc/core/session";
import type { Workspace } from "@neosc/core/workspace";
import type { WorkspaceAvailability } from "@neosc/core/workspace-host";
import { Play } from "lucide-react";
import { ProblemCallout } from "../../components/problem-callout.tsx";
import { Button } from "../../components/ui/button.tsx";
import { Badge } from "../../components/ui/feedback.tsx";
import type { Problem } from "../../lib/problem.ts";
import { OpenSessionLink } from "../sessions/running-session-actions.tsx";
import { KindIcon, kindLabel } from "./kind.tsx";

export interface WorkspaceCardProps {
  workspace: Pick<Workspace, "id" | "name" | "description" | "kind" | "tags" | "enabled"> & {
    availability: WorkspaceAvailability;
  };
  /** The caller's running session of this workspace, if any. */
  session: Pick<WorkspaceSession, "id" | "connectionUrl"> | null;
  openHref: string | null;
  busy: boolean;
  problem: Problem | undefined;
  onLaunch: () => void;
  onDismissProblem: () => void;
}

export function WorkspaceCard({
  workspace,
  session,
  openHref,
  busy,
  problem,
  onLaunch,
  onDismissProblem,
}: WorkspaceCardProps) {
  return (
    <article
      aria-labelledby={`ws-${workspace.id}`}
      className="flex flex-col gap-3 rounded-xl border border-line bg-surface p-4 shadow-sm"
    >
      <div className="flex items-start gap-3">
        <span className="flex size-10 shrink-0 items-center justify-center rounded-lg bg-primary-soft text-primary">
          <KindIcon kind={workspace.kind} />
        </span>
        <div className="min-w-0 flex-1">
          <h3 id={`ws-${workspace.id}`} className="truncate font-semibold text-fg">
            {workspace.name}
          </h3>
          <div className="mt-0.5 flex flex-wrap items-center gap-1.5">
            <Badge>{kindLabel(workspace.kind)}</Badge>
            {session ? <Badge tone="success">Running</Badge> : null}
            {!workspace.enabled ? <Badge tone="warning">Disabled</Badge> : null}
            {workspace.enabled && !workspace.availability.available ? (
              <Badge tone="warning">Unavailable</Badge>
            ) : null}
          </div>
        </div>
      </div>
      {workspace.description ? (
        <p className="line-clamp-3 text-sm text-fg-muted">{workspace.description}</p>
      ) : (
        <p className="text-sm text-fg-muted italic">No description.</p>
      )}
      {workspace.tags.length > 0 ? (
        <ul aria-label="Tags" className="flex flex-wrap gap-1">
          {workspace.tags.map((tag) => (
            <li key={tag} className="rounded-md border border-line px-1.5 py-0.5 text-xs text-fg-muted">
              {tag}
            </li>
          ))}
        </ul>
      ) : null}
      {!workspace.availability.available && !session ? (
        <p className="text-sm text-fg-muted">
          {workspace.availability.reason}
          {workspace.availability.missing.length > 0 ? (
            <>
              {" "}
              An administrator can install them with{" "}
              <code className="rounded bg-surface-muted px-1">
                apt-get install {workspace.availability.missing.join(" ")}
              </code>
              .
            </>
          ) : null}
        </p>
      ) : null}
      {problem ? <ProblemCallout problem={problem} onDismiss={onDismissProblem} /> : null}
      <div className="mt-auto flex flex-wrap gap-2 pt-1">
        {session ? (
          // The session itself (time left, "End session") is listed once, under "Running now".
          <OpenSessionLink href={openHref} variant="primary" workspaceName={workspace.name} />
        ) : (
          <Button
            size="sm"
            loading={busy}
            onClick={onLaunch}
            disabled={!workspace.enabled || !workspace.availability.available}
            icon={<Play aria-hidden className="size-4" />}
            aria-label={`Launch ${workspace.name}`}
          >
            Launch
          </Button>
        )}
      </div>
    </article>
  );
}
