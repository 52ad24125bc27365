/**
 * "Did you mean ...?" for typos: the closest candidate by edit distance (an adjacent swap counts
 * as one edit, so "lsit" is one edit from "list"), or one that differs only in case.
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  const sameLetters = candidates.find((c) => c.toLowerCase() === lower);
  if (sameLetters !== undefined) return sameLetters === input ? undefined : sameLetters;
  // "Monday" for "Mon", "getx" for "get": the input starts with a candidate of 3+ letters.
  const prefix = candidates.filter((c) => c.length >= 3 && lower.startsWith(c.toLowerCase())).sort((a, b) => b.length - a.length)[0];
  if (prefix !== undefined) return prefix;
  // "console" for "console-only": one candidate starts with the input.
  const extensions = lower.length >= 4 ? candidates.filter((c) => c.toLowerCase().startsWith(lower)) : [];
  if (extensions.length === 1) return extensions[0];
  const budget = Math.max(1, Math.min(3, Math.floor(input.length / 3)));
  let best: string | undefined;
  let bestDistance = budget + 1;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ` did you mean "x"?` or the empty string: appended to a message. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const match = closestMatch(input, candidates);
  return match === undefined ? '' : `; did you mean ${JSON.stringify(match)}?`;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** `; did you mean "x"? allowed: a, b, c` (or without the suggestion): appended to a message. */
export function suggestAmong(input: string, candidates: readonly string[], label = 'allowed'): string {
  const dym = didYouMean(input, candidates);
  return `${dym || ';'} ${label}: ${candidates.join(', ')}`;
}
