/**
 * The templates/ of a chart: the derived template tree (template-derivation.ts), checked for
 * sentinels left behind, written as one template file per object (objects repeated per replica
 * in one file), with multi-line values as named templates (_texts.tpl) and digests hashing them.
 */
import { ChartShapeUnsupportedError } from './chart-errors';
import type { ChartSource } from './chart-source';
import { hashedExpr, nodeAt } from './derived-digests';
import type { PropPlan } from './prop-plans';
import type { PropDoc } from './prop-docs';
import { deriveTemplateTree } from './template-derivation';
import { isPlainObject, type DigestNode, type Node, type TextNode } from './template-tree';
import { TextTemplates } from './text-templates';
import { documentText, repeatedDocumentsText } from './template-yaml';
import { hasMark, ordinalNamed } from './repeat-runs';

/** File name (under templates/) to text. */
export function chartTemplates(source: ChartSource, docs: Readonly<Record<string, PropDoc>>, seed: number): Record<string, string> {
  const { plans, root } = deriveTemplateTree(source, docs, seed);
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
    const file = (src: unknown) => `${String(i).padStart(2, '0')}-${fileSlug(src, plans)}.yaml`;
    if (item.kind === 'one') files[file(item.node.src)] = documentText(item.node, item.guard, resolvers);
    else if (item.repeat) files[file(item.nodes[0]!.src)] = repeatedDocumentsText(item.range, item.nodes, item.guard, resolvers);
    else throw new ChartShapeUnsupportedError(`objects repeat per element of ${item.range.prop}`);
  });
  const defined = texts.file();
  if (defined) files['_texts.tpl'] = defined;
  return files;
}

const SENTINEL = /kgs\dx(\d+)/;

/**
 * A sentinel left as a literal is a prop the construct transformed past recognition (case,
 * hashing, ...); a replica's ordinal left as one is a number a template could not take apart.
 */
function leaks(node: Node, plans: readonly PropPlan[]): void {
  const visit = (n: unknown): void => {
    if (typeof n === 'number' && hasMark(String(n))) throw new ChartShapeUnsupportedError(`a number that grows with the ordinal of a repeat stays a literal`);
    if (typeof n === 'string') {
      const m = SENTINEL.exec(n);
      if (m) throw new ChartShapeUnsupportedError(`${plans[Number(m[1])]?.name ?? 'a prop'} reaches the output transformed, as "${n.slice(0, 80)}"`);
      if (hasMark(n)) throw new ChartShapeUnsupportedError(`the ordinal of a repeat reaches the output in a form a template cannot rebuild, as "${ordinalNamed(n).slice(0, 80)}"`);
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
  const name = ordinalNamed(o.metadata?.name ?? '').replace(/kgs\dx(\d+)z/g, (_, n: string) => plans[Number(n)]?.name ?? 'value');
  return `${o.kind ?? 'object'}-${name}`.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
}
