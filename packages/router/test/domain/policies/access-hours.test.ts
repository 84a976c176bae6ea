import { isWithinAccessHours, localTime } from "@neosc/core/access-hours";
import { describe, expect, it } from "vitest";

const berlinOffice = { timeZone: "Europe/Berlin", days: [1, 2, 3, 4, 5], start: "08:00", end: "18:00" };

describe("localTime", () => {
  it("reads weekday and minutes in the given zone", () => {
    // 2025-01-06 is a Monday; 23:30 UTC is already Tuesday 08:30 in Tokyo.
    expect(localTime(new Date("2025-01-06T23:30:00Z"), "Asia/Tokyo")).toEqual({ weekday: 2, minutes: 510 });
    expect(localTime(new Date("2025-01-06T23:30:00Z"), "UTC")).toEqual({ weekday: 1, minutes: 1410 });
  });
});

describe("isWithinAccessHours", () => {
  it("uses the zone's offset, including daylight saving time", () => {
    // Winter: Berlin is UTC+1, so 07:30 UTC is 08:30 local.
    expect(isWithinAccessHours(new Date("2025-01-06T07:30:00Z"), berlinOffice)).toBe(true);
    expect(isWithinAccessHours(new Date("2025-01-06T06:30:00Z"), berlinOffice)).toBe(false);
    // Summer: UTC+2, so 06:30 UTC is 08:30 local.
    expect(isWithinAccessHours(new Date("2025-07-07T06:30:00Z"), berlinOffice)).toBe(true);
    expect(isWithinAccessHours(new Date("2025-07-07T16:30:00Z"), berlinOffice)).toBe(false);
  });

  it("includes the start minute and excludes the end minute", () => {
    expect(isWithinAccessHours(new Date("2025-01-06T07:00:00Z"), berlinOffice)).toBe(true);
    expect(isWithinAccessHours(new Date("2025-01-06T16:59:59Z"), berlinOffice)).toBe(true);
    expect(isWithinAccessHours(new Date("2025-01-06T17:00:00Z"), berlinOffice)).toBe(false);
  });

  it("refuses days that are not listed, judged by the local date", () => {
    // Saturday 10:00 in Berlin.
    expect(isWithinAccessHours(new Date("2025-01-11T09:00:00Z"), berlinOffice)).toBe(false);
    // Friday 23:30 UTC is Saturday 08:30 in Tokyo.
    const tokyo = { ...berlinOffice, timeZone: "Asia/Tokyo" };
    expect(isWithinAccessHours(new Date("2025-01-10T23:30:00Z"), tokyo)).toBe(false);
    expect(isWithinAccessHours(new Date("2025-01-09T23:30:00Z"), tokyo)).toBe(true);
  });
});
