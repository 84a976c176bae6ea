import type { WorkspaceSession } from "@neosc/core/session";
import { ArrowLeft } from "lucide-react";
import type { ReactNode } from "react";
import { Link } from "react-router";
import { formatRelative } from "../../lib/format.ts";
import { KindIcon, kindLabel } from "../workspaces/kind.tsx";

/** The title block of a session page (desktop, terminal or web app): back home, kind, name, state. */
export function SessionHeading({
  session,
  now,
  status,
  detail,
}: {
  session: Pick<WorkspaceSession, "workspaceKind" | "workspaceName" | "startedAt">;
  now: Date;
  /** The connection's state as a badge. */
  status: ReactNode;
  /** Appended after "started …", e.g. the time left. */
  detail?: string;
}) {
  return (
    <div className="flex min-w-0 items-center gap-3">
      <Link
        to="/"
        className="inline-flex size-9 items-center justify-center rounded-lg text-fg-muted hover:bg-surface-muted hover:text-fg"
        aria-label="Home"
      >
        <ArrowLeft aria-hidden className="size-4" />
      </Link>
      <span className="flex size-9 shrink-0 items-center justify-center rounded-lg bg-success-soft text-success">
        <KindIcon kind={session.workspaceKind} className="size-4" />
      </span>
      <div className="min-w-0">
        <h1 className="truncate text-lg font-semibold text-fg">{session.workspaceName}</h1>
        <p className="flex flex-wrap items-center gap-2 text-xs text-fg-muted">
          {status}
          {kindLabel(session.workspaceKind)} · started {formatRelative(session.startedAt, now)}
          {detail ?? ""}
        </p>
      </div>
    </div>
  );
}
