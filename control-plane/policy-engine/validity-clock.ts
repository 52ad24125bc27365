/**
 * When a document is in force (policies/README.md, "How documents combine" rule 7): between
 * `notBefore` (inclusive) and `notAfter` (exclusive) and, if windows are given, only while one
 * of them is open, windows being wall-clock times in an IANA time zone.
 *
 * Besides "in force now?", every answer says until when it stands (`until`), because decisions
 * carry a validUntil that caches rely on: answering too late would let a cached allow outlive
 * the window that granted it, so every shortcut here errs towards an earlier time.
 */
import type { TimeWindow, Validity, Weekday } from '../../policies/src';

/** "Never changes": also the validUntil of decisions that depend on nothing time-bound. */
export const FOREVER = Number.MAX_SAFE_INTEGER;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The wall clock of a zone at one instant. */
export interface WallClock {
  /** 0 = Monday ... 6 = Sunday. */
  readonly weekday: number;
  /** Milliseconds since local midnight. */
  readonly msOfDay: number;
  /** Local time minus UTC, in milliseconds. */
  readonly offsetMs: number;
}

/**
 * Reads the wall clock of one IANA zone with Intl.DateTimeFormat, which carries the tz database
 * (DST rules included). A formatter is expensive to build and cheap to use, so there is one per
 * zone for the life of the process.
 */
export class ZoneClock {
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      // h23, not hour12: false, which some ICU versions render as "24" at midnight.
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  wallClock(epochMs: number): WallClock {
    let year = 0;
    let month = 0;
    let day = 0;
    let hour = 0;
    let minute = 0;
    let second = 0;
    for (const part of this.format.formatToParts(epochMs)) {
      switch (part.type) {
        case 'year':
          year = Number(part.value);
          break;
        case 'month':
          month = Number(part.value);
          break;
        case 'day':
          day = Number(part.value);
          break;
        case 'hour':
          hour = Number(part.value);
          break;
        case 'minute':
          minute = Number(part.value);
          break;
        case 'second':
          second = Number(part.value);
          break;
        default:
          break;
      }
    }
    // The formatter drops milliseconds; zone offsets are whole seconds, so they carry over.
    const millis = ((epochMs % 1000) + 1000) % 1000;
    const localAsUtc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
    const dayNumber = Math.floor(localAsUtc / DAY_MS);
    return {
      // 1970-01-01 was a Thursday (3 when Monday is 0).
      weekday: (((dayNumber + 3) % 7) + 7) % 7,
      msOfDay: localAsUtc - dayNumber * DAY_MS,
      offsetMs: localAsUtc - epochMs,
    };
  }

  /**
   * The first instant in (from, to] at which the zone's offset differs from its offset at
   * `from` (a DST change), or undefined when the offset at `to` is the same. Assumes at most one
   * change in the interval, which holds for intervals of a day or less.
   */
  offsetChangeBetween(from: number, to: number): number | undefined {
    const offset = this.wallClock(from).offsetMs;
    if (this.wallClock(to).offsetMs === offset) return undefined;
    let lo = from;
    let hi = to;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.wallClock(mid).offsetMs === offset) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}

const zoneClocks = new Map<string, ZoneClock>();

/** One ZoneClock per zone, shared by every engine in the process (they hold no state but ICU's). */
export function zoneClock(timeZone: string): ZoneClock {
  let clock = zoneClocks.get(timeZone);
  if (!clock) {
    clock = new ZoneClock(timeZone);
    zoneClocks.set(timeZone, clock);
  }
  return clock;
}

const WEEKDAY_INDEX: Readonly<Record<Weekday, number>> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** A window with its days as a bit mask and its times in milliseconds of the local day. */
interface CompiledWindow {
  readonly dayMask: number;
  readonly startMs: number;
  /** 86_400_000 for 24:00. */
  readonly endMs: number;
  /** `end` earlier than `start`: the window runs into the next day. */
  readonly overnight: boolean;
}

function compileWindow(window: TimeWindow): CompiledWindow {
  let dayMask = 0;
  for (const day of window.days) dayMask |= 1 << WEEKDAY_INDEX[day];
  const startMs = window.start.minutes * MINUTE_MS;
  const endMs = window.end.minutes * MINUTE_MS;
  return { dayMask, startMs, endMs, overnight: endMs < startMs };
}

