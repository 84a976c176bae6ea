import { CLOSE_CODES } from "@neosc/core/connection";
import { SessionEndReasonSchema } from "@neosc/core/session";
import { describe, expect, it } from "vitest";
import { endReasonLabel } from "../src/features/sessions/end-reason.ts";
import { closeOutcome } from "../src/features/viewer/close-reason.ts";
import { gatewaySocketUrl } from "../src/features/viewer/connection-loop.ts";
import { sessionWarning } from "../src/features/viewer/warnings.ts";

const policies = { idleMinutes: 15, maxDurationMinutes: 480 };

describe("closeOutcome", () => {
  it("says why the session ended, in words, from the gateway's 4000 reason", () => {
    expect(closeOutcome(CLOSE_CODES.sessionEnded, "admin_disconnected", policies)).toMatchObject({
      kind: "ended",
      reason: "admin_disconnected",
      title: "Ended by an administrator",
    });
    expect(closeOutcome(CLOSE_CODES.sessionEnded, "idle_timeout", policies)).toMatchObject({
      title: "Idle for 15 minutes",
    });
    expect(closeOutcome(CLOSE_CODES.sessionEnded, "max_duration", policies)).toMatchObject({
      title: "Time limit reached",
      detail: expect.stringContaining("8 hours"),
    });
    // An end reason this portal does not know yet is still an end, not a reconnect.
    expect(closeOutcome(CLOSE_CODES.sessionEnded, "something_new", policies)).toMatchObject({
      kind: "ended",
      reason: null,
      title: "Ended",
    });
  });

  it("reconnects after drops and refused tickets, stops on refusals and protocol errors", () => {
    expect(closeOutcome(1006, "", policies).kind).toBe("retry");
    expect(closeOutcome(1001, "", policies).kind).toBe("retry");
    expect(closeOutcome(CLOSE_CODES.ticketInvalid, "replayed", policies).kind).toBe("retry");
    expect(closeOutcome(CLOSE_CODES.workspaceUnavailable, "", policies).kind).toBe("retry");
    expect(closeOutcome(CLOSE_CODES.workspaceUnavailable, "host_key_mismatch", policies)).toMatchObject({
      kind: "refused",
      title: "The host is not the one NeoSC knows",
    });
    expect(closeOutcome(CLOSE_CODES.workspaceUnavailable, "workspace_auth_failed", policies).kind).toBe(
      "refused",
    );
    for (const code of [
      CLOSE_CODES.refused,
      CLOSE_CODES.protocolViolation,
      CLOSE_CODES.tooLarge,
      CLOSE_CODES.tooManyConnections,
    ]) {
      expect(closeOutcome(code, "", policies).kind).toBe("refused");
    }
  });
});

describe("endReasonLabel", () => {
  it("names every reason in the history's words", () => {
    expect(endReasonLabel("user_disconnected")).toBe("Ended by you");
    expect(endReasonLabel("idle_timeout", { idleMinutes: 60 })).toBe("Idle for 1 hour");
    expect(endReasonLabel("idle_timeout", { idleMinutes: 1 })).toBe("Idle for 1 minute");
    expect(endReasonLabel("idle_timeout")).toBe("Idle too long");
    expect(endReasonLabel(null)).toBe("Ended");
  });

  it("does not tell an admin reading someone's history that they ended it", () => {
    expect(endReasonLabel("user_stopped", {}, false)).toBe("Ended by its owner");
    expect(endReasonLabel("user_disconnected", {}, false)).toBe("Ended by its owner");
    expect(endReasonLabel("admin_disconnected", {}, false)).toBe("Ended by an administrator");
    expect(endReasonLabel("user_stopped", {}, true)).toBe("Ended by you");
  });

  it("has words for every way a session ends, in the viewer and the history", () => {
    for (const reason of SessionEndReasonSchema.options) {
      const outcome = closeOutcome(CLOSE_CODES.sessionEnded, reason, policies);
      expect(outcome.kind, reason).toBe("ended");
      if (outcome.kind !== "ended") continue;
      expect(outcome.title, reason).not.toBe("Ended");
      expect(outcome.detail, reason).not.toBe("The session has ended.");
      expect(outcome.detail, reason).not.toMatch(/someone else|not one of your/);
    }
  });
});

describe("sessionWarning", () => {
  const now = new Date("2026-03-02T10:00:00Z");
  const inSeconds = (seconds: number) => new Date(now.getTime() + seconds * 1000);

  it("warns in the last minute before either deadline, the nearer one first", () => {
    expect(sessionWarning({ endsAt: inSeconds(61), idleEndsAt: inSeconds(600) }, now)).toBeNull();
    expect(sessionWarning({ endsAt: inSeconds(60), idleEndsAt: null }, now)).toEqual({
      kind: "time-limit",
      secondsLeft: 60,
    });
    expect(sessionWarning({ endsAt: inSeconds(50), idleEndsAt: inSeconds(20.2) }, now)).toEqual({
      kind: "idle",
      secondsLeft: 21,
    });
    expect(sessionWarning({ endsAt: null, idleEndsAt: inSeconds(-3) }, now)).toEqual({
      kind: "idle",
      secondsLeft: 0,
    });
    expect(sessionWarning({ endsAt: null, idleEndsAt: null }, now)).toBeNull();
  });
});

describe("gatewaySocketUrl", () => {
  it("turns the relative gateway path into a ws(s) URL on the API's origin", () => {
    expect(gatewaySocketUrl("/gateway/connect", "http://127.0.0.1:8080")).toBe(
      "ws://127.0.0.1:8080/gateway/connect",
    );
    expect(gatewaySocketUrl("/gateway/connect", "https://api.example.com/")).toBe(
      "wss://api.example.com/gateway/connect",
    );
    expect(gatewaySocketUrl("wss://workspace.example.com/gateway/connect", "https://api.example.com")).toBe(
      "wss://workspace.example.com/gateway/connect",
    );
  });
});
