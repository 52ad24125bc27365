/** RFC 3339 timestamps with an explicit offset: 2025-03-01T08:00:00Z, 2025-03-01T09:00:00+01:00. */
import { formatPath, type Path } from './decode-context';
import type { Decoder } from './decoder';
import { string, type Problem } from './decoders';
import { PolicyBadTimeError } from './policy-errors';

export interface Instant {
  /** As written. */
  readonly text: string;
  /** Milliseconds since the Unix epoch. */
  readonly epochMs: number;
}

export const RFC3339_PATTERN = '^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$';
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Milliseconds since the epoch, or a reason the text is not an RFC 3339 timestamp. */
export function parseRfc3339(text: string): { readonly epochMs: number } | { readonly problem: string } {
  const m = RFC3339.exec(text);
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return { problem: `has no time: write ${text}T00:00:00Z (or another time and offset)` };
    if (/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) {
      return { problem: 'has no UTC offset: add Z for UTC or an offset such as +01:00, e.g. 2025-03-01T08:00:00Z' };
    }
    return { problem: 'is not an RFC 3339 timestamp: write e.g. 2025-03-01T08:00:00Z or 2025-03-01T09:00:00+01:00' };
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetHours = m[10] === undefined ? 0 : Number(m[10]);
  const offsetMinutes = m[11] === undefined ? 0 : Number(m[11]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) {
    return { problem: 'is not a real date and time (check month, day, hour, minute, second and offset)' };
  }
  const fraction = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  const sign = m[9] === '-' ? -1 : 1;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, fraction);
  return { epochMs: local - sign * (offsetHours * 60 + offsetMinutes) * 60_000 };
}

function problem(text: string, path: Path, parsed: ReturnType<typeof parseRfc3339>): Problem | undefined {
  if (!('problem' in parsed)) return undefined;
  return { ErrorClass: PolicyBadTimeError, message: `invalid timestamp ${JSON.stringify(text)} at ${formatPath(path)}: it ${parsed.problem}` };
}

export const instant: Decoder<Instant> = string<Instant>({
  expected: 'an RFC 3339 timestamp such as 2025-03-01T08:00:00Z',
  schema: { type: 'string', pattern: RFC3339_PATTERN },
  refused: (text, path) => problem(text, path, parseRfc3339(text)),
  // The pattern admits February 30th: the calendar is checked here.
  convert(text, fail, path) {
    const parsed = parseRfc3339(text);
    if ('problem' in parsed) return fail(PolicyBadTimeError, problem(text, path, parsed)!.message);
    return { text, epochMs: parsed.epochMs };
  },
});
