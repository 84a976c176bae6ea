import type { WorkspaceSession } from "@neosc/core/session";
import { Clock, Hourglass } from "lucide-react";
import type { ReactNode } from "react";
import { cn } from "../../lib/cn.ts";
import { formatRelative } from "../../lib/format.ts";
import { KindIcon } from "../workspaces/kind.tsx";
import { RunningSessionActions } from "./running-session-actions.tsx";
import { timeLeft } from "./time-left.ts";

/** One running session with what the policies leave of it. */
export function ActiveSessionItem({
  session,
  now,
  openHref,
  showUser,
  actionLabel,
  busy,
  onEnd,
  extra,
}: {
  session: WorkspaceSession;
  now: Date;
  openHref: string | null;
  showUser?: boolean;
  actionLabel: string;
  busy?: boolean;
  /** Absent: no end action (the auditor reads, it does not end sessions). */
  onEnd?: (() => void) | undefined;
  /** More actions before the end action (an admin's Watch). */
  extra?: ReactNode;
}) {
  const left = timeLeft(session, now);
  return (
    <li className="flex flex-col gap-3 p-4 sm:flex-row sm:items-center">
      <div className="flex min-w-0 flex-1 items-start gap-3">
        <span className="flex size-9 shrink-0 items-center justify-center rounded-lg bg-success-soft text-success">
          <KindIcon kind={session.workspaceKind} className="size-4" />
        </span>
        <div className="min-w-0">
          <p className="truncate font-medium text-fg">{session.workspaceName}</p>
          <p className="text-xs text-fg-muted">
            {showUser ? <span className="font-medium text-fg">{session.userEmail} · </span> : null}
            started {formatRelative(session.startedAt, now)}
            {session.clientIp ? ` · from ${session.clientIp}` : ""}
          </p>
          {left.maxDuration || left.idle ? (
            <p
              className={cn(
                "mt-1 flex flex-wrap gap-x-3 gap-y-1 text-xs",
                left.soon ? "text-warning" : "text-fg-muted",
              )}
            >
              {left.maxDuration ? (
                <span className="inline-flex items-center gap-1">
                  <Hourglass aria-hidden className="size-3.5" />
                  {left.maxDuration}
                </span>
              ) : null}
              {left.idle ? (
                <span className="inline-flex items-center gap-1">
                  <Clock aria-hidden className="size-3.5" />
                  {left.idle}
                </span>
              ) : null}
            </p>
          ) : null}
        </div>
      </div>
      <div className="flex shrink-0 gap-2">
        {extra}
        {onEnd === undefined ? null : (
          <RunningSessionActions
            openHref={openHref}
            openVariant="secondary"
            endLabel={actionLabel}
            endAccessibleName={`${actionLabel} ${session.workspaceName}${showUser ? ` for ${session.userEmail}` : ""}`}
            workspaceName={session.workspaceName}
            busy={busy}
            onEnd={onEnd}
          />
        )}
      </div>
    </li>
  );
}
