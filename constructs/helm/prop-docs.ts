/**
 * A construct's props are documented where they are declared: the JSDoc of its props
 * interface, `@default` included. Compiled JavaScript keeps no comments, so the chart's
 * values.yaml and values.schema.json read them from the construct's TypeScript source (shipped
 * beside dist/), rather than from a second copy that would drift.
 *
 * A small reader, not a TypeScript parser: members of an `interface` block, each with the
 * `/** ... *\/` before it; an inline object type's members become the member's children, and
 * an interface named in the type (`HubResources & { ... }`) lends its members too.
 */
import { ChartDocsError } from './chart-errors';

export interface PropDoc {
  /** The text, without `@default`. */
  readonly text: string;
  /** What `@default` says, as written; undefined without one. */
  readonly defaultText?: string;
  readonly children: Readonly<Record<string, PropDoc>>;
}

/** The docs of each member of `interfaceName`, by name. */
export function propDocs(source: string, interfaceName: string): Record<string, PropDoc> {
  const body = interfaceBody(source, interfaceName);
  if (body === undefined) throw new ChartDocsError(`no interface ${interfaceName} in the construct's source`);
  return members(source, body);
}

function interfaceBody(source: string, name: string): string | undefined {
  const start = new RegExp(`interface\\s+${name}\\b[^{]*\\{`).exec(source);
  if (!start) return undefined;
  const open = start.index + start[0].length - 1;
  return source.slice(open + 1, matchingBrace(source, open));
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  throw new ChartDocsError('unbalanced braces in the construct\'s source');
}

function members(source: string, body: string): Record<string, PropDoc> {
  const out: Record<string, PropDoc> = {};
  let i = 0;
  let pendingDoc = '';
  while (i < body.length) {
    const rest = body.slice(i);
    const ws = /^\s+/.exec(rest);
    if (ws) {
      i += ws[0].length;
      continue;
    }
    if (rest.startsWith('/**')) {
      const end = body.indexOf('*/', i);
      pendingDoc = body.slice(i + 3, end);
      i = end + 2;
      continue;
    }
    if (rest.startsWith('//')) {
      i = body.indexOf('\n', i) === -1 ? body.length : body.indexOf('\n', i);
      continue;
    }
    const member = /^(?:readonly\s+)?([A-Za-z_$][\w$]*)\??\s*:/.exec(rest);
    if (!member) throw new ChartDocsError(`cannot read the props interface near "${rest.slice(0, 40)}"`);
    i += member[0].length;
    // The type runs to the `;` at depth 0.
    let depth = 0;
    let j = i;
    for (; j < body.length; j++) {
      const c = body[j];
      if (c === '{' || c === '(' || c === '[' || c === '<') depth++;
      else if (c === '}' || c === ')' || c === ']' || c === '>') depth--;
      else if (c === ';' && depth === 0) break;
    }
    out[member[1]!] = docOf(pendingDoc, childrenOf(source, body.slice(i, j)));
    pendingDoc = '';
    i = j + 1;
  }
  return out;
}

function childrenOf(source: string, type: string): Record<string, PropDoc> {
  const children: Record<string, PropDoc> = {};
  for (const named of type.match(/\b[A-Z][A-Za-z0-9]*\b/g) ?? []) {
    const body = interfaceBody(source, named);
    if (body !== undefined) Object.assign(children, members(source, body));
  }
  const open = type.indexOf('{');
  if (open !== -1 && !/^\s*Readonly<Record/.test(type)) Object.assign(children, members(source, type.slice(open + 1, matchingBrace(type, open))));
  return children;
}

function docOf(raw: string, children: Record<string, PropDoc>): PropDoc {
  const text = raw
    .split('\n')
    .map((line) => line.replace(/^\s*\*?\s?/, '').trimEnd())
    .join('\n')
    .trim();
  const at = text.search(/@default\b/);
  if (at === -1) return { text: squash(text), children };
  return { text: squash(text.slice(0, at)), defaultText: squash(text.slice(at + '@default'.length)), children };
}

const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The value `@default` names when it is a literal ('text', 42, true, [], {}); undefined when it describes instead. */
export function literalDefault(defaultText: string | undefined): unknown {
  if (defaultText === undefined) return undefined;
  const t = defaultText.trim();
  if (/^'[^']*'$/.test(t)) return t.slice(1, -1);
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  if (/^[[{]/.test(t)) {
    // A JavaScript literal of strings and numbers: { 'kubernetes.io/metadata.name': 'monitoring' }
    try {
      return JSON.parse(t.replace(/'([^'\\]*)'/g, '"$1"').replace(/([{,]\s*)([A-Za-z_$][\w$]*)\s*:/g, '$1"$2":').replace(/,\s*([}\]])/g, '$1'));
    } catch {
      return undefined;
    }
  }
  return undefined;
}
