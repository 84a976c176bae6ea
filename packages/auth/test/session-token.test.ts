import { randomUUID } from "node:crypto";
import { DomainError } from "@neosc/core/errors";
import { describe, expect, it } from "vitest";
import {
  assertSessionTokenConfig,
  DEFAULT_SESSION_TTL_SECONDS,
  issueSessionToken,
  verifySessionToken,
} from "../src/session-token.ts";

const config = { secret: "0123456789abcdef0123456789abcdef-test-secret" };

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

function flipLastSignatureChar(token: string): string {
  const last = token.at(-2) === "A" ? "B" : "A";
  return `${token.slice(0, -2)}${last}${token.at(-1)}`;
}

describe("session tokens", () => {
  it("round-trips session id, user id and an 8 h expiry", async () => {
    const sessionId = randomUUID();
    const userId = randomUUID();
    const now = new Date("2030-01-01T10:00:00Z");
    const issued = await issueSessionToken(config, { sessionId, userId, now });
    expect(issued.expiresAt.getTime() - now.getTime()).toBe(DEFAULT_SESSION_TTL_SECONDS * 1000);
    const verified = await verifySessionToken(config, issued.token, {
      now: new Date("2030-01-01T17:59:00Z"),
    });
    expect(verified).toEqual({ sessionId, userId, issuedAt: now, expiresAt: issued.expiresAt });
  });

  it("honours a configured lifetime", async () => {
    const now = new Date("2030-01-01T10:00:00Z");
    const issued = await issueSessionToken(
      { ...config, ttlSeconds: 60 },
      { sessionId: "s", userId: "u", now },
    );
    expect(issued.expiresAt).toEqual(new Date("2030-01-01T10:01:00Z"));
  });

  it("refuses an expired token as session_expired", async () => {
    const now = new Date("2030-01-01T10:00:00Z");
    const { token } = await issueSessionToken(config, { sessionId: "s", userId: "u", now });
    const error = await rejection(
      verifySessionToken(config, token, { now: new Date("2030-01-01T18:00:01Z") }),
    );
    expect(error.code).toBe("UNAUTHORIZED");
    expect(error.reason).toBe("session_expired");
  });

  it("refuses tampered payloads, bad signatures, other secrets and garbage as invalid_token", async () => {
    const { token } = await issueSessionToken(config, { sessionId: "s", userId: "user-1" });
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: "admin-user" })).toString("base64url");
    const candidates = [
      `${header}.${forgedPayload}.${signature}`,
      flipLastSignatureChar(token),
      (
        await issueSessionToken(
          { secret: "another-secret-that-is-32-bytes-long!" },
          { sessionId: "s", userId: "u" },
        )
      ).token,
      `${Buffer.from(JSON.stringify({ alg: "none", typ: "neosc-session+jwt" })).toString("base64url")}.${payload}.`,
      "not.a.jwt",
      "",
    ];
    for (const candidate of candidates) {
      const error = await rejection(verifySessionToken(config, candidate));
      expect(error.code).toBe("UNAUTHORIZED");
      expect(error.reason).toBe("invalid_token");
    }
  });

  it("requires a secret of at least 32 bytes", async () => {
    expect(() => assertSessionTokenConfig({ secret: "too-short" })).toThrow(RangeError);
    await expect(issueSessionToken({ secret: "too-short" }, { sessionId: "s", userId: "u" })).rejects.toThrow(
      RangeError,
    );
    expect(() => assertSessionTokenConfig(config)).not.toThrow();
  });
});
