/**
 * The template tree of a construct: synthesised once with a sentinel for every prop (the
 * base), once more per variant of each prop that changes the output's shape, and a few times
 * to learn how it orders list elements; the base becomes the tree (ranges and digests
 * recognised in it) and each variant is folded in as guards and choices. A count the chart
 * source says the construct repeats output by stays at its sentinel (a dozen or two units), and a
 * synthesis at another count is read with its runs as at that one (repeat-counts.ts). The
 * derivation keeps how it synthesised, so that combinations of variants can be checked against
 * the tree (pair-check.ts).
 */
import { ChartPropUnsupportedError, ChartShapeUnsupportedError } from './chart-errors';
import { buildNode, type RangeSource, type RepeatRange } from './build-tree';
import type { ChartSource } from './chart-source';
import { findDigests, replaceAt } from './derived-digests';
import { ABSENT, PRESENT, SECTION, planProps, type Fragment, type PropPlan, type Variant } from './prop-plans';
import type { PropDoc } from './prop-docs';
import { atBaseCount } from './repeat-counts';
import { jsonEqual, type Node } from './template-tree';
import { mergeVariant, objectKey } from './variant-merge';

/** One prop put in one of its variants. */
export interface Applied {
  readonly plan: PropPlan;
  readonly variant: Variant;
}

export interface Derivation {
  readonly plans: readonly PropPlan[];
  readonly root: Node;
  readonly ranges: readonly RangeSource[];
  /**
   * The construct's objects with these props in these variants (their companions too), a
   * repeat count off its base read as at its base, and its derived fragments; throws what the
   * construct throws.
   */
  synth(applied: readonly Applied[]): { objects: unknown[]; derived: Fragment[] };
  /** The fragments of a synthesis with these props in these variants. */
  fragmentsOf(applied: readonly Applied[], derived: readonly Fragment[]): Fragment[];
  /** The conditions the companions of these variants make true. */
  impliedBy(applied: readonly Applied[]): { prop: string; cond: string }[];
}

export function deriveTemplateTree(source: ChartSource, docs: Readonly<Record<string, PropDoc>>, seed: number): Derivation {
  const plans = planProps(source.schema, docs, seed, { ...source.plan, ...(source.repeats ? { repeats: source.repeats } : {}) });
  const presentOf = (plan: PropPlan) => plan.variants.find((v) => v.label === 'present')!;
  // A prop's companions hold in all its variants; `prop label` ones in that variant only.
  const companionsOf = (applied: readonly Applied[]) =>
    Object.assign({}, ...applied.flatMap((a) => [source.companions?.[a.plan.name] ?? {}, source.companions?.[`${a.plan.name} ${a.variant.label}`] ?? {}])) as Record<string, unknown>;
  // overrides: props held at a value whatever the variants say (a count at its base).
  const rawSynth = (applied: readonly Applied[], overrides: Readonly<Record<string, unknown>> = {}) => {
    const companions = companionsOf(applied);
    const props: Record<string, unknown> = {};
    const absentSections: string[] = [];
    for (const plan of plans) {
      if (absentSections.some((s) => plan.name.startsWith(`${s}.`))) continue;
      const own = applied.find((a) => a.plan === plan);
      const value = plan.name in overrides ? overrides[plan.name] : own ? own.variant.value : plan.name in companions ? (companions[plan.name] === PRESENT ? presentOf(plan).value : companions[plan.name]) : plan.base.value;
      if (plan.section && value === ABSENT) absentSections.push(plan.name);
      setPath(props, plan.path, value);
    }
    return { objects: source.synth(props), derived: source.derived?.(props) ?? [], props };
  };
  const repeats = repeatRanges(source, plans);
  const scaledSynth = (applied: readonly Applied[]) => {
    const out = rawSynth(applied);
    let objects: unknown = out.objects;
    for (const r of repeats) {
      const count = pathValue(out.props, plans.find((p) => p.name === r.prop)!.path);
      if (typeof count === 'number' && count !== r.repeat.count) objects = atBaseCount(objects, rawSynth(applied, { [r.prop]: r.repeat.count }).objects, r.repeat.count, count, r.prop);
    }
    return { objects: objects as unknown[], derived: out.derived };
  };
  const synth = (applied: readonly Applied[]) => {
    try {
      return scaledSynth(applied);
    } catch (err) {
      if (err instanceof ChartShapeUnsupportedError) throw err;
      const what = applied.length > 0 ? applied.map((a) => `${a.plan.name} ${a.variant.label}`).join(' and ') : 'the sentinel props';
      throw new ChartShapeUnsupportedError(`the construct refuses ${what}: ${(err as Error).message}`);
    }
  };
  const { objects: base, derived: baseDerived } = synth([]);
  const baseFragments = [...plans.flatMap((p) => p.base.fragments), ...baseDerived];
  // A synthesis's fragments: the base's, less those of the props it changed (and their
  // companions'), plus those of the values it gave them.
  const fragmentsOf = (applied: readonly Applied[], derived: readonly Fragment[]) => {
    const companions = companionsOf(applied);
    const changed = plans.filter((p) => applied.some((a) => a.plan === p) || p.name in companions);
    const dropped = new Set([...changed.flatMap((p) => p.base.fragments), ...baseDerived]);
    return [
      ...baseFragments.filter((f) => !dropped.has(f)),
      ...applied.flatMap((a) => a.variant.fragments),
      ...plans.filter((p) => companions[p.name] === PRESENT).flatMap((p) => presentOf(p).fragments),
      ...derived,
    ];
  };
  const impliedBy = (applied: readonly Applied[]) =>
    Object.entries(companionsOf(applied)).flatMap(([name, value]) => {
      const other = plans.find((p) => p.name === name);
      const variant = other?.variants.find((v) => (value === PRESENT ? v.label === 'present' : v.value === value));
      return other && variant ? [{ prop: other.name, cond: variant.cond }] : [];
    });
  const ranges: RangeSource[] = [...plans.flatMap((plan) => (plan.collection ? [{ prop: plan.name, plan: plan.collection, over: rangeOver(plan, base, synth) }] : [])), ...repeats];
  const root = buildNode(base, baseFragments, ranges);
  const unrepeated = repeats.find((r) => !repeatsIn(root, r.prop));
  if (unrepeated) throw new ChartShapeUnsupportedError(`${unrepeated.prop}: the construct repeats nothing by it that a range can make (replica i's output must be the first replica's with i added to the numbers that grow)`);
  // Hashes of other parts (config digests) are recognised before the variants are folded in.
  for (const d of findDigests(base)) replaceAt(root, [d.at.object, ...d.at.path], { ...d.digest, src: pathValue(base, [d.at.object, ...d.at.path]) });
  // Sections first: a leaf's variant that implies a section's absence (companions) then finds
  // it already in the tree, and a section's guard comes before its fields' (evaluated first).
  for (const plan of [...plans.filter((p) => p.section), ...plans.filter((p) => !p.section)]) {
    for (const variant of plan.variants.map((v) => emptyAsAbsent(plan, v, synth))) {
      const applied = [{ plan, variant }];
      const synthesis = synth(applied);
      mergeVariant(root, synthesis.objects, { prop: plan.name, cond: variant.cond, fragments: fragmentsOf(applied, synthesis.derived), baseFragments, ranges, at: plan.name, implied: impliedBy(applied) }, objectKey);
    }
  }
  return { plans, root, ranges, synth: scaledSynth, fragmentsOf, impliedBy };
}

