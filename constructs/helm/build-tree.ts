/**
 * The base synthesis as a template tree: scalars through their sentinels (string-templates),
 * and, in every list and map, the output repeated per element of a list or map prop found and
 * turned into a range. The construct was given two elements, so their output shows as two
 * runs of items that differ only by the element's sentinels; one run, with the element's
 * sentinels as the range's variables, is the range's body. Output repeated once per replica of
 * a count prop (repeat-runs.ts) becomes a range over `until` the count, its body the first
 * unit with the numbers that grow with the ordinal as `add ... $i`.
 */
import { ChartShapeUnsupportedError } from './chart-errors';
import type { CollectionPlan, Fragment } from './prop-plans';
import { findRuns, ordinalFragments, virtualUnit, type Run } from './repeat-runs';
import { isJsonDocument, scalarNode } from './string-templates';
import { isPlainObject, linesOf, type Entry, type Item, type Node, type RangeSpec } from './template-tree';

/** A list or map prop in the tree, with the expression its range iterates. */
export interface CollectionRange {
  readonly prop: string;
  readonly plan: CollectionPlan;
  readonly over: string;
}

/** A count prop the construct repeats output by (the chart source's `repeats`), at its count in the syntheses. */
export interface RepeatRange {
  readonly prop: string;
  readonly repeat: { readonly count: number; readonly variable: string };
  /** `until (int <count>)` */
  readonly over: string;
}

export type RangeSource = CollectionRange | RepeatRange;

export const isRepeat = (r: RangeSource): r is RepeatRange => 'repeat' in r;
const collections = (ranges: readonly RangeSource[]) => ranges.filter((r): r is CollectionRange => !isRepeat(r));

/** `jsonText`: json is a line of a JSON document's text. */
export function buildNode(json: unknown, fragments: readonly Fragment[], ranges: readonly RangeSource[], jsonText?: boolean): Node {
  if (Array.isArray(json)) return { t: 'seq', items: seqItems(json, fragments, ranges, jsonText), src: json };
  if (isPlainObject(json)) return { t: 'map', entries: mapEntries(json, fragments, ranges), src: json };
  // A text is split into lines, unless a prop's own text spans lines in it (a PEM certificate).
  if (typeof json === 'string' && jsonText === undefined && json.includes('\n') && !fragments.some((f) => f.text?.includes('\n') && json.includes(f.text))) {
    const lines = linesOf(json);
    const isJson = isJsonDocument(json);
    return { t: 'text', json: isJson, lines: { t: 'seq', items: seqItems(lines, fragments, ranges, isJson), src: lines }, src: json };
  }
  return { ...scalarNode(json as string | number | boolean | null, fragments, jsonText), src: json };
}

const mentions = (value: unknown, texts: readonly string[]) => {
  const s = JSON.stringify(value);
  return texts.some((t) => s.includes(t));
};
const swapped = (value: unknown, swap: CollectionPlan['swap']) => swap.reduce((s, [a, b]) => s.split(a).join(b), JSON.stringify(value));
const firstTexts = (r: CollectionRange) => r.plan.swap.map(([a]) => a);
const secondTexts = (r: CollectionRange) => r.plan.swap.map(([, b]) => b);
const spec = (r: CollectionRange): RangeSpec => ({ prop: r.prop, vars: r.plan.vars, over: r.over });

/** Each count prop's runs in a list. */
export function repeatRuns(json: readonly unknown[], ranges: readonly RangeSource[]): { run: Run; range: RepeatRange }[] {
  const found = ranges.filter(isRepeat).flatMap((range) => findRuns(json, range.repeat.count, range.prop).map((run) => ({ run, range })));
  found.sort((a, b) => a.run.start - b.run.start);
  found.forEach((f, k) => {
    if (k > 0 && f.run.start < found[k - 1]!.run.start + found[k - 1]!.run.count * found[k - 1]!.run.unitLength) throw new ChartShapeUnsupportedError('two counts repeat overlapping output');
  });
  return found;
}

/** A run as a range over the count: its body is its first unit, each growing number `add <first> $i`. */
export function repeatItem(json: readonly unknown[], run: Run, range: RepeatRange, fragments: readonly Fragment[], ranges: readonly RangeSource[], jsonText?: boolean): Item {
  const unit = virtualUnit(json, run);
  const inner = [...fragments, ...ordinalFragments(unit, fragments, range.repeat.variable)];
  // Runs inside a run (a count within a count) are not looked for: the body is built without them.
  const nodes = unit.map((x) => buildNode(x, inner, collections(ranges), jsonText));
  return { kind: 'range', guard: [], range: { prop: range.prop, vars: [range.repeat.variable], over: range.over }, nodes, src: json.slice(run.start, run.start + run.count * run.unitLength), repeat: true };
}

