/**
 * Output a construct repeats once per replica (a Service per edge replica, an address per
 * replica in a config), found without a sentinel: the ordinal is 0, 1, 2, ... and a value
 * built from it is `base + i`, neither of which can be told from other numbers on sight. So a
 * run is recognised by its shape instead: in a list, `count` consecutive units (of one or more
 * items) where unit 1 differs from unit 0 only by numbers grown by one, and every unit j is
 * unit 0 with j added to exactly those numbers. Numbers are JSON numbers and number tokens in
 * strings, delimited as string-templates.ts reads them (not inside a word, an IP address or a
 * version), so that a token found here is one a template can replace.
 */
import { ChartShapeUnsupportedError } from './chart-errors';
import type { Fragment } from './prop-plans';
import { isPlainObject, jsonEqual } from './template-tree';

/** A number token of a string, as stringExpr recognises one. */
const TOKEN = /(?<![\w.])\d+(?!\d|\.\d)/g;

/**
 * In a unit's template (virtual) JSON, a number that grows with the ordinal stands as
 * ORDINAL_MARK + its value in unit 0: distinct from anything a construct writes, and still
 * telling the value (two units whose numbers grow from different bases differ).
 */
const ORDINAL_MARK = 7_000_000_000_000;
const isMark = (n: number) => Number.isInteger(n) && n >= ORDINAL_MARK && n < ORDINAL_MARK + 1e9;

/** Consecutive units of a list repeated once per ordinal. */
export interface Run {
  readonly start: number;
  /** Items per unit. */
  readonly unitLength: number;
  readonly count: number;
}

/**
 * `a` with each number that is one more in `b` replaced by grow(number); undefined if `a` and
 * `b` differ otherwise (shape, keys, other values, a number that grew by something else).
 */
export function withOrdinal(a: unknown, b: unknown, grow: (n: number) => number): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? a : Number.isInteger(a) && b === a + 1 ? grow(a) : undefined;
  if (typeof a === 'string' && typeof b === 'string') return grownText(a, b, grow);
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return undefined;
    const out = a.map((x, i) => withOrdinal(x, b[i], grow));
    return out.some((x) => x === undefined) ? undefined : out;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length || !keys.every((k) => k in b)) return undefined;
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = withOrdinal(a[k], b[k], grow);
      if (v === undefined) return undefined;
      out[k] = v;
    }
    return out;
  }
  return a === b ? a : undefined;
}

function grownText(a: string, b: string, grow: (n: number) => number): string | undefined {
  if (a === b) return a;
  // Most texts that differ do so first outside a number: no need to take them apart.
  let d = 0;
  while (a[d] === b[d]) d++;
  if (!/\d/.test(a[d] ?? '') || !/\d/.test(b[d] ?? '')) return undefined;
  const [ta, tb] = [[...a.matchAll(TOKEN)], [...b.matchAll(TOKEN)]];
  if (ta.length !== tb.length || a.split(TOKEN).join('\0') !== b.split(TOKEN).join('\0')) return undefined;
  let out = '';
  let at = 0;
  for (let k = 0; k < ta.length; k++) {
    const [x, y] = [ta[k]![0], tb[k]![0]];
    const n = Number(x);
    const grown = x === y ? x : String(n) === x && Number(y) === n + 1 ? String(grow(n)) : undefined;
    if (grown === undefined) return undefined;
    out += a.slice(at, ta[k]!.index) + grown;
    at = ta[k]!.index! + x.length;
  }
  return out + a.slice(at);
}

/** The runs of `count` units in a list (count at least 2: a run shows by its first two units). */
export function findRuns(list: readonly unknown[], count: number, what: string): Run[] {
  const runs: Run[] = [];
  if (count < 2 || list.length < count) return runs;
  // Items of a run have the same text but for their digits: a quick test before the real one.
  const shapes = list.map((x) => JSON.stringify(x).replace(/\d+/g, '#'));
  const alike = (start: number, unitLength: number) => {
    for (let j = 1; j < count; j++) for (let k = 0; k < unitLength; k++) if (shapes[start + j * unitLength + k] !== shapes[start + k]) return false;
    return true;
  };
  for (let start = 0; start < list.length; start++) {
    for (let unitLength = 1; start + count * unitLength <= list.length; unitLength++) {
      if (!alike(start, unitLength)) continue;
      const unit = (j: number) => list.slice(start + j * unitLength, start + (j + 1) * unitLength);
      const [u0, u1] = [unit(0), unit(1)];
      if (jsonEqual(u0, u1) || withOrdinal(u0, u1, (n) => n) === undefined) continue;
      const nth = (j: number) => withOrdinal(u0, u1, (n) => n + j);
      let j = 2;
      while (j < count && jsonEqual(nth(j), unit(j))) j++;
      if (j < count) continue;
      if (start + (count + 1) * unitLength <= list.length && jsonEqual(nth(count), unit(count))) {
        throw new ChartShapeUnsupportedError(`${what} repeats more items than its count (${JSON.stringify(u0).slice(0, 100)})`);
      }
      runs.push({ start, unitLength, count });
      start += count * unitLength - 1;
      break;
    }
  }
  return runs;
}

/** A run's unit as a template's JSON: unit 0 with each number that grows with the ordinal marked. */
export function virtualUnit(list: readonly unknown[], run: Run): unknown[] {
  const unit = (j: number) => list.slice(run.start + j * run.unitLength, run.start + (j + 1) * run.unitLength);
  return withOrdinal(unit(0), unit(1), (n) => ORDINAL_MARK + n) as unknown[];
}

/**
 * What the marks of a virtual unit stand for: the number in unit 0 (a prop's sentinel, or a
 * literal such as the ordinal's own 0) plus the ordinal variable.
 */
export function ordinalFragments(unit: unknown, fragments: readonly Fragment[], variable: string): Fragment[] {
  const marks = new Set<number>();
  const visit = (v: unknown): void => {
    if (typeof v === 'number' && isMark(v)) marks.add(v);
    else if (typeof v === 'string') for (const m of v.matchAll(TOKEN)) isMark(Number(m[0])) && marks.add(Number(m[0]));
    else if (Array.isArray(v)) v.forEach(visit);
    else if (isPlainObject(v)) Object.values(v).forEach(visit);
  };
  visit(unit);
  return [...marks].map((mark) => {
    const first = mark - ORDINAL_MARK;
    const prop = fragments.find((f) => f.number === first);
    return { number: mark, expr: prop ? `(add ${prop.expr} ${variable})` : first === 0 ? variable : `(add ${first} ${variable})` };
  });
}

/** Whether a text holds a mark: an ordinal a template did not replace. */
export function hasMark(text: string): boolean {
  return [...text.matchAll(TOKEN)].some((m) => isMark(Number(m[0])));
}

/** A name with each mark as the ordinal's letter (a template file's name). */
export function ordinalNamed(text: string): string {
  return text.replace(TOKEN, (t) => (isMark(Number(t)) ? 'i' : t));
}
