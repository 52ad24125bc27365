/**
 * Times as people give them to `kubegate audit --since/--until` and the audit API's
 * since/until: an RFC 3339 time (2026-01-31T09:00:00Z, with an offset or fractional seconds),
 * or a duration back from now (15m, 2h, 7d, 1h30m).
 */
import { DurationError, parseDurationMs } from '../config/duration';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export class AuditTimeError extends Error {
  readonly code = 'ERR_AUDIT_TIME';
  constructor(input: string) {
    super(`"${input}" is not a time: use an RFC 3339 time (e.g. 2026-01-31T09:00:00Z) or a duration back from now (e.g. 15m, 2h, 7d)`);
    this.name = 'AuditTimeError';
  }
}

/** Epoch ms of `input`, relative durations counted back from `now`. */
export function parseAuditTime(input: string, now: number): number {
  const text = input.trim();
  const m = RFC3339.exec(text);
  if (m) {
    const ms = Date.parse(text.replace(' ', 'T'));
    // Date.parse rolls impossible dates over (Feb 30 → Mar 2); a time that does not read back
    // with the same calendar date and clock time was not a real time.
    const [, year, month, day, hour, minute, second] = m;
    if (!Number.isFinite(ms) || Number(month) < 1 || Number(month) > 12 || Number(day) > daysIn(Number(year), Number(month)) || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
      throw new AuditTimeError(input);
    }
    return ms;
  }
  try {
    return now - parseDurationMs(text);
  } catch (err) {
    if (err instanceof DurationError) throw new AuditTimeError(input);
    throw err;
  }
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
