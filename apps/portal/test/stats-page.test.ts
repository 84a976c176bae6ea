import type { StatsOverview } from "@neosc/core/stats";
import { describe, expect, it } from "vitest";
import { concurrencyPoints, denialLabel, formatMinutes } from "../src/areas/admin/stats-page.tsx";

const span = {
  durations: [],
  medianDurationMinutes: null,
  launchesByWorkspace: [],
  denialsByReason: [],
};

describe("the stats page's series", () => {
  it("charts the peak of sessions at once per hour or per day, as the range says", () => {
    const hours = Array.from({ length: 24 }, (_, index) => ({
      start: new Date(Date.UTC(2026, 11, 1, index)),
      peak: index === 10 ? 3 : 0,
    }));
    const days = Array.from({ length: 30 }, (_, index) => ({
      start: new Date(Date.UTC(2026, 10, index + 1)),
      peak: index,
    }));
    const stats = {
      day: { ...span, concurrency: hours },
      month: { ...span, concurrency: days },
    } as unknown as StatsOverview;
    const day = concurrencyPoints(stats, "24h");
    expect(day).toHaveLength(24);
    expect(day[10]?.value).toBe(3);
    expect(day.filter((point) => point.label !== "")).toHaveLength(6);
    const month = concurrencyPoints(stats, "30d");
    expect(month.map((point) => point.value)).toEqual(days.map((bucket) => bucket.peak));
  });

  it("names refusals in words, and an unknown reason by its code", () => {
    expect(denialLabel("mfa_required")).toBe("Second factor required");
    expect(denialLabel("outside_access_hours")).toBe("Outside access hours");
    expect(denialLabel("some_new_reason")).toBe("some new reason");
  });

  it("says a median session length people read", () => {
    expect(formatMinutes(0.2)).toBe("a minute");
    expect(formatMinutes(42.5)).toBe("43 min");
    expect(formatMinutes(150)).toBe("2.5 h");
  });
});
