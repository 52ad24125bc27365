/**
 * Durations in policies: a whole number and a unit, largest unit first, each unit at most once:
 * 90s, 30m, 8h, 1h30m, 7d. (The control plane has its own parser for command-line flags;
 * policies/ does not import from control-plane/, and accepts a stricter format: no ms, no
 * repeated or reordered units.)
 */
import { formatPath } from './decode-context';
import type { Decoder } from './decoder';
import { string } from './decoders';
import { PolicyBadDurationError } from './policy-errors';

export interface PolicyDuration {
  /** As written: `1h30m`. */
  readonly text: string;
  readonly ms: number;
}

export const DURATION_PATTERN = '^(?=\\d)(\\d+d)?(\\d+h)?(\\d+m)?(\\d+s)?$';
const DURATION = /^(?=\d)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const UNIT_MS = [86_400_000, 3_600_000, 60_000, 1000] as const;

/** Milliseconds, or undefined when the text is not a duration (including zero). */
export function parsePolicyDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  let total = 0;
  for (let i = 0; i < UNIT_MS.length; i++) total += Number(m[i + 1] ?? 0) * UNIT_MS[i]!;
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

/** `1h30m` for 5400000: the shortest text that parses back to the same duration. */
export function formatPolicyDuration(ms: number): string {
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || '0s';
}

export interface DurationRange {
  /** The shortest allowed duration, as a duration text: `1m`. */
  readonly min: string;
  /** The longest allowed duration, as a duration text: `24h`. */
  readonly max: string;
  /** Why the maximum exists; appended to the error when it is exceeded. */
  readonly maxReason: string;
}

export function duration(range: DurationRange): Decoder<PolicyDuration> {
  const minMs = parsePolicyDuration(range.min);
  const maxMs = parsePolicyDuration(range.max);
  if (minMs === undefined || maxMs === undefined || minMs > maxMs) throw new Error(`bad duration range ${range.min}..${range.max}`);
  const bounds = `from ${range.min} to ${range.max}`;
  return string<PolicyDuration>({
    expected: `a duration such as 30m, 8h or 1h30m (${bounds})`,
    schema: { type: 'string', pattern: DURATION_PATTERN },
    refused: (text, path) => ({
      ErrorClass: PolicyBadDurationError,
      message: `invalid duration ${JSON.stringify(text)} at ${formatPath(path)}: write whole numbers with units d, h, m, s, largest first, e.g. 30m, 8h, 1h30m, 7d`,
    }),
    // The pattern admits zero and any length; the range is the field's.
    convert(text, fail, path) {
      const ms = parsePolicyDuration(text);
      const where = formatPath(path);
      if (ms === undefined) return fail(PolicyBadDurationError, `duration ${JSON.stringify(text)} at ${where} is zero: it must be ${bounds}`);
      if (ms < minMs) return fail(PolicyBadDurationError, `duration ${text} at ${where} is too short: it must be ${bounds}`);
      if (ms > maxMs) return fail(PolicyBadDurationError, `duration ${text} at ${where} is too long: it must be ${bounds}; ${range.maxReason}`);
      return { text, ms };
    },
  });
}
