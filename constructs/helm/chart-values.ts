/**
 * values.yaml and values.schema.json, both from the construct's own props: the schema it
 * validates with (minus its own wording, plus each prop's docs as `description`), and the
 * docs of its props interface. A prop with a literal `@default` is written into values.yaml
 * and made required in the schema (so `--set x=null` is refused rather than rendering an
 * empty value); lists and maps without one start empty; required props are left commented
 * out, so the schema names each one a user forgot. A section (an optional object with required
 * fields, prop-plans.ts) is left commented out whole, defaults and all: giving it turns its
 * feature on, and its schema then names each field it needs.
 */
import { stringify } from 'yaml';
import { literalDefault, type PropDoc } from './prop-docs';
import { isSection, type JsonSchema } from './prop-plans';

const OWN_WORDING = new Set(['problems', 'errorCode']);

/**
 * Props never written into values.yaml, whatever their default: those that exclude others
 * (a PostgreSQL Secret's key means nothing without the Secret), which a user gives or not.
 */
export type Unwritten = ReadonlySet<string>;
/** Defaults given by the chart source, by dotted prop path. */
export type Defaults = Readonly<Record<string, unknown>>;

/** What values.yaml holds for a prop; undefined when it is left out (required, optional without a default, or unwritten). */
function written(schema: JsonSchema, doc: PropDoc | undefined, path = '', unwritten: Unwritten = new Set(), defaults: Defaults = {}): unknown {
  if (unwritten.has(path)) return undefined;
  const literal = defaults[path] ?? literalDefault(doc?.defaultText);
  if (literal !== undefined) return literal;
  if (schema.type === 'array') return [];
  if (schema.type === 'object' && !schema.properties) return {};
  if (schema.type === 'object' && schema.properties) {
    const inner: Record<string, unknown> = {};
    for (const [k, sub] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
      if (isSection(schema, k)) continue;
      const v = written(sub, doc?.children[k], path ? `${path}.${k}` : k, unwritten, defaults);
      if (v !== undefined) inner[k] = v;
    }
    // Written even when empty, so templates can read its fields.
    return inner;
  }
  return undefined;
}

export function valuesSchema(schema: JsonSchema, docs: Readonly<Record<string, PropDoc>>, unwritten: Unwritten = new Set(), defaults: Defaults = {}): JsonSchema {
  const walk = (s: JsonSchema, docsHere: Readonly<Record<string, PropDoc>>, path = '', inSection = false): JsonSchema => {
    const at = (name: string) => (path ? `${path}.${name}` : name);
    const out: JsonSchema = {};
    for (const [k, v] of Object.entries(s)) {
      if (OWN_WORDING.has(k)) continue;
      if (k === 'properties') {
        out.properties = Object.fromEntries(
          Object.entries(v as Record<string, JsonSchema>).map(([name, sub]) => {
            const doc = docsHere[name];
            const cleaned = walk(sub, doc?.children ?? {}, at(name), inSection || isSection(s, name));
            const description = describe(doc);
            const literal = unwritten.has(at(name)) || inSection ? undefined : (defaults[at(name)] ?? literalDefault(doc?.defaultText));
            return [name, { ...(description ? { description } : {}), ...(literal !== undefined ? { default: literal } : {}), ...cleaned }];
          }),
        );
      } else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) {
        out[k] = walk(v as JsonSchema, {});
      } else out[k] = v;
    }
    if (s.properties) {
      const always = inSection ? [] : Object.entries(s.properties as Record<string, JsonSchema>).filter(([name, sub]) => !isSection(s, name) && written(sub, docsHere[name], at(name), unwritten, defaults) !== undefined).map(([name]) => name);
      const required = [...new Set([...((s.required as string[] | undefined) ?? []), ...always])];
      if (required.length > 0) out.required = required;
    }
    return out;
  };
  return walk(schema, docs);
}

function describe(doc: PropDoc | undefined): string {
  if (!doc) return '';
  return [doc.text, doc.defaultText ? `Default: ${doc.defaultText}.` : ''].filter(Boolean).join(' ');
}

/** values.yaml: every prop, in the schema's order, under its docs. */
export function valuesYaml(schema: JsonSchema, docs: Readonly<Record<string, PropDoc>>, title: string, unwritten: Unwritten = new Set(), defaults: Defaults = {}): string {
  const lines = [`# Values of the ${title} chart, one per prop of the construct it is generated from.`, '# Props marked required have no default: give them with -f or --set.', ''];
  const walk = (s: JsonSchema, docsHere: Readonly<Record<string, PropDoc>>, indent: string, commented: boolean, path: string) => {
    const required = new Set<string>((s.required as string[] | undefined) ?? []);
    for (const [name, sub] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) {
      const doc = docsHere[name];
      for (const line of wrap(doc?.text ?? '', 94 - indent.length)) lines.push(`${indent}# ${line}`);
      if (doc?.defaultText) for (const line of wrap(`Default: ${doc.defaultText}.`, 94 - indent.length)) lines.push(`${indent}# ${line}`);
      if (required.has(name)) lines.push(`${indent}# Required.`);
      const value = isSection(s, name) ? undefined : written(sub, doc, path ? `${path}.${name}` : name, unwritten, defaults);
      const hide = commented || value === undefined;
      const prefix = `${indent}${hide ? '# ' : ''}`;
      if (sub.type === 'object' && sub.properties) {
        lines.push(`${prefix}${name}:${!hide && Object.keys(value as object).length === 0 ? ' {}' : ''}`);
        walk(sub, doc?.children ?? {}, `${indent}  `, hide, path ? `${path}.${name}` : name);
      } else if (value === undefined) {
        lines.push(`${prefix}${name}:`);
      } else {
        lines.push(`${prefix}${name}: ${stringify(value, { flow: true }).trim()}`);
      }
      if (indent === '') lines.push('');
    }
  };
  walk(schema, docs, '', false, '');
  return `${lines.join('\n').trimEnd()}\n`;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}
