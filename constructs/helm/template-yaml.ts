/**
 * A template tree as Helm template text: block YAML whose scalars are JSON-quoted literals or
 * `{{ expr | toJson }}`, with guards and ranges as `{{- if }}` / `{{- range }}` lines (the
 * leading `-` eats the line break before them, so they leave no blank lines behind).
 */
import type { DigestNode, Entry, GuardAtom, Item, Node, Scalar, TextNode } from './template-tree';

type Line = string;

/** How nodes that stand for other template text are written: a digest's hash, a text's named template. */
export interface Resolvers {
  digest(d: DigestNode): string;
  text(t: TextNode): string;
}

let resolvers: Resolvers;

export function documentText(node: Node, guard: readonly GuardAtom[], using: Resolvers): string {
  resolvers = using;
  const lines: Line[] = [];
  open(lines, 0, guard);
  value(lines, node, 0);
  close(lines, 0, guard);
  return `${lines.join('\n')}\n`;
}

export function conditionOf(guard: readonly GuardAtom[]): string {
  const terms = guard.map((a) => (a.negated ? `(not ${a.cond})` : a.cond));
  return terms.length === 1 ? terms[0]! : `and ${terms.join(' ')}`;
}

const pad = (indent: number) => ' '.repeat(indent);
const sameGuard = (a: readonly GuardAtom[], b: readonly GuardAtom[]) => conditionOf(a) === conditionOf(b);

function open(lines: Line[], indent: number, guard: readonly GuardAtom[]): void {
  if (guard.length > 0) lines.push(`${pad(indent)}{{- if ${conditionOf(guard)} }}`);
}

function close(lines: Line[], indent: number, guard: readonly GuardAtom[]): void {
  if (guard.length > 0) lines.push(`${pad(indent)}{{- end }}`);
}

const PLAIN_KEY = /^[A-Za-z][A-Za-z0-9_./-]*$/;
const YAML_WORDS = /^(y|n|yes|no|on|off|true|false|null)$/i;

function keyText(s: Scalar): string {
  return s.t === 'lit' && typeof s.v === 'string' && PLAIN_KEY.test(s.v) && !YAML_WORDS.test(s.v) ? s.v : scalarText(s);
}

function scalarText(s: Scalar): string {
  if (s.t === 'lit') return JSON.stringify(s.v);
  return s.type === 'number' ? `{{ ${s.e} }}` : `{{ ${s.e} | toJson }}`;
}

const isScalar = (n: Node): n is Node & (Scalar | DigestNode | TextNode) => n.t === 'lit' || n.t === 'expr' || n.t === 'digest' || n.t === 'text';
const inlineChoice = (n: Node): boolean => n.t === 'choice' && [...n.branches.map((b) => b.node), n.otherwise].every((b) => isScalar(b) || inlineChoice(b));

/** A scalar or a choice of scalars, on one line. */
function inline(n: Node): string {
  if (n.t === 'digest') return `{{ ${resolvers.digest(n)} | toJson }}`;
  if (n.t === 'text') return `{{ ${resolvers.text(n)} | toJson }}`;
  if (isScalar(n)) return scalarText(n);
  if (n.t !== 'choice') throw new Error('not inline');
  const branches = n.branches.map((b, i) => `{{ ${i === 0 ? 'if' : 'else if'} ${b.cond} }}${inline(b.node)}`).join('');
  return `${branches}{{ else }}${inline(n.otherwise)}{{ end }}`;
}

/** `prefix` is `key:` or `-`: what the value follows. */
function valueAfter(lines: Line[], prefix: string, node: Node, indent: number): void {
  if (isScalar(node) || inlineChoice(node)) {
    lines.push(`${pad(indent)}${prefix} ${inline(node)}`);
    return;
  }
  if (node.t === 'choice') {
    node.branches.forEach((b, i) => {
      lines.push(`${pad(indent)}{{- ${i === 0 ? 'if' : 'else if'} ${b.cond} }}`);
      valueAfter(lines, prefix, b.node, indent);
    });
    lines.push(`${pad(indent)}{{- else }}`);
    valueAfter(lines, prefix, node.otherwise, indent);
    lines.push(`${pad(indent)}{{- end }}`);
    return;
  }
  if (node.t === 'map' && node.entries.length === 0) return void lines.push(`${pad(indent)}${prefix} {}`);
  if (node.t === 'seq' && node.items.length === 0) return void lines.push(`${pad(indent)}${prefix} []`);
  lines.push(`${pad(indent)}${prefix}`);
  // Everything in it conditional: when nothing is rendered it must still be [] or {}, not null.
  const present = presence(node.t === 'map' ? node.entries : node.items);
  if (present !== undefined) lines.push(`${pad(indent)}{{- if not (or ${present.join(' ')}) }} ${node.t === 'map' ? '{}' : '[]'}{{- end }}`);
  value(lines, node, indent + 2);
}

/** Conditions under which each entry or item renders; undefined when one always does. */
function presence(list: readonly (Entry | Item)[]): string[] | undefined {
  const conds: string[] = [];
  for (const x of list) {
    const nonEmpty = x.kind === 'range' ? `(not (empty (${x.range.over})))` : undefined;
    if (x.guard.length === 0 && nonEmpty === undefined) return undefined;
    const guard = x.guard.length > 0 ? `(${conditionOf(x.guard)})` : undefined;
    conds.push(guard && nonEmpty ? `(and ${guard} ${nonEmpty})` : (guard ?? nonEmpty)!);
  }
  return conds;
}

function value(lines: Line[], node: Node, indent: number): void {
  if (node.t === 'map') entries(lines, node.entries, indent);
  else if (node.t === 'seq') items(lines, node.items, indent);
  else throw new Error('a document is a map');
}

function entries(lines: Line[], list: readonly Entry[], indent: number): void {
  grouped(list, (group, guard) => {
    open(lines, indent, guard);
    for (const e of group) {
      if (e.kind === 'one') {
        valueAfter(lines, `${keyText(e.key)}:`, e.value, indent);
        continue;
      }
      lines.push(`${pad(indent)}{{- range ${e.range.vars.join(', ')} := ${e.range.over} }}`);
      for (const inner of e.entries) valueAfter(lines, `${keyText(inner.key)}:`, inner.value, indent);
      lines.push(`${pad(indent)}{{- end }}`);
    }
    close(lines, indent, guard);
  });
}

function items(lines: Line[], list: readonly Item[], indent: number): void {
  grouped(list, (group, guard) => {
    open(lines, indent, guard);
    for (const item of group) {
      if (item.kind === 'one') {
        valueAfter(lines, '-', item.node, indent);
        continue;
      }
      lines.push(`${pad(indent)}{{- range ${item.range.vars.join(', ')} := ${item.range.over} }}`);
      for (const n of item.nodes) valueAfter(lines, '-', n, indent);
      lines.push(`${pad(indent)}{{- end }}`);
    }
    close(lines, indent, guard);
  });
}

/** Runs of neighbours under the same guard share one `if`. */
function grouped<T extends { guard: GuardAtom[] }>(list: readonly T[], each: (group: T[], guard: readonly GuardAtom[]) => void): void {
  let group: T[] = [];
  for (const x of list) {
    if (group.length > 0 && !sameGuard(group[0]!.guard, x.guard)) {
      each(group, group[0]!.guard);
      group = [];
    }
    group.push(x);
  }
  if (group.length > 0) each(group, group[0]!.guard);
}
