/**
 * The chart's templates before they are text: the construct's output as a tree whose leaves
 * are literals or template expressions, with the two things a template adds to plain YAML:
 * guards (entries and items present only under a condition) and ranges (items or entries
 * repeated per element of a list or map prop, or items once per replica of a count). Nodes keep the base synthesis's JSON they
 * stand for, so later syntheses can be compared with them.
 */

export type Scalar = { readonly t: 'lit'; readonly v: string | number | boolean | null } | { readonly t: 'expr'; readonly e: string; readonly type: 'string' | 'number' };

/** One term of a guard: `cond` (true in a variant) is required true (variant-only) or false (absent in that variant). */
export interface GuardAtom {
  readonly prop: string;
  readonly cond: string;
  readonly negated: boolean;
}

export interface RangeSpec {
  readonly prop: string;
  /** `range <vars> := <over>` */
  readonly vars: readonly string[];
  readonly over: string;
}

export type Node = (Scalar | MapNode | SeqNode | ChoiceNode | DigestNode | TextNode) & { readonly src: unknown };

/**
 * A multi-line string (a config file, a pretty-printed JSON bootstrap) as its lines, each
 * with its line break, so that variants change lines, not the whole text. Rendered by a named
 * template; `json` when the text is a JSON document (props' text in it is JSON-escaped).
 */
export interface TextNode {
  readonly t: 'text';
  readonly lines: SeqNode & { readonly src: unknown };
  readonly json: boolean;
}

/** A text's lines, each keeping its line break. */
export const linesOf = (text: string): string[] => text.split(/(?<=\n)/);

/** A hash of another part of the output (a config digest that rolls pods): rendered by hashing that part's template. */
export interface DigestNode {
  readonly t: 'digest';
  /** Hex characters kept. */
  readonly length: number;
  /** The hashed part: the object's index and the path in it, in the base synthesis. */
  readonly target: { readonly object: number; readonly path: readonly (string | number)[] };
}

export interface MapNode {
  readonly t: 'map';
  entries: Entry[];
}

export interface SeqNode {
  readonly t: 'seq';
  items: Item[];
}

/** `if cond1 ... else if cond2 ... else otherwise`: the branches are variants of one prop. */
export interface ChoiceNode {
  readonly t: 'choice';
  readonly prop: string;
  readonly branches: { readonly cond: string; readonly node: Node }[];
  readonly otherwise: Node;
}

export type Entry =
  | { readonly kind: 'one'; guard: GuardAtom[]; readonly key: Scalar; readonly keySrc: string; value: Node }
  | { readonly kind: 'range'; guard: GuardAtom[]; readonly range: RangeSpec; readonly entries: { readonly key: Scalar; readonly value: Node }[]; readonly srcKeys: readonly string[] };

export type Item =
  | { readonly kind: 'one'; guard: GuardAtom[]; node: Node }
  | {
      readonly kind: 'range';
      guard: GuardAtom[];
      readonly range: RangeSpec;
      /** The body: one node per item of a unit. A count's body changes with variants (its nodes' src is the unit's template JSON, repeat-runs.ts). */
      readonly nodes: Node[];
      /** The items it stands for in the base synthesis. */
      readonly src: readonly unknown[];
      /** Over a count (`until`), not a list or map prop. */
      readonly repeat?: true;
    };

/** Whether the guard holds in the base synthesis (no positive term). */
export const inBase = (guard: readonly GuardAtom[]) => guard.every((a) => a.negated);

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep equality of JSON values, maps regardless of key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** The tree's shape without its source JSON: two nodes that render the same template compare equal. */
export function sameTemplate(a: Node, b: Node): boolean {
  const strip = (_k: string, v: unknown) => (_k === 'src' || _k === 'srcKeys' || _k === 'keySrc' ? undefined : v);
  return JSON.stringify(a, strip) === JSON.stringify(b, strip);
}
