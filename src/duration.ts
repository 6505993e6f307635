import { BoundedMap } from "./bounded-map.js";
import { UsageError } from "./errors.js";

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Go's longest duration (2^63-1 ns, about 106,751 days), in milliseconds. */
const MAX_MS = 9_223_372_036_854.775;

const DURATION = /^[-+]?(?:0|(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+)$/;
const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/g;

/**
 * Parses a duration by the rules of Go's time.ParseDuration ("168h", "1h30m", "1.5h", "90s",
 * "500ms"; a sign; "0"; at most 2562047h), plus "d" for days, as kubectl's flags take them.
 * Returns milliseconds. Zero and negative durations are refused (`allowZero` takes 0).
 */
export function parseDuration(text: string, flag = "--window", allowZero = false): number {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) {
    throw new UsageError(
      `invalid value "${text}" for ${flag}: expected a duration such as 168h, 90m or 7d`,
    );
  }
  let total = 0;
  for (const m of trimmed.matchAll(PART)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  }
  if (total > MAX_MS) {
    throw new UsageError(
      `invalid value "${text}" for ${flag}: the duration is out of range (at most 2562047h)`,
    );
  }
  const ms = Math.round(total);
  if (trimmed.startsWith("-") && ms !== 0) {
    throw new UsageError(`invalid value "${text}" for ${flag}: the duration must be positive`);
  }
  if (ms === 0 && !allowZero) {
    throw new UsageError(`invalid value "${text}" for ${flag}: the duration must be positive`);
  }
  return ms;
}

/** Formats milliseconds compactly: 168h, 1h30m, 45s, 1500ms. */
export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  let seconds = ms / 1000;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  let out = "";
  if (hours) out += `${hours}h`;
  if (minutes) out += `${minutes}m`;
  if (seconds || out === "") out += `${seconds}s`;
  return out;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Timestamps already parsed: a snapshot repeats the same few (its writes' times) 100,000s of times. */
const parsed = new BoundedMap<string, number>(10_000);

/** The value of the two digits at `at`, or -1. */
function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil), as Date.UTC counts them.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/**
 * The form Kubernetes writes every timestamp in (`2026-11-25T09:00:00Z`: UTC, whole seconds),
 * read without a regular expression or a cache lookup: a snapshot holds millions. Undefined
 * for any other form, or a leap second: parseRfc3339 reads those.
 */
function parseKubernetesTime(text: string): number | undefined {
  if (text.length !== 20 || text.charCodeAt(19) !== 90 /* Z */) return undefined;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84)
    return undefined;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const century = twoDigits(text, 0);
  const yy = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1) return undefined;
  const year = century * 100 + yy;
  if (day > daysIn(year, month) || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return undefined;
  }
  if (second < 0 || second > 59) return undefined;
  return ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000;
}

/**
 * Instants already read, each as the number first made for it. A time held in an object is a
 * heap number of its own unless it is one already made: the 1,500,000 destinations of 50,000
 * workloads hold a few thousand distinct times. A Map holds its values as those numbers, and
 * `get` returns the one it holds; a number is the key, so no text is hashed.
 */
const instants = new BoundedMap<number, number>(10_000);

function sharedInstant(ms: number): number {
  const known = instants.get(ms);
  if (known !== undefined) return known;
  instants.set(ms, ms);
  // The number the Map now holds, not this one (which may be made anew where it is stored).
  return instants.get(ms) ?? ms;
}

/** Parses an RFC 3339 timestamp to epoch milliseconds, or returns undefined. */
export function parseTimestamp(text: string): number | undefined {
  const fast = parseKubernetesTime(text);
  if (fast !== undefined) return sharedInstant(fast);
  const known = parsed.get(text);
  if (known !== undefined) return known;
  const ms = parseRfc3339(text);
  if (ms !== undefined) {
    parsed.set(text, ms);
  }
  return ms;
}

function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const fraction = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  let offset = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[9] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  // Date.UTC reads years 0 to 99 as 1900 to 1999: the year is set on its own.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() + fraction - offset;
}

/** Formats epoch milliseconds as RFC 3339 in UTC, without fractional seconds when whole. */
export function formatTimestamp(ms: number): string {
  // The same few instants (last-seen times, the window's start) are formatted over and over.
  const known = formatted.get(ms);
  if (known !== undefined) return known;
  const iso = new Date(ms).toISOString();
  const text = iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
  formatted.set(ms, text);
  return text;
}

const formatted = new BoundedMap<number, string>(10_000);

/**
 * An age as kubectl's AGE column shows one (its HumanDuration): 45s, 5m30s, 42m, 3h20m, 20h,
 * 3d4h, 21d, 1y30d.
 */
export function humanAge(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (minutes < 180) return `${minutes}m`;
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  if (hours < 48) return `${hours}h`;
  if (hours < 192) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  const years = Math.floor(days / 365);
  if (days < 730) return `${days}d`;
  if (years < 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}
