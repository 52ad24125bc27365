/**
 * Folds one more synthesis (a variant: one prop absent, empty, or of another class) into the
 * template tree. What the base has and the variant lacks gets a negated guard; what only the
 * variant has is inserted with a guard of its own; scalars that differ become a choice. List
 * items are aligned by their longest common subsequence, items with a `name` (containers,
 * volumes, objects by identity) matched by it so that their insides are merged rather than
 * duplicated. A run of a count's units (one per replica) is aligned as one element, and the
 * variant's unit merged into the range's body. Two props that change the same node cannot be
 * told apart by if/else: refused.
 */
import { ChartShapeUnsupportedError } from './chart-errors';
import { buildNode, repeatItem, repeatRuns, type RangeSource } from './build-tree';
import type { Fragment } from './prop-plans';
import { ordinalFragments, virtualUnit } from './repeat-runs';
import { scalarNode } from './string-templates';
import { isPlainObject, jsonEqual, linesOf, sameTemplate, type ChoiceNode, type Entry, type GuardAtom, type Item, type MapNode, type Node, type SeqNode } from './template-tree';

export interface VariantContext {
  readonly prop: string;
  readonly cond: string;
  /** The fragments of this synthesis: the base's, with the varied prop's own. */
  readonly fragments: readonly Fragment[];
  readonly baseFragments: readonly Fragment[];
  readonly ranges: readonly RangeSource[];
  /** Where in the output, for messages. */
  readonly at: string;
  /**
   * The conditions true in this synthesis besides `cond`: those of the variants its companions
   * put other props in. The tree is compared with what it renders under them, and a choice
   * of such a prop takes this variant's branch ahead of its own (it is the narrower case).
   */
  readonly implied?: readonly { readonly prop: string; readonly cond: string }[];
  /** Inside a JSON document's text: new lines are built with JSON escaping. */
  readonly jsonText?: boolean;
}

type KeyOf = (x: unknown) => string | undefined;

export function mergeVariant(node: Node, json: unknown, ctx: VariantContext, keyOf: KeyOf = nameKey): Node {
  // A digest follows what it hashes.
  if (node.t === 'digest') return node;
  if (jsonEqual(rendered(node, ctx), json)) return node;
  if (node.t === 'choice') {
    const branch = { cond: ctx.cond, node: buildNode(json, ctx.fragments, ctx.ranges, ctx.jsonText) };
    if (sameTemplate(branch.node, selected(node, ctx))) return node;
    if (node.prop === ctx.prop) node.branches.push(branch);
    else if (ctx.implied?.some((i) => i.prop === node.prop)) node.branches.unshift(branch);
    else throw new ChartShapeUnsupportedError(`${node.prop} and ${ctx.prop} both change ${ctx.at}`);
    return node;
  }
  if (node.t === 'text' && typeof json === 'string' && json.includes('\n')) {
    mergeSeq(node.lines, linesOf(json), { ...ctx, jsonText: node.json }, () => undefined);
    return node;
  }
  if (node.t === 'map' && isPlainObject(json)) {
    mergeMap(node, json, ctx);
    return node;
  }
  if (node.t === 'seq' && Array.isArray(json)) {
    mergeSeq(node, json, ctx, keyOf);
    return node;
  }
  const alternative = buildNode(json, ctx.fragments, ctx.ranges, ctx.jsonText);
  if (sameTemplate(alternative, node)) return node;
  return { t: 'choice', prop: ctx.prop, branches: [{ cond: ctx.cond, node: alternative }], otherwise: node, src: node.src };
}

const trueIn = (ctx: VariantContext, cond: string) => cond === ctx.cond || (ctx.implied ?? []).some((i) => i.cond === cond);
/** Whether a guard holds in this synthesis. */
const holds = (guard: readonly GuardAtom[], ctx: VariantContext) => guard.every((a) => trueIn(ctx, a.cond) !== a.negated);
const selected = (node: ChoiceNode, ctx: VariantContext): Node => node.branches.find((b) => trueIn(ctx, b.cond))?.node ?? node.otherwise;

