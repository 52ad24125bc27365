/** Durations as people write them on the command line: 90s, 15m, 8h, 1h30m, 2d. */
export class DurationError extends Error {
  readonly code = 'ERR_DURATION';
  constructor(input: string) {
    super(`"${input}" is not a duration: use a number with a unit, e.g. 30s, 15m, 8h, 1h30m or 2d`);
    this.name = 'DurationError';
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDurationMs(input: string): number {
  const text = input.trim();
  if (!/^(\d+(ms|s|m|h|d))+$/.test(text)) throw new DurationError(input);
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(n) * UNIT_MS[unit!]!;
  if (total <= 0) throw new DurationError(input);
  return total;
}