/** The chart source's repeat counts, each at its sentinel (at least 2, so that its runs show) and with a variable of its own. */
function repeatRanges(source: ChartSource, plans: readonly PropPlan[]): RepeatRange[] {
  return (source.repeats ?? []).map((name, k) => {
    const plan = plans.find((p) => p.name === name);
    if (!plan || plan.schema.type !== 'integer' || typeof plan.base.value !== 'number' || plan.base.value < 2) throw new ChartPropUnsupportedError(name, 'a repeat count must be an integer prop that can be 2 or more');
    return { prop: name, repeat: { count: plan.base.value, variable: k === 0 ? '$i' : `$i${k}` }, over: `until (int ${plan.valueExpr})` };
  });
}

type Synth = (applied: readonly Applied[]) => { objects: unknown[] };

/**
 * An optional string the construct treats as absent when empty (`props.x ? ...`) must be
 * guarded by `empty`, not by presence: tried with "" (unless the construct refuses it).
 */
function emptyAsAbsent(plan: PropPlan, variant: Variant, synth: Synth): Variant {
  if (variant.value !== ABSENT || plan.schema.type !== 'string') return variant;
  let empty: unknown[];
  try {
    empty = synth([{ plan, variant: { ...variant, value: '' } }]).objects;
  } catch {
    return variant;
  }
  return jsonEqual(empty, synth([{ plan, variant }]).objects) ? { ...variant, cond: `(empty ${plan.valueExpr})` } : variant;
}

/** The range expression of a list or map prop: sorted and de-duplicated when the construct does so. */
function rangeOver(plan: PropPlan, base: unknown[], synth: Synth): string {
  const c = plan.collection!;
  const probe = (value: unknown, label: string) => synth([{ plan, variant: { label, value, cond: '', fragments: [] } }]).objects;
  const sorts = jsonEqual(probe(c.reversed, 'reversed'), base);
  if (c.kind === 'map') {
    // Helm ranges over a map in key order; a construct keeping insertion order has no template.
    if (!sorts) throw new ChartShapeUnsupportedError(`${plan.name}: the construct keeps the map's insertion order, Helm cannot`);
    return plan.valueExpr;
  }
  const dedups = jsonEqual(probe(c.duplicated, 'with a duplicate'), base);
  // values.yaml holds no section, so a list in one may be missing: uniq and sortAlpha fail on nil.
  const list = plan.inSection ? `(default (list) ${plan.valueExpr})` : plan.valueExpr;
  return `${list}${dedups ? ' | uniq' : ''}${sorts ? ' | sortAlpha' : ''}`;
}

/** Whether the tree holds a range over the count. */
function repeatsIn(node: Node, prop: string): boolean {
  switch (node.t) {
    case 'map':
      return node.entries.some((e) => (e.kind === 'one' ? repeatsIn(e.value, prop) : e.entries.some((x) => repeatsIn(x.value, prop))));
    case 'seq':
      return node.items.some((i) => (i.kind === 'one' ? repeatsIn(i.node, prop) : (i.repeat && i.range.prop === prop) || i.nodes.some((n) => repeatsIn(n, prop))));
    case 'text':
      return repeatsIn(node.lines, prop);
    default:
      return false;
  }
}

function pathValue(value: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>((v, step) => (v as Record<string | number, unknown> | undefined)?.[step], value);
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  if (value === ABSENT || value === SECTION) return;
  let at = target;
  for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[path[path.length - 1]!] = value;
}