/** The JSON the tree renders in this synthesis (as far as the syntheses folded in so far tell). */
function rendered(node: Node, ctx: VariantContext): unknown {
  if (!ctx.implied?.length) return node.src;
  if (node.t === 'choice') return rendered(selected(node, ctx), ctx);
  if (node.t === 'map') {
    const out: Record<string, unknown> = {};
    for (const e of node.entries.filter((x) => holds(x.guard, ctx))) {
      if (e.kind === 'one') out[e.keySrc] = rendered(e.value, ctx);
      else for (const k of e.srcKeys) out[k] = (node.src as Record<string, unknown>)[k];
    }
    return out;
  }
  if (node.t === 'seq') return node.items.filter((i) => holds(i.guard, ctx)).flatMap((i) => (i.kind === 'one' ? [rendered(i.node, ctx)] : [...i.src]));
  if (node.t === 'text') return (rendered(node.lines, ctx) as string[]).join('');
  return node.src;
}

const negated = (ctx: VariantContext) => ({ prop: ctx.prop, cond: ctx.cond, negated: true });
const positive = (ctx: VariantContext) => ({ prop: ctx.prop, cond: ctx.cond, negated: false });

function mergeMap(node: MapNode & { src: unknown }, json: Record<string, unknown>, ctx: VariantContext): void {
  const known = new Set<string>();
  for (const entry of node.entries.filter((e) => holds(e.guard, ctx))) {
    if (entry.kind === 'one') {
      known.add(entry.keySrc);
      if (entry.keySrc in json) entry.value = mergeVariant(entry.value, json[entry.keySrc], { ...ctx, jsonText: undefined, at: `${ctx.at}.${entry.keySrc}` });
      else entry.guard.push(negated(ctx));
      continue;
    }
    entry.srcKeys.forEach((k) => known.add(k));
    const present = entry.srcKeys.filter((k) => k in json);
    if (present.length === 0) {
      if (entry.range.prop !== ctx.prop) entry.guard.push(negated(ctx));
    } else if (present.length !== entry.srcKeys.length || !entry.srcKeys.every((k) => jsonEqual(json[k], (node.src as Record<string, unknown>)[k]))) {
      throw new ChartShapeUnsupportedError(`${ctx.prop} changes entries that ${entry.range.prop} repeats at ${ctx.at}`);
    }
  }
  for (const [key, value] of Object.entries(json)) {
    if (known.has(key)) continue;
    const clash = node.entries.find((e) => e.kind === 'one' && e.keySrc === key && e.guard.some((a) => !a.negated && a.prop !== ctx.prop));
    if (clash) throw new ChartShapeUnsupportedError(`two props add ${ctx.at}.${key}`);
    node.entries.push({ kind: 'one', guard: [positive(ctx)], key: scalarNode(key, ctx.fragments), keySrc: key, value: buildNode(value, ctx.fragments, ctx.ranges) } as Entry);
  }
}

interface Flat {
  readonly item: Item;
  readonly json: unknown;
}

/** A run of a count's units, aligned as one element: its unit's template JSON and what its marks stand for. */
class Repeated {
  constructor(
    readonly prop: string,
    readonly unit: readonly unknown[],
    readonly fragments: readonly Fragment[],
    /** The range item it makes when only the variant has it. */
    readonly item?: () => Item,
  ) {}
}

/** The variant's list with each run of a count's units as one element. */
function collapsed(json: unknown[], ctx: VariantContext): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  for (const { run, range } of repeatRuns(json, ctx.ranges)) {
    out.push(...json.slice(i, run.start));
    const unit = virtualUnit(json, run);
    out.push(new Repeated(range.prop, unit, ordinalFragments(unit, ctx.fragments, range.repeat.variable), () => repeatItem(json, run, range, ctx.fragments, ctx.ranges, ctx.jsonText)));
    i = run.start + run.count * run.unitLength;
  }
  return [...out, ...json.slice(i)];
}

function flat(item: Item, ctx: VariantContext): Flat[] {
  if (item.kind === 'one') return [{ item, json: rendered(item.node, ctx) }];
  if (!item.repeat) return item.src.map((j) => ({ item, json: j }));
  const unit = item.nodes.map((n) => rendered(n, ctx));
  return [{ item, json: new Repeated(item.range.prop, unit, ordinalFragments(unit, ctx.baseFragments, item.range.vars[0]!)) }];
}

/** The variant's unit folded into the body of a count's range. */
function mergeUnit(item: Extract<Item, { kind: 'range' }>, base: Repeated, variant: Repeated, ctx: VariantContext): void {
  if (base.unit.length !== variant.unit.length) throw new ChartShapeUnsupportedError(`${ctx.prop} changes how many items repeat per ${item.range.prop} at ${ctx.at}`);
  const inner = { ...ctx, fragments: [...ctx.fragments, ...variant.fragments], baseFragments: [...ctx.baseFragments, ...base.fragments], at: `${ctx.at}[each ${item.range.prop}]` };
  item.nodes.forEach((n, k) => (item.nodes[k] = mergeVariant(n, variant.unit[k], inner)));
}

