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

const END_REASON: Record<SessionEndReason, string> = {
  user_stopped: "Ended by you",
  user_disconnected: "Ended by you",
  admin_disconnected: "Ended by an administrator",
  max_duration: "Time limit reached",
  idle_timeout: "Idle too long",
  access_hours: "Outside access hours",
  user_disabled: "Account disabled",
  workspace_deleted: "Workspace removed",
  workspace_exited: "The workspace stopped",
  host_lost: "The workspace host stopped answering",
  login_revoked: "Signed out",
  launch_failed: "Could not start",
};

const END_DETAIL: Record<SessionEndReason, string> = {
  user_stopped: "You ended this session.",
  user_disconnected: "You ended this session.",
  admin_disconnected: "An administrator ended this session. Anything unsaved in it is gone.",
  max_duration: "Sessions may run only for a limited time. Launch the workspace again to continue.",
  idle_timeout: "Nothing was typed or clicked in the workspace for too long, so it was ended.",
  access_hours: "Workspaces are available only during access hours.",
  user_disabled: "Your account was disabled by an administrator.",
  workspace_deleted: "The workspace was removed from the catalogue.",
  workspace_exited: "The programs in the workspace ended, so the session ended with them.",
  host_lost: "The machine running the workspace stopped answering.",
  login_revoked: "You signed out, or your sign-in was revoked, so the session was ended.",
  launch_failed: "The workspace could not be started.",
};

/** The end reason in words, the same in the viewer and in the session history. */
export function endReasonLabel(reason: SessionEndReason | null, numbers: EndReasonNumbers = {}): string {
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
