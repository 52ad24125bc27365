/**
 * The templates/ of a chart: the construct synthesised once with a sentinel for every prop
 * (the base), once more per variant of each prop that changes the output's shape, and a few
 * times to learn how it orders list elements; the base becomes a template tree, the variants
 * are folded into it as guards, and each object becomes one template file.
 */
import { ChartShapeUnsupportedError } from './chart-errors';
import { buildNode, type RangeSource } from './build-tree';
import type { ChartSource } from './chart-source';
import { ABSENT, PRESENT, planProps, type Fragment, type PropPlan, type Variant } from './prop-plans';
import type { PropDoc } from './prop-docs';
import { documentText } from './template-yaml';
import { findDigests, hashedExpr, nodeAt, replaceAt } from './derived-digests';
import { isPlainObject, jsonEqual, type DigestNode, type Node, type TextNode } from './template-tree';
import { TextTemplates } from './text-templates';
import { mergeVariant, objectKey } from './variant-merge';

/** File name (under templates/) to text. */
export function chartTemplates(source: ChartSource, docs: Readonly<Record<string, PropDoc>>, seed: number): Record<string, string> {
  const plans = planProps(source.schema, docs, seed, source.plan);
  const synth = (override?: { plan: PropPlan; value: unknown; label: string }) => {
    const props: Record<string, unknown> = {};
    const companions = override ? (source.companions?.[override.plan.name] ?? {}) : {};
    const companion = (plan: PropPlan) => (companions[plan.name] === PRESENT ? plan.variants.find((v) => v.label === 'present')!.value : companions[plan.name]);
    for (const plan of plans) setPath(props, plan.path, override?.plan === plan ? override.value : plan.name in companions ? companion(plan) : plan.base.value);
    try {
      return { objects: source.synth(props), derived: source.derived?.(props) ?? [] };
    } catch (err) {
      const what = override ? `${override.plan.name} ${override.label}` : 'the sentinel props';
      throw new ChartShapeUnsupportedError(`the construct refuses ${what}: ${(err as Error).message}`);
    }
  };
  const { objects: base, derived: baseDerived } = synth();
  // A companion's sentinels are those of the value it is given: none for absent or a literal.
  const withCompanions = (plan: PropPlan, fragments: Fragment[]) => {
    const given = source.companions?.[plan.name] ?? {};
    const others = plans.filter((p) => p.name in given);
    const dropped = new Set(others.flatMap((p) => p.base.fragments));
    return [...fragments.filter((f) => !dropped.has(f)), ...others.flatMap((p) => (given[p.name] === PRESENT ? p.variants.find((v) => v.label === 'present')!.fragments : []))];
  };
  // The variants a companion puts other props in: their conditions hold in this synthesis too.
  const impliedBy = (plan: PropPlan) =>
    Object.entries(source.companions?.[plan.name] ?? {}).flatMap(([name, value]) => {
      const other = plans.find((p) => p.name === name);
      const variant = other?.variants.find((v) => (value === PRESENT ? v.label === 'present' : v.value === value));
      return other && variant ? [{ prop: other.name, cond: variant.cond }] : [];
    });
  const baseFragments = [...plans.flatMap((p) => p.base.fragments), ...baseDerived];
  const ranges: RangeSource[] = plans.flatMap((plan) => (plan.collection ? [{ prop: plan.name, plan: plan.collection, over: rangeOver(plan, base, synth) }] : []));
  const root = buildNode(base, baseFragments, ranges);
  // Hashes of other parts (config digests) are recognised before the variants are folded in.
  for (const d of findDigests(base)) replaceAt(root, [d.at.object, ...d.at.path], { ...d.digest, src: pathValue(base, [d.at.object, ...d.at.path]) });
  for (const plan of plans) {
    for (const variant of plan.variants.map((v) => emptyAsAbsent(plan, v, synth))) {
      const synthesis = synth({ plan, value: variant.value, label: variant.label });
      const fragments: Fragment[] = [...baseFragments.filter((f) => !plan.base.fragments.includes(f) && !baseDerived.includes(f)), ...variant.fragments, ...synthesis.derived];
      mergeVariant(root, synthesis.objects, { prop: plan.name, cond: variant.cond, fragments: withCompanions(plan, fragments), baseFragments, ranges, at: plan.name, implied: impliedBy(plan) }, objectKey);
    }
  }
  if (root.t !== 'seq') throw new ChartShapeUnsupportedError('the construct synthesised no list of objects');
  leaks(root, plans);
  const files: Record<string, string> = {};
  const texts = new TextTemplates(source.name);
  const text = (t: TextNode) => (TextTemplates.isStatic(t) ? JSON.stringify((t as TextNode & { src: unknown }).src) : `include ${JSON.stringify(texts.nameOf(t))} $`);
  const resolvers = {
    text,
    digest: (d: DigestNode) => {
      const path = [d.target.object, ...d.target.path];
      const asJson = path[path.length - 1] === '#json';
      return `${hashedExpr(nodeAt(root, asJson ? path.slice(0, -1) : path), asJson, text)} | sha256sum | trunc ${d.length}`;
    },
  };
  root.items.forEach((item, i) => {
    if (item.kind !== 'one') throw new ChartShapeUnsupportedError(`objects repeat per element of ${item.range.prop}`);
    files[`${String(i).padStart(2, '0')}-${fileSlug(item.node.src, plans)}.yaml`] = documentText(item.node, item.guard, resolvers);
  });
  const defined = texts.file();
  if (defined) files['_texts.tpl'] = defined;
  return files;
}

