/**
 * Multi-line strings as named templates (templates/_texts.tpl): each line an action whose
 * whitespace is trimmed on both sides, so the text is exactly what the actions print; guards
 * and ranges of lines are `if` and `range` around them. A value's place in the objects says
 * `{{ include "<name>" $ | toJson }}`, and a digest of it hashes the same include.
 */
import { ChartShapeUnsupportedError } from './chart-errors';
import type { Item, Node, TextNode } from './template-tree';
import { conditionOf } from './template-yaml';

export class TextTemplates {
  private readonly names = new Map<TextNode, string>();
  private readonly bodies: string[] = [];

  constructor(private readonly prefix: string) {}

  /** Whether the text is the same for every value: then it is written as a literal. */
  static isStatic(t: TextNode): boolean {
    return t.lines.items.every((i) => i.kind === 'one' && i.guard.length === 0 && i.node.t === 'lit');
  }

  /** The named template's name, defining it on first use. */
  nameOf(t: TextNode): string {
    const known = this.names.get(t);
    if (known) return known;
    const name = `${this.prefix}.text.${this.names.size}`;
    this.names.set(t, name);
    this.bodies.push(`{{- define ${JSON.stringify(name)} -}}\n${lines(t.lines.items).join('\n')}\n{{- end -}}`);
    return name;
  }

  /** The _texts.tpl file, or undefined if no text needed one. */
  file(): string | undefined {
    return this.bodies.length > 0 ? `{{- /* Multi-line values of the objects (configs, bootstraps), one named template each. */ -}}\n${this.bodies.join('\n\n')}\n` : undefined;
  }
}

const action = (body: string) => `{{- ${body} -}}`;

function lines(items: readonly Item[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    if (item.guard.length > 0) out.push(action(`if ${conditionOf(item.guard)}`));
    if (item.kind === 'one') out.push(...line(item.node));
    else {
      out.push(action(`range ${item.range.vars.join(', ')} := ${item.range.over}`));
      for (const n of item.nodes) out.push(...line(n));
      out.push(action('end'));
    }
    if (item.guard.length > 0) out.push(action('end'));
  }
  return out;
}

function line(node: Node): string[] {
  switch (node.t) {
    case 'lit':
      return [action(JSON.stringify(String(node.v)))];
    case 'expr':
      return [action(node.type === 'number' ? `${node.e} | toString` : node.e)];
    case 'choice':
      return [
        ...node.branches.flatMap((b, i) => [action(`${i === 0 ? 'if' : 'else if'} ${b.cond}`), ...line(b.node)]),
        action('else'),
        ...line(node.otherwise),
        action('end'),
      ];
    default:
      throw new ChartShapeUnsupportedError(`a line of a text cannot be a ${node.t}`);
  }
}
