/**
 * A small JSON Schema (draft 2020-12) checker for tests: exactly the keywords the policy schema
 * uses, and it throws on any other keyword so that it can never pass a schema it does not
 * understand. Not a general validator (see the report on ajv).
 */
type Schema = boolean | { readonly [k: string]: unknown };

const ANNOTATIONS = new Set(['$schema', '$id', '$defs', 'title', 'description', 'examples', 'default', '$comment']);
const KNOWN = new Set([
  ...ANNOTATIONS,
  '$ref',
  'type',
  'const',
  'enum',
  'properties',
  'patternProperties',
  'additionalProperties',
  'required',
  'minProperties',
  'items',
  'minItems',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'allOf',
  'oneOf',
  'if',
  'then',
  'else',
  'dependentSchemas',
]);

export interface SchemaViolation {
  readonly path: string;
  readonly message: string;
}

export function checkAgainstSchema(root: Schema, value: unknown): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  check(root, root, value, '', out);
  return out;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, type: string): boolean {
  const t = typeOf(v);
  return t === type || (type === 'number' && t === 'integer');
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeOf(v) === 'object';
}

function check(root: Schema, schema: Schema, value: unknown, path: string, out: SchemaViolation[]): void {
  if (schema === true) return;
  if (schema === false) {
    out.push({ path, message: 'no value is allowed here' });
    return;
  }
  for (const keyword of Object.keys(schema)) {
    if (!KNOWN.has(keyword)) throw new Error(`json-schema-check does not implement "${keyword}" (at ${path || '/'})`);
  }
  const s = schema as Record<string, unknown>;
  const fail = (message: string) => out.push({ path, message });

  if (typeof s.$ref === 'string') {
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref);
    if (!m) throw new Error(`unsupported $ref ${s.$ref}`);
    const target = ((root as Record<string, unknown>).$defs as Record<string, Schema>)[m[1]!];
    if (target === undefined) throw new Error(`dangling $ref ${s.$ref}`);
    check(root, target, value, path, out);
  }
  if (typeof s.type === 'string' && !matchesType(value, s.type)) {
    fail(`must be ${s.type}, is ${typeOf(value)}`);
    return;
  }
  if ('const' in s && !deepEqual(value, s.const)) fail(`must be ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, value))) fail(`must be one of ${JSON.stringify(s.enum)}`);

  if (typeof value === 'string') {
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value)) fail(`does not match ${s.pattern}`);
    if (typeof s.minLength === 'number' && [...value].length < s.minLength) fail(`shorter than ${s.minLength}`);
    if (typeof s.maxLength === 'number' && [...value].length > s.maxLength) fail(`longer than ${s.maxLength}`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) fail(`less than ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) fail(`more than ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) fail(`fewer than ${s.minItems} items`);
    if (s.items !== undefined) value.forEach((item, i) => check(root, s.items as Schema, item, `${path}/${i}`, out));
  }
  if (isObject(value)) {
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    const patterns = Object.entries((s.patternProperties ?? {}) as Record<string, Schema>).map(([p, sub]) => [new RegExp(p, 'u'), sub] as const);
    if (typeof s.minProperties === 'number' && Object.keys(value).length < s.minProperties) fail(`fewer than ${s.minProperties} properties`);
    for (const name of (s.required ?? []) as string[]) if (!(name in value)) fail(`missing required property "${name}"`);
    for (const [name, v] of Object.entries(value)) {
      let evaluated = false;
      if (name in properties) {
        evaluated = true;
        check(root, properties[name]!, v, `${path}/${name}`, out);
      }
      for (const [re, sub] of patterns) {
        if (re.test(name)) {
          evaluated = true;
          check(root, sub, v, `${path}/${name}`, out);
        }
      }
      if (!evaluated && s.additionalProperties !== undefined) check(root, s.additionalProperties as Schema, v, `${path}/${name}`, out);
    }
    for (const [name, sub] of Object.entries((s.dependentSchemas ?? {}) as Record<string, Schema>)) {
      if (name in value) check(root, sub, value, path, out);
    }
  }
  for (const sub of (s.allOf ?? []) as Schema[]) check(root, sub, value, path, out);
  if (Array.isArray(s.oneOf)) {
    const passing = (s.oneOf as Schema[]).filter((sub) => checkAgainstSub(root, sub, value));
    if (passing.length !== 1) fail(`must match exactly one of ${s.oneOf.length} alternatives, matches ${passing.length}`);
  }
  if (s.if !== undefined) {
    if (checkAgainstSub(root, s.if as Schema, value)) {
      if (s.then !== undefined) check(root, s.then as Schema, value, path, out);
    } else if (s.else !== undefined) {
      check(root, s.else as Schema, value, path, out);
    }
  }
}

function checkAgainstSub(root: Schema, schema: Schema, value: unknown): boolean {
  const out: SchemaViolation[] = [];
  check(root, schema, value, '', out);
  return out.length === 0;
}
