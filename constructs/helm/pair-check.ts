/**
 * The derivation folds in one prop's variant at a time; an effect that shows only when two
 * props are both off their base (NodePort and no tunnel address) is not in the tree. This
 * check finds such effects: for every two variants of different props, the construct is
 * synthesised with both, and the tree, read as it renders when exactly those variants' (and
 * their companions') conditions hold, must be the same template as that synthesis. A
 * combination the construct refuses is skipped (the chart's refusals are the source's say), and
 * so is one that cannot occur: a field's variant with its section removed. A repeat count at its
 * least is paired like any variant, its runs read as at its base (repeat-counts.ts).
 */
import { buildNode } from './build-tree';
import { ChartShapeUnsupportedError } from './chart-errors';
import type { ChartSource } from './chart-source';
import { deriveTemplateTree, type Applied, type Derivation } from './template-derivation';
import type { PropDoc } from './prop-docs';
import { isPlainObject, type Entry, type GuardAtom, type Item, type Node } from './template-tree';

export interface PairMismatch {
  /** `prop variant` of each of the two. */
  readonly variants: readonly [string, string];
  /** Where the tree and the construct first differ. */
  readonly at: string;
}

export function pairMismatches(source: ChartSource, docs: Readonly<Record<string, PropDoc>>, limit = Infinity): PairMismatch[] {
  const derivation = deriveTemplateTree(source, docs, 0);
  const all: Applied[] = derivation.plans.flatMap((plan) => plan.variants.map((variant) => ({ plan, variant })));
  const out: PairMismatch[] = [];
  const refused = (source.refusals ?? []).flatMap((r) => (r.covers ? [r.covers] : []));
  for (let i = 0; i < all.length && out.length < limit; i++) {
    for (let j = i + 1; j < all.length && out.length < limit; j++) {
      const pair = [all[i]!, all[j]!];
      if (pair[0]!.plan === pair[1]!.plan) continue;
      const variants = pair.map((a) => `${a.plan.name} ${a.variant.label}`) as [string, string];
      if (refused.some((r) => r.includes(variants[0]) && r.includes(variants[1]))) continue;
      if (contradicts(derivation, pair)) continue;
      const at = mismatch(derivation, pair);
      if (at !== undefined) out.push({ variants, at });
    }
  }
  return out;
}

/** A field's variant holds only with its section given: a pair that also removes the section cannot occur. */
function contradicts(d: Derivation, pair: readonly Applied[]): boolean {
  const conds = new Set([...pair.map((a) => a.variant.cond), ...d.impliedBy(pair).map((i) => i.cond)]);
  const absent = d.plans.filter((p) => p.section && conds.has(p.variants[0]!.cond));
  return absent.some((section) => pair.some((a) => a.plan.name.startsWith(`${section.name}.`)));
}

function mismatch(d: Derivation, pair: readonly Applied[]): string | undefined {
  let synthesis;
  try {
    synthesis = d.synth(pair);
  } catch (err) {
    // The construct refusing the pair is the chart's refusals' say; a count's runs lost at its least are a mismatch.
    return err instanceof ChartShapeUnsupportedError ? err.message : undefined;
  }
  const conds = new Set([...pair.map((a) => a.variant.cond), ...d.impliedBy(pair).map((i) => i.cond)]);
  // A range over a list or map made empty renders nothing.
  const emptied = new Set(pair.filter((a) => a.variant.label === 'empty').map((a) => a.plan.name));
  const expected = buildNode(synthesis.objects, d.fragmentsOf(pair, synthesis.derived), d.ranges);
  return differs(view(d.root, conds, emptied), expected, '');
}

const holds = (guard: readonly GuardAtom[], conds: ReadonlySet<string>) => guard.every((a) => conds.has(a.cond) !== a.negated);

