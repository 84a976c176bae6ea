import { describe, expect, it } from "vitest";
import { timeLeft } from "../src/features/sessions/time-left.ts";
import { formatDuration } from "../src/lib/format.ts";
import { safeNextPath } from "../src/lib/next-path.ts";

const now = new Date("2026-03-02T10:00:00Z");
const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);

describe("timeLeft", () => {
  it("reports both policies' deadlines", () => {
    expect(timeLeft({ endsAt: at(432), idleEndsAt: at(29) }, now)).toEqual({
      maxDuration: "7 h 12 min left",
      idle: "idle timeout in 29 min",
      soon: false,
    });
  });

  it("flags deadlines under ten minutes and policies that are off", () => {
    expect(timeLeft({ endsAt: null, idleEndsAt: at(4) }, now)).toEqual({
      maxDuration: null,
      idle: "idle timeout in 4 min",
      soon: true,
    });
    expect(timeLeft({ endsAt: at(-1), idleEndsAt: null }, now).maxDuration).toBe("ending now");
  });
});

describe("formatDuration", () => {
  it("reads naturally", () => {
    expect(formatDuration(30_000)).toBe("under a minute");
    expect(formatDuration(65 * 60_000)).toBe("1 h 05 min");
    expect(formatDuration(26 * 3_600_000)).toBe("1 d 2 h");
  });
});

describe("safeNextPath", () => {
  it("only allows same-site paths", () => {
    expect(safeNextPath("/admin/audit?x=1")).toBe("/admin/audit?x=1");
    expect(safeNextPath("//evil.example")).toBe("/");
    expect(safeNextPath("https://evil.example")).toBe("/");
    expect(safeNextPath("/sign-in")).toBe("/");
    expect(safeNextPath(null)).toBe("/");
  });
});
