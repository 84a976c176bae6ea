import { END_DETAIL, END_REASON } from "@neosc/core/end-reason";
import type { SessionEndReason } from "@neosc/core/session";

/** Numbers from the policies that make a reason concrete ("Idle for 15 minutes"). */
export interface EndReasonNumbers {
  idleMinutes?: number | null;
  maxDurationMinutes?: number | null;
}

function minutesText(minutes: number): string {
  if (minutes % 60 === 0) return minutes === 60 ? "1 hour" : `${minutes / 60} hours`;
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

/**
 * The end reason in words, the same in the viewer and in the session history. `own`: whether the
 * reader is the session's owner — an admin reading someone's history sees "Ended by its owner",
 * not "Ended by you".
 */
export function endReasonLabel(
  reason: SessionEndReason | null,
  numbers: EndReasonNumbers = {},
  own = true,
): string {
  if (!own && (reason === "user_stopped" || reason === "user_disconnected")) return "Ended by its owner";
  if (reason === "idle_timeout" && numbers.idleMinutes) return `Idle for ${minutesText(numbers.idleMinutes)}`;
  return reason === null ? "Ended" : END_REASON[reason];
}

/** One sentence on what happened, for the viewer's end screen. */
export function endReasonDetail(reason: SessionEndReason | null, numbers: EndReasonNumbers = {}): string {
  if (reason === "max_duration" && numbers.maxDurationMinutes) {
    return `Sessions may run for ${minutesText(numbers.maxDurationMinutes)}. Launch the workspace again to continue.`;
  }
  if (reason === "idle_timeout" && numbers.idleMinutes) {
    return `Nothing was typed or clicked in the workspace for ${minutesText(numbers.idleMinutes)}, so it was ended.`;
  }
  return reason === null ? "The session has ended." : END_DETAIL[reason];
}