function isOpen(window: CompiledWindow, clock: WallClock): boolean {
  const today = (window.dayMask >> clock.weekday) & 1;
  if (!window.overnight) return today === 1 && clock.msOfDay >= window.startMs && clock.msOfDay < window.endMs;
  // Opened today and not yet midnight, or opened yesterday and not yet at end.
  if (today === 1 && clock.msOfDay >= window.startMs) return true;
  const yesterday = (window.dayMask >> ((clock.weekday + 6) % 7)) & 1;
  return yesterday === 1 && clock.msOfDay < window.endMs;
}

/** The windows of one validity that share a time zone: one clock reading serves them all. */
interface ZoneWindows {
  readonly clock: ZoneClock;
  readonly windows: readonly CompiledWindow[];
  /**
   * Local times (ms of day, ascending, starting with 0 = midnight, when the weekday changes) at
   * which some window of this zone may open or close.
   */
  readonly boundaries: readonly number[];
}

export interface ValidityState {
  readonly inForce: boolean;
  /** Epoch ms: the earliest time `inForce` may change (FOREVER when it never will). */
  readonly until: number;
}

/**
 * A document's validity, compiled: bounds as numbers, windows grouped by zone with their
 * boundaries precomputed. `state(now)` remembers its last answer for as long as it stands, so
 * the formatter runs about once per window boundary rather than once per request.
 */
export class ValiditySchedule {
  private readonly notBefore: number;
  private readonly notAfter: number;
  private readonly zones: readonly ZoneWindows[];
  private memo: { readonly from: number; readonly state: ValidityState } | undefined;

  constructor(validity: Validity) {
    this.notBefore = validity.notBefore?.epochMs ?? -Infinity;
    this.notAfter = validity.notAfter?.epochMs ?? FOREVER;
    const byZone = new Map<string, CompiledWindow[]>();
    for (const window of validity.windows ?? []) {
      const list = byZone.get(window.timeZone) ?? [];
      list.push(compileWindow(window));
      byZone.set(window.timeZone, list);
    }
    this.zones = [...byZone].map(([timeZone, windows]) => {
      const boundaries = new Set<number>([0]);
      for (const w of windows) {
        boundaries.add(w.startMs);
        boundaries.add(w.endMs % DAY_MS);
      }
      return { clock: zoneClock(timeZone), windows, boundaries: [...boundaries].sort((a, b) => a - b) };
    });
  }

  state(now: number): ValidityState {
    const memo = this.memo;
    if (memo && memo.from <= now && now < memo.state.until) return memo.state;
    const state = this.compute(now);
    this.memo = { from: now, state };
    return state;
  }

  private compute(now: number): ValidityState {
    if (now < this.notBefore) return { inForce: false, until: this.notBefore };
    if (now >= this.notAfter) return { inForce: false, until: FOREVER };
    if (this.zones.length === 0) return { inForce: true, until: this.notAfter };
    let open = false;
    let until = this.notAfter;
    for (const zone of this.zones) {
      const clock = zone.clock.wallClock(now);
      if (!open) open = zone.windows.some((w) => isOpen(w, clock));
      until = Math.min(until, nextBoundary(zone, now, clock));
    }
    return { inForce: open, until };
  }
}

/**
 * The next instant at which a window of the zone may open or close: the next boundary on the
 * local clock or, if the zone's offset changes before that (DST), the instant of the change,
 * since the local clock jumps then and may skip a boundary (spring forward) or repeat one (fall
 * back). Between now and the returned instant the local clock runs evenly and crosses no
 * boundary, so nothing about the windows can change.
 */
function nextBoundary(zone: ZoneWindows, now: number, clock: WallClock): number {
  let nextMsOfDay = DAY_MS; // the next midnight, at the latest
  for (const b of zone.boundaries) {
    if (b > clock.msOfDay) {
      nextMsOfDay = b;
      break;
    }
  }
  const naive = now + (nextMsOfDay - clock.msOfDay);
  return zone.clock.offsetChangeBetween(now, naive) ?? naive;
}
