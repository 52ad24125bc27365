/**
 * Constructs roll pods on a config change with a hash of the config in a pod annotation
 * (`sha256(text).slice(0, 16)`). No sentinel survives a hash, so such a value is recognised
 * instead: a hex string equal to the start of the sha256 of another string in the output,
 * or of the JSON of a map in it (keys in sorted order, so Helm's toRawJson writes the same text).
 * The template hashes that part's own template: `sha256sum | trunc`.
 */
import { createHash } from 'node:crypto';
import { ChartShapeUnsupportedError } from './chart-errors';
import type { DigestNode, Entry, Node, TextNode } from './template-tree';
import { isPlainObject } from './template-tree';

type Path = (string | number)[];

/** Where each digest is (object index and path), and what it hashes. */
export function findDigests(objects: readonly unknown[]): { at: { object: number; path: Path }; digest: Omit<DigestNode, 't'> & { t: 'digest' } }[] {
  const hashes = new Map<string, { object: number; path: Path }>();
  const hexes: { object: number; path: Path; value: string }[] = [];
  const visit = (object: number, v: unknown, path: Path) => {
    if (typeof v === 'string') {
      hashes.set(createHash('sha256').update(v).digest('hex'), { object, path });
      if (/^[0-9a-f]{12,64}$/.test(v)) hexes.push({ object, path, value: v });
    } else if (Array.isArray(v)) v.forEach((x, i) => visit(object, x, [...path, i]));
    else if (isPlainObject(v)) {
      const keys = Object.keys(v);
      if (keys.length > 0 && keys.every((k, i) => i === 0 || keys[i - 1]! < k) && Object.values(v).every((x) => typeof x === 'string')) {
        hashes.set(createHash('sha256').update(JSON.stringify(v)).digest('hex'), { object, path: [...path, '#json'] });
      }
      for (const k of keys) visit(object, v[k], [...path, k]);
    }
  };
  objects.forEach((o, i) => visit(i, o, []));
  const found: ReturnType<typeof findDigests> = [];
  for (const hex of hexes) {
    for (const [full, target] of hashes) {
      if (full.startsWith(hex.value) && !(target.object === hex.object && target.path.join('/') === hex.path.join('/'))) {
        found.push({ at: { object: hex.object, path: hex.path }, digest: { t: 'digest', length: hex.value.length, target } });
        break;
      }
    }
  }
  return found;
}

/** The node at a base path of the final tree (entries by key, list items by their place in the base). */
export function nodeAt(root: Node, path: readonly (string | number)[]): Node {
  let node = root;
  for (const step of path) {
    if (step === '#json') return node;
    if (node.t === 'map') {
      const entries = node.entries.filter((e): e is Extract<Entry, { kind: 'one' }> => e.kind === 'one' && e.keySrc === step);
      if (entries.length !== 1) throw new ChartShapeUnsupportedError(`a digest hashes ${path.join('.')}, which varies in shape`);
      node = entries[0]!.value;
    } else if (node.t === 'seq') {
      const base = node.items.filter((i) => i.guard.every((a) => a.negated));
      const item = base[step as number];
      if (!item || item.kind !== 'one' || base.slice(0, step as number).some((i) => i.kind !== 'one')) throw new ChartShapeUnsupportedError(`a digest hashes ${path.join('.')}, which is inside a range`);
      node = item.node;
    } else throw new ChartShapeUnsupportedError(`a digest hashes ${path.join('.')}, which varies in shape`);
  }
  return node;
}

/** Replaces the node at `path` of `root` (a base path) by `replacement`. */
export function replaceAt(root: Node, path: readonly (string | number)[], replacement: Node): void {
  const parent = nodeAt(root, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (parent.t === 'map') {
    const entry = parent.entries.find((e) => e.kind === 'one' && e.keySrc === last) as Extract<Entry, { kind: 'one' }>;
    entry.value = replacement;
  } else if (parent.t === 'seq') {
    const item = parent.items[last as number]!;
    if (item.kind === 'one') item.node = replacement;
  }
}

const goString = (s: string) => JSON.stringify(s);

/** A template expression rendering the text the digest hashes, as the chart renders it. */
export function hashedExpr(node: Node, asJson: boolean, text: (t: TextNode) => string): string {
  if (asJson) {
    if (node.t !== 'map' || node.entries.some((e) => e.kind !== 'one' || e.guard.length > 0)) throw new ChartShapeUnsupportedError('a digest hashes a map whose entries vary');
    const pairs = node.entries.map((e) => (e.kind === 'one' && e.key.t === 'lit' ? `${goString(String(e.key.v))} ${hashedExpr(e.value, false, text)}` : ''));
    // toRawJson: toJson writes & < > as \u00XX, which JSON.stringify does not (a hash sees the bytes).
    return `(toRawJson (dict ${pairs.join(' ')}))`;
  }
  switch (node.t) {
    case 'lit':
      return goString(String(node.v));
    case 'expr':
      return node.type === 'number' ? `(${node.e} | toString)` : `(${node.e})`;
    case 'text':
      return `(${text(node)})`;
    case 'choice':
      return node.branches.reduceRight((otherwise, b) => `(ternary ${hashedExpr(b.node, false, text)} ${otherwise} ${b.cond})`, hashedExpr(node.otherwise, false, text));
    default:
      throw new ChartShapeUnsupportedError(`a digest hashes a ${node.t}, not text`);
  }
}
