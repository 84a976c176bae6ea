import type { PolicySettings } from "./policy.ts";

export type AccessHours = PolicySettings<"access-hours">;

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export interface LocalTime {
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** Minutes since local midnight. */
  minutes: number;
}

/** The wall-clock weekday and time of `at` in `timeZone`. */
export function localTime(at: Date, timeZone: string): LocalTime {
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatterFor(timeZone).formatToParts(at)) {
    if (part.type === "weekday") weekday = WEEKDAYS[part.value] ?? 0;
    else if (part.type === "hour") hour = Number(part.value);
    else if (part.type === "minute") minute = Number(part.value);
  }
  return { weekday, minutes: hour * 60 + minute };
}

function toMinutes(hhmm: string): number {
  const [hours = "0", minutes = "0"] = hhmm.split(":");
  return Number(hours) * 60 + Number(minutes);
}

/** True when `at` falls on an allowed day, at or after `start` and before `end`, local time. */
export function isWithinAccessHours(at: Date, hours: AccessHours): boolean {
  const local = localTime(at, hours.timeZone);
  if (!hours.days.includes(local.weekday)) return false;
  return local.minutes >= toMinutes(hours.start) && local.minutes < toMinutes(hours.end);
}

/**
 * When the window `at` lies in closes (the caller knows it is inside), so the gateway can close a
 * connection at that moment instead of at the sweeper's next round.
 */
export function accessHoursCloseAt(at: Date, hours: AccessHours): Date {
  const minutesLeft = toMinutes(hours.end) - localTime(at, hours.timeZone).minutes;
  // Zone offsets are whole minutes, so the seconds into the current minute are the same everywhere.
  return new Date(at.getTime() + minutesLeft * 60_000 - (at.getTime() % 60_000));
}
