import type { WorkspaceSession } from "@neosc/core/session";
import { Check, Hourglass, LoaderCircle, MonitorOff, MousePointerClick } from "lucide-react";
import { Link } from "react-router";
import { Button, buttonClass } from "../../components/ui/button.tsx";
import { cn } from "../../lib/cn.ts";
import type { StartStep, ViewerState } from "./connection-loop.ts";
import { sessionWarning } from "./warnings.ts";

const steps = (waitingFor: string): { step: StartStep; label: string }[] => [
  { step: "ticket", label: "Getting a connection ticket" },
  { step: "socket", label: "Connecting to the gateway" },
  { step: "handshake", label: `Waiting for ${waitingFor}` },
];

/** Covers the display while it is not connected: progress while starting, the reason once closed. */
export function ViewerOverlay({
  state,
  workspaceName,
  waitingFor = "the first picture",
  onReconnect,
}: {
  state: ViewerState;
  workspaceName: string;
  /** What the last start step waits for (the first picture, the shell). */
  waitingFor?: string;
  onReconnect: () => void;
}) {
  if (state.phase === "connected") return null;
  if (state.phase === "starting") {
    const stepList = steps(waitingFor);
    const index = stepList.findIndex((entry) => entry.step === state.step);
    return (
      <div className="absolute inset-0 flex items-center justify-center bg-neutral-950/90 p-6">
        <div role="status" aria-live="polite" className="w-full max-w-sm text-neutral-100">
          <p className="mb-1 font-medium">
            {state.retry ? `Reconnecting to ${workspaceName}` : `Opening ${workspaceName}`}
          </p>
          {state.retry ? (
            <p className="mb-3 text-sm text-neutral-400">
              {state.retry}. Attempt {state.attempt}.
            </p>
          ) : (
            <p className="mb-3 text-sm text-neutral-400">
              The workspace is running; the viewer is connecting.
            </p>
          )}
          <ol className="flex flex-col gap-2 text-sm">
            {stepList.map((entry, position) => (
              <li
                key={entry.step}
                className={cn(
                  "flex items-center gap-2",
                  position > index ? "text-neutral-500" : "text-neutral-100",
                )}
              >
                {position < index ? (
                  <Check aria-hidden className="size-4 text-emerald-400" />
                ) : position === index ? (
                  <LoaderCircle aria-hidden className="size-4 animate-spin" />
                ) : (
                  <span aria-hidden className="size-4" />
                )}
                {entry.label}
                {position === index ? <span className="sr-only"> (in progress)</span> : null}
              </li>
            ))}
          </ol>
          <div
            aria-hidden
            className="mt-4 h-1 overflow-hidden rounded-full bg-neutral-800"
            title={`${index + 1} of ${stepList.length}`}
          >
            <div
              className="h-full rounded-full bg-emerald-400 transition-all duration-300"
              style={{ width: `${((index + 1) / (stepList.length + 1)) * 100}%` }}
            />
          </div>
        </div>
      </div>
    );
  }
  const { outcome } = state;
  return (
    <div className="absolute inset-0 flex items-center justify-center bg-neutral-950/95 p-6">
      <div role="alert" className="flex max-w-md flex-col items-center gap-2 text-center">
        <MonitorOff aria-hidden className="size-9 text-neutral-400" />
        <p className="text-lg font-semibold text-neutral-50">{outcome.title}</p>
        <p className="text-sm text-neutral-300">{outcome.detail}</p>
        <div className="mt-3 flex flex-wrap justify-center gap-2">
          {outcome.kind === "refused" ? (
            <Button size="sm" onClick={onReconnect}>
              Try again
            </Button>
          ) : null}
          <Link to="/" className={buttonClass(outcome.kind === "ended" ? "primary" : "secondary", "sm")}>
            Back to Home
          </Link>
          <Link to="/sessions?tab=history" className={buttonClass("secondary", "sm")}>
            Session history
          </Link>
        </div>
      </div>
    </div>
  );
}

/** The minute before a time-limit or idle end, over the display (also in full screen). */
export function WarningBanner({
  session,
  now,
  onKeepWorking,
}: {
  session: Pick<WorkspaceSession, "endsAt" | "idleEndsAt">;
  now: Date;
  onKeepWorking: () => void;
}) {
  const warning = sessionWarning(session, now);
  if (!warning) return null;
  return (
    <div className="absolute inset-x-0 top-3 z-10 flex justify-center px-3">
      <div
        role="alert"
        className="flex max-w-xl flex-wrap items-center gap-3 rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-950 shadow-lg"
      >
        {warning.kind === "time-limit" ? (
          <>
            <Hourglass aria-hidden className="size-5 shrink-0" />
            <p>
              <span className="font-semibold">Time limit in {warning.secondsLeft} s.</span> The session ends
              then — save your work.
            </p>
          </>
        ) : (
          <>
            <MousePointerClick aria-hidden className="size-5 shrink-0" />
            <p>
              <span className="font-semibold">Still there?</span> Nothing was typed or clicked for a while;
              the session ends in {warning.secondsLeft} s.
            </p>
            <Button size="sm" onClick={onKeepWorking}>
              I'm still here
            </Button>
          </>
        )}
      </div>
    </div>
  );
}
