import type { WorkspaceSession } from "@neosc/core/session";

/** How long before a time-limit or idle end the viewer warns (the gateway closes at the deadline). */
export const WARNING_MS = 60_000;

export type SessionWarning =
  | { kind: "time-limit"; secondsLeft: number }
  /** "Still there?": no input reached the workspace for almost the idle limit. */
  | { kind: "idle"; secondsLeft: number };

/** The warning to show now, if a deadline is less than a minute away (the nearer one wins). */
export function sessionWarning(
  session: Pick<WorkspaceSession, "endsAt" | "idleEndsAt">,
  now: Date,
): SessionWarning | null {
  const left = (deadline: Date | null) => (deadline === null ? null : deadline.getTime() - now.getTime());
  const limit = left(session.endsAt);
  const idle = left(session.idleEndsAt);
  const soon = (ms: number | null): ms is number => ms !== null && ms <= WARNING_MS;
  const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));
  if (soon(limit) && (!soon(idle) || limit <= idle))
    return { kind: "time-limit", secondsLeft: seconds(limit) };
  if (soon(idle)) return { kind: "idle", secondsLeft: seconds(idle) };
  return null;
}