function mergeSeq(node: SeqNode, variantJson: unknown[], ctx: VariantContext, keyOf: KeyOf): void {
  const json = collapsed(variantJson, ctx);
  const base: Flat[] = node.items.filter((i) => holds(i.guard, ctx)).flatMap((item) => flat(item, ctx));
  const baseKeys = base.map((b) => keyOf(b.json));
  const unique = (k: string | undefined) => k !== undefined && baseKeys.filter((x) => x === k).length === 1;
  // Items that differ only by the varied prop's sentinels (an IPv4 host for a name) are the same template.
  const sameTemplateOf = (a: unknown, b: unknown) => sameTemplate(buildNode(a, ctx.baseFragments, ctx.ranges, ctx.jsonText), buildNode(b, ctx.fragments, ctx.ranges, ctx.jsonText));
  const same = (a: unknown, b: unknown) =>
    a instanceof Repeated || b instanceof Repeated ? a instanceof Repeated && b instanceof Repeated && a.prop === b.prop : unique(keyOf(a)) ? keyOf(a) === keyOf(b) : jsonEqual(a, b) || sameTemplateOf(a, b);
  // Longest common subsequence, then walked from the start.
  const n = base.length;
  const m = json.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = same(base[i]!.json, json[j]) ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const inserts = new Map<number, Item[]>();
  const rangeHits = new Map<Item, { matched: number; missing: number }>();
  const hit = (item: Item, matched: boolean) => {
    const h = rangeHits.get(item) ?? { matched: 0, missing: 0 };
    if (matched) h.matched++;
    else h.missing++;
    rangeHits.set(item, h);
  };
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && same(base[i]!.json, json[j])) {
      const { item } = base[i]!;
      if (item.kind === 'one') item.node = mergeVariant(item.node, json[j], { ...ctx, at: `${ctx.at}[${keyOf(json[j]) ?? j}]` });
      else if (item.repeat) mergeUnit(item, base[i]!.json as Repeated, json[j] as Repeated, ctx);
      else hit(item, jsonEqual(base[i]!.json, json[j]));
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      const at = inserts.get(i) ?? [];
      const added = json[j];
      at.push(added instanceof Repeated ? { ...added.item!(), guard: [positive(ctx)] } : { kind: 'one', guard: [positive(ctx)], node: buildNode(added, ctx.fragments, ctx.ranges, ctx.jsonText) });
      inserts.set(i, at);
      j++;
    } else {
      const { item } = base[i]!;
      if (item.kind === 'one') item.guard.push(negated(ctx));
      // A count's run missing from a synthesis of its own variant: none at that count (0).
      else if (item.repeat) {
        if (item.range.prop !== ctx.prop) item.guard.push(negated(ctx));
      } else hit(item, false);
      i++;
    }
  }
  for (const [item, h] of rangeHits) {
    if (item.kind !== 'range') continue;
    if (h.missing === 0) continue;
    if (h.matched > 0) throw new ChartShapeUnsupportedError(`${ctx.prop} changes items that ${item.range.prop} repeats at ${ctx.at}`);
    if (item.range.prop !== ctx.prop) item.guard.push(negated(ctx));
  }
  // Put the inserted items before the base item they preceded.
  const firstIndex = new Map<Item, number>();
  base.forEach((b, k) => (firstIndex.has(b.item) ? undefined : firstIndex.set(b.item, k)));
  for (const k of inserts.keys()) {
    if (k < n && firstIndex.get(base[k]!.item) !== k) throw new ChartShapeUnsupportedError(`${ctx.prop} adds items inside a range at ${ctx.at}`);
  }
  const items: Item[] = [];
  for (const item of node.items) {
    const k = firstIndex.get(item);
    if (k !== undefined) items.push(...(inserts.get(k) ?? []));
    items.push(item);
  }
  items.push(...(inserts.get(n) ?? []));
  node.items = items;
}

function nameKey(x: unknown): string | undefined {
  return isPlainObject(x) && typeof x.name === 'string' ? x.name : undefined;
}

/** Kubernetes objects are the same object when their identity is. */
export function objectKey(x: unknown): string | undefined {
  if (!isPlainObject(x) || !isPlainObject(x.metadata)) return undefined;
  return [x.apiVersion, x.kind, x.metadata.namespace ?? '', x.metadata.name].join('/');
}