/**
 * An optional string the construct treats as absent when empty (`props.x ? ...`) must be
 * guarded by `empty`, not by presence: tried with "" (unless the construct refuses it).
 */
function emptyAsAbsent(plan: PropPlan, variant: Variant, synth: (o: { plan: PropPlan; value: unknown; label: string }) => { objects: unknown[] }): Variant {
  if (variant.value !== ABSENT || plan.schema.type !== 'string') return variant;
  let empty: unknown[];
  try {
    empty = synth({ plan, value: '', label: 'empty' }).objects;
  } catch {
    return variant;
  }
  return jsonEqual(empty, synth({ plan, value: ABSENT, label: 'absent' }).objects) ? { ...variant, cond: `(empty ${plan.valueExpr})` } : variant;
}

/** The range expression of a list or map prop: sorted and de-duplicated when the construct does so. */
function rangeOver(plan: PropPlan, base: unknown[], synth: (o: { plan: PropPlan; value: unknown; label: string }) => { objects: unknown[] }): string {
  const c = plan.collection!;
  const sorts = jsonEqual(synth({ plan, value: c.reversed, label: 'reversed' }).objects, base);
  if (c.kind === 'map') {
    // Helm ranges over a map in key order; a construct keeping insertion order has no template.
    if (!sorts) throw new ChartShapeUnsupportedError(`${plan.name}: the construct keeps the map's insertion order, Helm cannot`);
    return plan.valueExpr;
  }
  const dedups = jsonEqual(synth({ plan, value: c.duplicated, label: 'with a duplicate' }).objects, base);
  return `${plan.valueExpr}${dedups ? ' | uniq' : ''}${sorts ? ' | sortAlpha' : ''}`;
}

function pathValue(value: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>((v, step) => (v as Record<string | number, unknown>)[step], value);
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  if (value === ABSENT) return;
  let at = target;
  for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[path[path.length - 1]!] = value;
}

const SENTINEL = /kgs\dx(\d+)/;

/** A sentinel left as a literal is a prop the construct transformed past recognition (case, hashing, ...). */
function leaks(node: Node, plans: readonly PropPlan[]): void {
  const visit = (n: unknown): void => {
    if (typeof n === 'string') {
      const m = SENTINEL.exec(n);
      if (m) throw new ChartShapeUnsupportedError(`${plans[Number(m[1])]?.name ?? 'a prop'} reaches the output transformed, as "${n.slice(0, 80)}"`);
      return;
    }
    if (Array.isArray(n)) return n.forEach(visit);
    if (isPlainObject(n)) {
      if (n.t === 'lit') return visit(n.v);
      for (const [k, v] of Object.entries(n)) if (k !== 'src' && k !== 'srcKeys' && k !== 'keySrc' && k !== 'e') visit(v);
    }
  };
  visit(node);
}

function fileSlug(object: unknown, plans: readonly PropPlan[]): string {
  const o = object as { kind?: string; metadata?: { name?: string } };
  const name = (o.metadata?.name ?? '').replace(/kgs\dx(\d+)z/g, (_, n: string) => plans[Number(n)]?.name ?? 'value');
  return `${o.kind ?? 'object'}-${name}`.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
}
