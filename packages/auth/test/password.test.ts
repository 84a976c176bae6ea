import { PasswordSchema } from "@neosc/core/user";
import { describe, expect, it } from "vitest";
import {
  dummyPasswordHash,
  generateOneTimePassword,
  hashPassword,
  isArgon2idHash,
  needsRehash,
  verifyPassword,
  verifyPasswordOrDummy,
} from "../src/password.ts";

describe("password hashing", () => {
  it("hashes with argon2id and verifies only the right password", async () => {
    const encoded = await hashPassword("correct horse battery staple");
    expect(isArgon2idHash(encoded)).toBe(true);
    expect(encoded).toContain("m=19456,t=2,p=1");
    expect(needsRehash(encoded)).toBe(false);
    expect(await verifyPassword(encoded, "correct horse battery staple")).toBe(true);
    expect(await verifyPassword(encoded, "correct horse battery stapler")).toBe(false);
    expect(await verifyPassword(encoded, "")).toBe(false);
  });

  it("salts: the same password hashes differently", async () => {
    const [first, second] = await Promise.all([
      hashPassword("same password!"),
      hashPassword("same password!"),
    ]);
    expect(first).not.toBe(second);
  });

  it("answers false for an unreadable stored hash instead of throwing", async () => {
    expect(await verifyPassword("not-a-hash", "whatever")).toBe(false);
    expect(needsRehash("$2b$10$abcdefghijklmnopqrstuv")).toBe(true);
  });

  it("refuses absurdly long passwords before hashing", async () => {
    const long = "x".repeat(2000);
    await expect(hashPassword(long)).rejects.toThrow(RangeError);
    const encoded = await hashPassword("short enough");
    expect(await verifyPassword(encoded, long)).toBe(false);
  });

  it("verifies unknown accounts against a dummy hash of the same cost, and always says no", async () => {
    const dummy = await dummyPasswordHash();
    expect(isArgon2idHash(dummy)).toBe(true);
    expect(needsRehash(dummy)).toBe(false);
    expect(await verifyPasswordOrDummy(null, "anything at all")).toBe(false);
    const encoded = await hashPassword("a real password");
    expect(await verifyPasswordOrDummy(encoded, "a real password")).toBe(true);
    expect(await verifyPasswordOrDummy(encoded, "a wrong password")).toBe(false);
  });
});

describe("one-time passwords", () => {
  it("are random, unambiguous and satisfy the password schema", () => {
    const seen = new Set<string>();
    for (let index = 0; index < 50; index++) {
      const password = generateOneTimePassword();
      expect(password).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{5}(-[a-km-zA-HJ-NP-Z2-9]{5}){3}$/);
      expect(PasswordSchema.safeParse(password).success).toBe(true);
      seen.add(password);
    }
    expect(seen.size).toBe(50);
  });
});
