import type { SessionEndReason } from "@neosc/core/session";

const END_REASON: Record<SessionEndReason, string> = {
  user_stopped: "Stopped",
  admin_disconnected: "Disconnected by an admin",
  user_disconnected: "Disconnected",
  max_duration: "Reached the maximum duration",
  idle_timeout: "Idle timeout",
  access_hours: "Access hours ended",
  user_disabled: "Account disabled",
  workspace_deleted: "Workspace deleted",
};

export function endReasonLabel(reason: SessionEndReason | null): string {
  return reason === null ? "Ended" : END_REASON[reason];
}
