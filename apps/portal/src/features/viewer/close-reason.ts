import { CLOSE_CODES } from "@neosc/core/connection";
import { type SessionEndReason, SessionEndReasonSchema } from "@neosc/core/session";
import { endReasonDetail, endReasonLabel } from "../sessions/end-reason.ts";

/** What the policies said when the session ended, to put numbers into the words. */
export interface EndContext {
  idleMinutes: number | null;
  maxDurationMinutes: number | null;
}

/** What the viewer does after its connection closed, and what it tells the person. */
export type CloseOutcome =
  /** The session is over: show why, offer the way back. */
  | { kind: "ended"; reason: SessionEndReason | null; title: string; detail: string }
  /** The connection is refused for good (not a network hiccup): show why, no retry. */
  | { kind: "refused"; title: string; detail: string }
  /** A drop (network, gateway restart, expired ticket): reconnect with a fresh ticket if the session is still active. */
  | { kind: "retry"; why: string };

export function endedOutcome(reason: SessionEndReason | null, context: EndContext): CloseOutcome {
  return {
    kind: "ended",
    reason,
    title: endReasonLabel(reason, context),
    detail: endReasonDetail(reason, context),
  };
}

/**
 * Maps a WebSocket close (code + reason text, COORD.md / `@neosc/core/connection`) to words. The
 * gateway's reason text for 4000 is the SessionEndReason; an unknown one still reads as an end.
 */
export function closeOutcome(code: number, reason: string, context: EndContext): CloseOutcome {
  switch (code) {
    case CLOSE_CODES.sessionEnded: {
      const parsed = SessionEndReasonSchema.safeParse(reason);
      return endedOutcome(parsed.success ? parsed.data : null, context);
    }
    case CLOSE_CODES.ticketInvalid:
      return { kind: "retry", why: "The connection ticket was not accepted" };
    case CLOSE_CODES.workspaceUnavailable:
      // The workspace refused the gateway: retrying would meet the same refusal.
      if (reason === "host_key_mismatch") {
        return {
          kind: "refused",
          title: "The host is not the one NeoSC knows",
          detail:
            "The ssh host presented a different host key than the one pinned in the catalogue, so NeoSC did not log in. Tell an administrator.",
        };
      }
      if (reason === "workspace_auth_failed") {
        return {
          kind: "refused",
          title: "The host refused the login",
          detail: "The ssh host did not accept the credential NeoSC holds for it. Tell an administrator.",
        };
      }
      return { kind: "retry", why: "The workspace is not reachable yet" };
    case CLOSE_CODES.refused:
      return {
        kind: "refused",
        title: "Connection refused",
        detail:
          "The gateway did not accept this page or your identity for this session. Open it again from the portal's own address.",
      };
    case CLOSE_CODES.protocolViolation:
      return {
        kind: "refused",
        title: "Connection closed by the gateway",
        detail: "The viewer sent something the gateway does not allow. Reload the page to connect again.",
      };
    case CLOSE_CODES.tooLarge:
      return {
        kind: "refused",
        title: "Connection closed by the gateway",
        detail:
          "The viewer sent a message larger than the gateway accepts. Reload the page to connect again.",
      };
    case CLOSE_CODES.tooManyConnections:
      return {
        kind: "refused",
        title: "Open in too many windows",
        detail:
          "This session already has as many viewers as it may. Close it in another tab or window, then reconnect.",
      };
    default:
      return { kind: "retry", why: "The connection dropped" };
  }
}
