/**
 * Milliseconds as people write durations (90 minutes → "1h30m"), for messages. Hours are the
 * largest unit: lifetimes and grants are thought of in hours ("at most 24h").
 */
export function formatDuration(ms: number): string {
  const units: [string, number][] = [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  let rest = ms;
  let out = '';
  for (const [unit, size] of units) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out || `${ms}ms`;
}
