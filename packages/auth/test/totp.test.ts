import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createTotpSecret, generateTotp, totpStep, verifyTotp } from "../src/totp.ts";

/** RFC 6238 appendix B: the SHA-1 secret is the ASCII string "12345678901234567890". */
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/** An independent RFC 4226/6238 implementation, so the module is not checked against itself. */
function referenceCode(secretAscii: string, now: Date): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now.getTime() / 1000 / 30)));
  const digest = createHmac("sha1", Buffer.from(secretAscii)).update(counter).digest();
  const offset = (digest.at(-1) ?? 0) & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, "0");
}

describe("TOTP", () => {
  it("matches the RFC 6238 test vectors", () => {
    for (const [seconds, code] of [
      [59, "287082"],
      [1111111109, "081804"],
      [1234567890, "005924"],
      [2000000000, "279037"],
    ] as const) {
      const at = new Date(seconds * 1000);
      expect(generateTotp(RFC_SECRET, at)).toBe(code);
      expect(referenceCode("12345678901234567890", at)).toBe(code);
      expect(verifyTotp(RFC_SECRET, code, at)).toEqual({ step: Math.floor(seconds / 30), delta: 0 });
    }
  });

  it("enrols with a base32 secret and an otpauth URI an authenticator app understands", () => {
    const { secret, otpauthUri } = createTotpSecret("ada@example.com", "NeoSC");
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe("/NeoSC:ada@example.com");
    expect(uri.searchParams.get("secret")).toBe(secret);
    expect(uri.searchParams.get("issuer")).toBe("NeoSC");
    expect(uri.searchParams.get("digits")).toBe("6");
    expect(uri.searchParams.get("period")).toBe("30");
    expect(createTotpSecret("ada@example.com", "NeoSC").secret).not.toBe(secret);
  });

  it("verifies a generated code within ±1 step and reports the matched step", () => {
    const { secret } = createTotpSecret("ada@example.com", "NeoSC");
    const now = new Date("2030-05-05T12:00:10Z");
    const code = generateTotp(secret, now);
    expect(verifyTotp(secret, code, now)).toEqual({ step: totpStep(now), delta: 0 });
    const later = new Date(now.getTime() + 30_000);
    expect(verifyTotp(secret, code, later)).toEqual({ step: totpStep(now), delta: -1 });
    const earlier = new Date(now.getTime() - 30_000);
    expect(verifyTotp(secret, code, earlier)).toEqual({ step: totpStep(now), delta: 1 });
    expect(verifyTotp(secret, code, new Date(now.getTime() + 90_000))).toBeNull();
  });

  it("rejects wrong, malformed and other-secret codes", () => {
    const { secret } = createTotpSecret("ada@example.com", "NeoSC");
    const other = createTotpSecret("eve@example.com", "NeoSC").secret;
    const now = new Date("2030-05-05T12:00:10Z");
    const code = generateTotp(secret, now);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    expect(verifyTotp(secret, wrong, now)).toBeNull();
    expect(verifyTotp(other, code, now)).toBeNull();
    for (const malformed of ["", "12345", "1234567", "abcdef", " 123456"]) {
      expect(verifyTotp(secret, malformed, now)).toBeNull();
    }
    expect(verifyTotp("not base32!", "123456", now)).toBeNull();
  });
});
