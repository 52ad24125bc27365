/**
 * A repeat count off its base (one replica, its least) cannot show its runs: one unit says
 * nothing of the next. Such a synthesis is compared with one of the same props at the base
 * count instead: every run found there must appear in it cut to its first units, exactly
 * (replica i's objects do not depend on how many replicas there are), and is put back whole.
 * What else the count changes (a disruption budget only with two replicas) stays, and is folded
 * in as the count variant's guards. A run it lacks (replica 0 named after the count) is refused:
 * `range` over the count could not make it.
 */
import { ChartShapeUnsupportedError } from './chart-errors';
import { findRuns } from './repeat-runs';
import { isPlainObject, jsonEqual, linesOf } from './template-tree';

/** `json` (made with `count` units per run) with the runs of `reference` (made with `baseCount`) whole. */
export function atBaseCount(json: unknown, reference: unknown, baseCount: number, count: number, prop: string): unknown {
  const runs: unknown[][] = [];
  const collect = (v: unknown): void => {
    const list = Array.isArray(v) ? v : typeof v === 'string' && v.includes('\n') ? linesOf(v) : undefined;
    if (list) {
      for (const run of findRuns(list, baseCount, 'a list')) runs.push(list.slice(run.start, run.start + run.count * run.unitLength));
      if (Array.isArray(v)) v.forEach(collect);
    } else if (isPlainObject(v)) Object.values(v).forEach(collect);
  };
  collect(reference);
  const heads = runs.map((whole) => ({ head: whole.slice(0, (whole.length / baseCount) * count), whole }));
  const found = new Set<unknown[]>();
  const expand = (list: unknown[]): unknown[] => {
    let out = list;
    for (const { head, whole } of heads) {
      if (head.length === 0) continue;
      const at = out.findIndex((_, i) => jsonEqual(out.slice(i, i + head.length), head));
      if (at === -1) continue;
      out = [...out.slice(0, at), ...whole, ...out.slice(at + head.length)];
      found.add(whole);
    }
    return out;
  };
  const visit = (v: unknown): unknown => {
    if (Array.isArray(v)) return expand(v.map(visit));
    if (typeof v === 'string' && v.includes('\n')) return (expand(linesOf(v)) as string[]).join('');
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)]));
    return v;
  };
  const out = visit(json);
  const lost = heads.find((h) => h.head.length > 0 && !found.has(h.whole));
  if (lost) throw new ChartShapeUnsupportedError(`${prop} at ${count} does not make the first ${count} of the units it makes at ${baseCount} (${JSON.stringify(lost.head[0]).slice(0, 100)})`);
  return out;
}
