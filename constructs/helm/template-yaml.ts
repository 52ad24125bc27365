/**
 * A template tree as Helm template text: block YAML whose scalars are JSON-quoted literals or
 * `{{ expr | toJson }}`, with guards and ranges as `{{- if }}` / `{{- range }}` lines (the
 * leading `-` eats the line break before them, so they leave no blank lines behind). Objects
 * repeated per replica share one file, a range of documents.
 */
import { ChartShapeUnsupportedError } from './chart-errors';
import type { DigestNode, Entry, GuardAtom, Item, Node, RangeSpec, Scalar, TextNode } from './template-tree';

type Line = string;

/** How nodes that stand for other template text are written: a digest's hash, a text's named template. */
export interface Resolvers {
  digest(d: DigestNode): string;
  text(t: TextNode): string;
}

export function documentText(node: Node, guard: readonly GuardAtom[], resolvers: Resolvers): string {
  const lines: Line[] = [];
  const writer = new Writer(lines, resolvers);
  open(lines, 0, guard);
  writer.value(node, 0);
  close(lines, 0, guard);
  return `${lines.join('\n')}\n`;
}

/** Documents repeated once per replica of a count: a `range` around them, each opened by `---`. */
export function repeatedDocumentsText(range: RangeSpec, nodes: readonly Node[], guard: readonly GuardAtom[], resolvers: Resolvers): string {
  const lines: Line[] = [];
  const writer = new Writer(lines, resolvers);
  open(lines, 0, guard);
  lines.push(`{{- range ${range.vars.join(', ')} := ${range.over} }}`);
  for (const node of nodes) {
    lines.push('---');
    writer.value(node, 0);
  }
  lines.push('{{- end }}');
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

/** Writes one document's lines; digests and texts are written as the resolvers say. */
class Writer {
  constructor(
    private readonly lines: Line[],
    private readonly resolvers: Resolvers,
  ) {}

  /** A scalar or a choice of scalars, on one line. */
  inline(n: Node): string {
    if (n.t === 'digest') return `{{ ${this.resolvers.digest(n)} | toJson }}`;
    if (n.t === 'text') return `{{ ${this.resolvers.text(n)} | toJson }}`;
    if (isScalar(n)) return scalarText(n);
    if (n.t !== 'choice') throw new ChartShapeUnsupportedError('a map or list cannot be written inline');
    const branches = n.branches.map((b, i) => `{{ ${i === 0 ? 'if' : 'else if'} ${b.cond} }}${this.inline(b.node)}`).join('');
    return `${branches}{{ else }}${this.inline(n.otherwise)}{{ end }}`;
  }

  /** `prefix` is `key:` or `-`: what the value follows. */
  valueAfter(prefix: string, node: Node, indent: number): void {
    const lines = this.lines;
    if (isScalar(node) || inlineChoice(node)) {
      lines.push(`${pad(indent)}${prefix} ${this.inline(node)}`);
      return;
    }
    if (node.t === 'choice') {
      node.branches.forEach((b, i) => {
        lines.push(`${pad(indent)}{{- ${i === 0 ? 'if' : 'else if'} ${b.cond} }}`);
        this.valueAfter(prefix, b.node, indent);
      });
      lines.push(`${pad(indent)}{{- else }}`);
      this.valueAfter(prefix, node.otherwise, indent);
      lines.push(`${pad(indent)}{{- end }}`);
      return;
    }
    if (node.t === 'map' && node.entries.length === 0) return void lines.push(`${pad(indent)}${prefix} {}`);
    if (node.t === 'seq' && node.items.length === 0) return void lines.push(`${pad(indent)}${prefix} []`);
    lines.push(`${pad(indent)}${prefix}`);
    // Everything in it conditional: when nothing is rendered it must still be [] or {}, not null.
    const present = presence(node.t === 'map' ? node.entries : node.items);
    if (present !== undefined) lines.push(`${pad(indent)}{{- if not (or ${present.join(' ')}) }} ${node.t === 'map' ? '{}' : '[]'}{{- end }}`);
    this.value(node, indent + 2);
  }

  value(node: Node, indent: number): void {
    if (node.t === 'map') this.entries(node.entries, indent);
    else if (node.t === 'seq') this.items(node.items, indent);
    else throw new ChartShapeUnsupportedError('a document must be a map or a list');
  }

  entries(list: readonly Entry[], indent: number): void {
    const lines = this.lines;
    grouped(list, (group, guard) => {
      open(lines, indent, guard);
      for (const e of group) {
        if (e.kind === 'one') {
          this.valueAfter(`${keyText(e.key)}:`, e.value, indent);
          continue;
        }
        lines.push(`${pad(indent)}{{- range ${e.range.vars.join(', ')} := ${e.range.over} }}`);
        for (const inner of e.entries) this.valueAfter(`${keyText(inner.key)}:`, inner.value, indent);
        lines.push(`${pad(indent)}{{- end }}`);
      }
      close(lines, indent, guard);
    });
  }

  items(list: readonly Item[], indent: number): void {
    const lines = this.lines;
    grouped(list, (group, guard) => {
      open(lines, indent, guard);
      for (const item of group) {
        if (item.kind === 'one') {
          this.valueAfter('-', item.node, indent);
          continue;
        }
        lines.push(`${pad(indent)}{{- range ${item.range.vars.join(', ')} := ${item.range.over} }}`);
        for (const n of item.nodes) this.valueAfter('-', n, indent);
        lines.push(`${pad(indent)}{{- end }}`);
      }
      close(lines, indent, guard);
    });
  }
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
