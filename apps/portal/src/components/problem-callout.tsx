import { ShieldAlert, X } from "lucide-react";
import { Link } from "react-router";
import type { Problem } from "../lib/problem.ts";

/** A refusal in words, with the place to fix it when there is one. */
export function ProblemCallout({ problem, onDismiss }: { problem: Problem; onDismiss?: () => void }) {
  return (
    <div
      role="alert"
      className="flex items-start gap-2 rounded-lg border border-warning/40 bg-warning-soft p-3 text-sm"
    >
      <ShieldAlert aria-hidden className="mt-0.5 size-4 shrink-0 text-warning" />
      <div className="min-w-0 flex-1">
        <p className="font-medium text-fg">{problem.title}</p>
        <p className="mt-0.5 text-fg">{problem.message}</p>
        {problem.action ? (
          <Link to={problem.action.to} className="mt-1 inline-block font-medium text-primary hover:underline">
            {problem.action.label} →
          </Link>
        ) : null}
      </div>
      {onDismiss ? (
        <button
          type="button"
          aria-label="Dismiss"
          onClick={onDismiss}
          className="rounded-md p-0.5 text-fg-muted hover:bg-surface-muted"
        >
          <X aria-hidden className="size-4" />
        </button>
      ) : null}
    </div>
  );
}
