import type { WorkspaceSession } from "@neosc/core/session";
import { formatDuration } from "../../lib/format.ts";

export interface TimeLeft {
  /** "7 h 12 min left" under session-max-duration, or null when that policy is off. */
  maxDuration: string | null;
  /** "idle timeout in 29 min" under idle-timeout, or null when that policy is off. */
  idle: string | null;
  /** True when either limit is less than 10 minutes away. */
  soon: boolean;
}

/** What the max-duration and idle policies leave of a running session. */
export function timeLeft(session: Pick<WorkspaceSession, "endsAt" | "idleEndsAt">, now: Date): TimeLeft {
  const endMs = session.endsAt ? session.endsAt.getTime() - now.getTime() : null;
  const idleMs = session.idleEndsAt ? session.idleEndsAt.getTime() - now.getTime() : null;
  const soonMs = 10 * 60_000;
  return {
    maxDuration: endMs === null ? null : endMs > 0 ? `${formatDuration(endMs)} left` : "ending now",
    idle:
      idleMs === null ? null : idleMs > 0 ? `idle timeout in ${formatDuration(idleMs)}` : "idle timeout now",
    soon: (endMs !== null && endMs < soonMs) || (idleMs !== null && idleMs < soonMs),
  };
}
