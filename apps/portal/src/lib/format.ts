/** "2 h 05 min", "12 min", "under a minute". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "0 min";
  const totalMinutes = Math.floor(ms / 60_000);
  if (totalMinutes < 1) return "under a minute";
  const days = Math.floor(totalMinutes / 1440);
  const hours = Math.floor((totalMinutes % 1440) / 60);
  const minutes = totalMinutes % 60;
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${String(minutes).padStart(2, "0")} min`;
  return `${minutes} min`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const hourOnly = new Intl.DateTimeFormat(undefined, { hour: "numeric" });
const dayOnly = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const precise = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** The browser's time zone as people read it ("Europe/Berlin", "UTC"), shown beside local times. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
}

export function formatDateTime(date: Date): string {
  return dateTime.format(date);
}

export function formatPreciseTime(date: Date): string {
  return precise.format(date);
}

export function formatTime(date: Date): string {
  return timeOnly.format(date);
}

export function formatHour(date: Date): string {
  return hourOnly.format(date);
}

export function formatDay(date: Date): string {
  return dayOnly.format(date);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "3 minutes ago", "in 2 hours". */
export function formatRelative(date: Date, now: Date = new Date()): string {
  const diffSeconds = Math.round((date.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(diffSeconds);
  if (abs < 45) return "just now";
  if (abs < 3600) return relative.format(Math.round(diffSeconds / 60), "minute");
  if (abs < 86_400) return relative.format(Math.round(diffSeconds / 3600), "hour");
  return relative.format(Math.round(diffSeconds / 86_400), "day");
}

export function formatCount(value: number): string {
  return new Intl.NumberFormat().format(value);
}