/** The tree as it renders when exactly `conds` hold: guards applied, choices made. */
function view(node: Node, conds: ReadonlySet<string>, emptied: ReadonlySet<string>): Node {
  switch (node.t) {
    case 'choice':
      return view(node.branches.find((b) => conds.has(b.cond))?.node ?? node.otherwise, conds, emptied);
    case 'map':
      return {
        ...node,
        entries: node.entries
          .filter((e) => holds(e.guard, conds) && !(e.kind === 'range' && emptied.has(e.range.prop)))
          .map((e): Entry => (e.kind === 'one' ? { ...e, guard: [], value: view(e.value, conds, emptied) } : { ...e, guard: [] })),
      };
    case 'seq':
      return {
        ...node,
        items: node.items
          .filter((i) => holds(i.guard, conds) && !(i.kind === 'range' && emptied.has(i.range.prop)))
          .map((i): Item => (i.kind === 'one' ? { ...i, guard: [], node: view(i.node, conds, emptied) } : { ...i, guard: [], nodes: i.repeat ? i.nodes.map((n) => view(n, conds, emptied)) : i.nodes })),
      };
    case 'text':
      return { ...node, lines: view(node.lines, conds, emptied) as typeof node.lines };
    default:
      return node;
  }
}

const shape = (x: unknown) => JSON.stringify(x, (k, v) => (k === 'src' || k === 'srcKeys' || k === 'keySrc' || k === 'guard' ? undefined : v));

/** The first place two trees render differently; digests match any hash. */
function differs(a: Node, b: Node, at: string): string | undefined {
  if (a.t === 'digest') return typeof b.src === 'string' && /^[0-9a-f]+$/.test(b.src) ? undefined : at;
  if (a.t !== b.t) return at;
  if (a.t === 'map' && b.t === 'map') {
    const keyed = (entries: readonly Entry[]) => new Map(entries.map((e) => [e.kind === 'one' ? shape(e.key) : `range ${e.range.prop}`, e]));
    const [ka, kb] = [keyed(a.entries), keyed(b.entries)];
    if (ka.size !== kb.size) return `${at} (keys ${[...ka.keys()].filter((k) => !kb.has(k)).concat([...kb.keys()].filter((k) => !ka.has(k))).join(', ')})`;
    for (const [k, ea] of ka) {
      const eb = kb.get(k);
      if (!eb) return `${at}.${k}`;
      if (ea.kind === 'one' && eb.kind === 'one') {
        const d = differs(ea.value, eb.value, `${at}.${isPlainObject(ea.key) && ea.key.t === 'lit' ? String(ea.key.v) : k}`);
        if (d !== undefined) return d;
      } else if (shape(ea) !== shape(eb)) return `${at}.${k}`;
    }
    return undefined;
  }
  if ((a.t === 'seq' && b.t === 'seq') || (a.t === 'text' && b.t === 'text')) {
    const [ia, ib] = a.t === 'text' && b.t === 'text' ? [a.lines.items, b.lines.items] : [(a as { items: Item[] }).items, (b as { items: Item[] }).items];
    if (ia.length !== ib.length) return `${at} (${ia.length} items, the construct ${ib.length})`;
    for (let k = 0; k < ia.length; k++) {
      const [x, y] = [ia[k]!, ib[k]!];
      if (x.kind === 'one' && y.kind === 'one') {
        const d = differs(x.node, y.node, `${at}[${k}]`);
        if (d !== undefined) return d;
      } else if (x.kind === 'range' && y.kind === 'range' && x.repeat && y.repeat && x.range.over === y.range.over && x.nodes.length === y.nodes.length) {
        // A count's body varies like any item: the first place it differs.
        const d = x.nodes.map((n, u) => differs(n, y.nodes[u]!, `${at}[each ${x.range.prop}]`)).find((found) => found !== undefined);
        if (d !== undefined) return d;
      } else if (shape(x) !== shape(y)) return `${at}[${k}]`;
    }
    return undefined;
  }
  return shape(a) === shape(b) ? undefined : `${at} (${shape(a).slice(0, 80)} vs ${shape(b).slice(0, 80)})`;
}