function seqItems(allJson: unknown[], fragments: readonly Fragment[], ranges: readonly RangeSource[], jsonText?: boolean): Item[] {
  const runs = repeatRuns(allJson, ranges);
  const inRun = (i: number) => runs.find(({ run }) => i >= run.start && i < run.start + run.count * run.unitLength);
  // Lists and maps are looked for outside the runs (a run's body has its own).
  const json = allJson.map((x, i) => (inRun(i) ? null : x));
  const units: { start: number; length: number; range: CollectionRange }[] = [];
  for (const r of collections(ranges)) {
    const first = json.flatMap((x, i) => (mentions(x, firstTexts(r)) ? [i] : []));
    const second = json.flatMap((x, i) => (mentions(x, secondTexts(r)) ? [i] : []));
    if (first.length === 0 && second.length === 0) continue;
    const where = () => `the output of ${r.prop} in ${JSON.stringify(json).slice(0, 120)}`;
    if (first.length === 0 || second.length === 0 || Math.max(...first) >= Math.min(...second)) {
      // Both elements inside one item: the range is deeper (or the item merges them, which no template can follow).
      if (first.length === second.length && first.every((i, k) => i === second[k])) continue;
      throw new ChartShapeUnsupportedError(`cannot find the repeated part of ${where()}`);
    }
    const length = second[0]! - first[0]!;
    let found = -1;
    // The unit that holds the element at its end (`--flag value`) is preferred.
    for (let start = Math.max(0, first[0]! - length + 1); start <= first[0]! && found === -1; start++) {
      const a = json.slice(start, start + length);
      const b = json.slice(start + length, start + 2 * length);
      const inside = (i: number) => i >= start && i < start + 2 * length;
      if (b.length === length && swapped(a, r.plan.swap) === JSON.stringify(b) && first.every(inside) && second.every(inside)) found = start;
    }
    if (found === -1) throw new ChartShapeUnsupportedError(`the two elements' output differs by more than the element in ${where()}`);
    units.push({ start: found, length, range: r });
  }
  units.sort((a, b) => a.start - b.start);
  const items: Item[] = [];
  for (let i = 0; i < json.length; ) {
    const repeated = runs.find(({ run }) => run.start === i);
    if (repeated) {
      items.push(repeatItem(allJson, repeated.run, repeated.range, fragments, ranges, jsonText));
      i += repeated.run.count * repeated.run.unitLength;
      continue;
    }
    const unit = units.find((u) => u.start === i);
    if (unit) {
      const body = json.slice(i, i + unit.length);
      const inner = [...fragments, ...unit.range.plan.first];
      items.push({ kind: 'range', guard: [], range: spec(unit.range), nodes: body.map((x) => buildNode(x, inner, ranges, jsonText)), src: json.slice(i, i + 2 * unit.length) });
      i += 2 * unit.length;
      continue;
    }
    if (units.some((u) => i > u.start && i < u.start + 2 * u.length)) throw new ChartShapeUnsupportedError('two list props repeat overlapping output');
    items.push({ kind: 'one', guard: [], node: buildNode(json[i], fragments, ranges, jsonText) });
    i++;
  }
  return items;
}

function mapEntries(json: Record<string, unknown>, fragments: readonly Fragment[], ranges: readonly RangeSource[]): Entry[] {
  const entries: Entry[] = [];
  const taken = new Set<string>();
  for (const r of collections(ranges).filter((x) => x.plan.kind === 'map')) {
    const [k1, k2] = [r.plan.swap[0]![0], r.plan.swap[0]![1]];
    const firstKeys = Object.keys(json).filter((k) => k.includes(k1));
    const secondKeys = Object.keys(json).filter((k) => k.includes(k2));
    if (firstKeys.length === 0 && secondKeys.length === 0) continue;
    if (firstKeys.length !== 1 || secondKeys.length !== 1 || swapped({ [firstKeys[0]!]: json[firstKeys[0]!] }, r.plan.swap) !== JSON.stringify({ [secondKeys[0]!]: json[secondKeys[0]!] })) {
      throw new ChartShapeUnsupportedError(`the keys made from ${r.prop} do not repeat one per element`);
    }
    const inner = [...fragments, ...r.plan.first];
    const key = firstKeys[0]!;
    entries.push({ kind: 'range', guard: [], range: spec(r), entries: [{ key: scalarNode(key, inner) as never, value: buildNode(json[key], inner, ranges) }], srcKeys: [key, secondKeys[0]!] });
    taken.add(key).add(secondKeys[0]!);
  }
  for (const [key, value] of Object.entries(json)) {
    if (taken.has(key)) continue;
    entries.push({ kind: 'one', guard: [], key: scalarNode(key, fragments), keySrc: key, value: buildNode(value, fragments, ranges) });
  }
  return entries;
}
