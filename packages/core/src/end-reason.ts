import type { SessionEndReason } from "./session.ts";

/*
 * Why a session ended, in words: one text for the portal's viewer and history and for the pages
 * the gateway serves in place of an ended web app.
 */

/** A short label ("Ended by an administrator"). */
export const END_REASON: Record<SessionEndReason, string> = {
  user_stopped: "Ended by you",
  user_disconnected: "Ended by you",
  admin_disconnected: "Ended by an administrator",
  max_duration: "Time limit reached",
  idle_timeout: "Idle too long",
  access_hours: "Outside access hours",
  user_disabled: "Account disabled",
  mfa_reset: "Second factor reset",
  workspace_deleted: "Workspace removed",
  workspace_exited: "The workspace stopped",
  workspace_out_of_memory: "Out of memory",
  host_lost: "The workspace host stopped answering",
  login_revoked: "Signed out",
  launch_failed: "Could not start",
  recording_failed: "Recording failed",
};

/** One sentence on what happened. */
export const END_DETAIL: Record<SessionEndReason, string> = {
  user_stopped: "You ended this session.",
  user_disconnected: "You ended this session.",
  admin_disconnected: "An administrator ended this session. Anything unsaved in it is gone.",
  max_duration: "Sessions may run only for a limited time. Launch the workspace again to continue.",
  idle_timeout: "Nothing was typed or clicked in the workspace for too long, so it was ended.",
  access_hours: "Workspaces are available only during access hours.",
  user_disabled: "Your account was disabled by an administrator.",
  mfa_reset:
    "An administrator reset your second factor, so you were signed out everywhere. Sign in again and set up your authenticator anew.",
  workspace_deleted: "The workspace was removed from the catalogue.",
  workspace_exited: "The programs in the workspace ended, so the session ended with them.",
  workspace_out_of_memory:
    "A program in the workspace used more memory than this workspace allows, so the session was ended. Anything unsaved in it is gone.",
  host_lost: "The machine running the workspace stopped answering.",
  login_revoked: "You signed out, or your sign-in was revoked, so the session was ended.",
  launch_failed: "The workspace could not be started.",
  recording_failed:
    "Sessions here must be recorded, and recording stopped working, so the session was ended. Launch again later.",
};
