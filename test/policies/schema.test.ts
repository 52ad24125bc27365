/**
 * The published policy schema: generated from the decoders, documented, and judged by ajv (the
 * validator kubegate uses everywhere) to accept the examples and refuse what the files refuse.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parseAllDocuments } from 'yaml';
import { policyJsonSchema } from '../../policies/src';

/** What ajv says is wrong with `value`: each violation with a JSON pointer to the value at fault. */
function checkAgainstSchema(schema: object, value: unknown): Array<{ path: string; keyword: string; message: string }> {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    const params = e.params as { additionalProperty?: string; missingProperty?: string };
    const below = params.additionalProperty ?? params.missingProperty;
    return { path: below === undefined ? e.instancePath : `${e.instancePath}/${below}`, keyword: e.keyword, message: e.message ?? '' };
  });
}

const ROOT = path.join(__dirname, '../..');
const SCHEMA_FILE = path.join(ROOT, 'policies/schema/v1alpha1.schema.json');
const EXAMPLES = path.join(ROOT, 'policies/examples');
const generated = `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;

if (process.env.KUBEGATE_UPDATE_GOLDEN === '1') fs.writeFileSync(SCHEMA_FILE, generated);
const published = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;

type Json = { [k: string]: unknown };
/** Every subschema, with a JSON pointer to it. */
function* subschemas(node: unknown, pointer = '#'): Generator<[string, Json]> {
  if (typeof node !== 'object' || node === null) return;
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* subschemas(item, `${pointer}/${i}`);
    return;
  }
  const schema = node as Json;
  yield [pointer, schema];
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'examples' || k === 'const' || k === 'enum' || k === 'default' || k === 'required') continue;
    yield* subschemas(v, `${pointer}/${k}`);
  }
}

function documentsOf(file: string): unknown[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown);
}

describe('policies/schema/v1alpha1.schema.json', () => {
  test('is the schema generated from the validator (regenerate: KUBEGATE_UPDATE_GOLDEN=1 npx jest test/policies/schema)', () => {
    expect(fs.readFileSync(SCHEMA_FILE, 'utf8')).toBe(generated);
  });

  test('declares draft 2020-12 and every kind', () => {
    expect(published.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect((published.properties as Json).kind).toMatchObject({ enum: ['AccessPolicy', 'ClusterSettings', 'BreakGlassPolicy'] });
  });

  test('every object schema refuses unknown properties', () => {
    const open = [...subschemas(published)].filter(([, s]) => s.type === 'object' && s.additionalProperties !== false).map(([p]) => p);
    expect(open).toEqual([]);
  });

  test('every property has a description with an example, and examples', () => {
    const undocumented: string[] = [];
    for (const [pointer, schema] of subschemas(published)) {
      if (pointer.includes('/if') || pointer.includes('/then') || pointer.includes('/else') || pointer.includes('/dependentSchemas')) continue;
      for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
        if (typeof property.description !== 'string' || !/ Example: \S/.test(property.description) || !Array.isArray(property.examples)) {
          undocumented.push(`${pointer}/properties/${name}`);
        }
      }
    }
    expect(undocumented).toEqual([]);
  });

  test('every named definition has a description', () => {
    const defs = published.$defs as Record<string, Json>;
    expect(Object.entries(defs).filter(([, s]) => typeof s.description !== 'string').map(([n]) => n)).toEqual([]);
  });

  test('the examples in property schemas are valid values of those properties', () => {
    const wrong: string[] = [];
    for (const [pointer, schema] of subschemas(published)) {
      for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
        for (const example of (property.examples ?? []) as unknown[]) {
          const { examples: _e, description: _d, ...rest } = property;
          const violations = checkAgainstSchema({ ...rest, $defs: published.$defs }, example);
          if (violations.length) wrong.push(`${pointer}/properties/${name}: ${JSON.stringify(violations)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  const exampleFiles = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
  test.each(exampleFiles)('example %s validates against the schema', (file) => {
    for (const doc of documentsOf(path.join(EXAMPLES, file))) {
      expect(checkAgainstSchema(published, doc)).toEqual([]);
    }
  });

  test('every example names the schema in a yaml-language-server modeline', () => {
    for (const file of exampleFiles) {
      expect(fs.readFileSync(path.join(EXAMPLES, file), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/v1alpha1.schema.json');
    }
  });

  const base = {
    apiVersion: 'kubegate.dev/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { name: 'p' },
    spec: { subjects: { groups: ['g'] }, clusters: { names: ['c'] }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
  };
  const withSpec = (spec: object) => ({ ...base, spec: { ...base.spec, ...spec } });

  test('accepts the base document used below', () => {
    expect(checkAgainstSchema(published, base)).toEqual([]);
  });

  test.each<[string, object, string]>([
    ['an unknown top-level field', { ...base, status: {} }, '/status'],
    ['an unknown spec field', withSpec({ rule: [] }), '/spec/rule'],
    ['an unknown kind', { ...base, kind: 'Group' }, '/kind'],
    ['an unknown verb', withSpec({ rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['lsit'] }] }), '/spec/rules/0/verbs/0'],
    ['a rule with resources and nonResourceURLs', withSpec({ rules: [{ apiGroups: [''], resources: ['pods'], nonResourceURLs: ['/x'], verbs: ['get'] }] }), '/spec/rules/0'],
    ['a bad duration', withSpec({ requireActiveSession: { within: '90 minutes' } }), '/spec/requireActiveSession/within'],
    ['a timestamp without offset', withSpec({ validity: { notBefore: '2025-01-01T00:00:00' } }), '/spec/validity/notBefore'],
    ['a subject list that is empty', withSpec({ subjects: { users: [] } }), '/spec/subjects/users'],
    ['a cluster name that is not a DNS label', withSpec({ clusters: { names: ['Prod_1'] } }), '/spec/clusters/names/0'],
    ['a label value that is a number', { ...base, metadata: { name: 'p', labels: { v: 1 } } }, '/metadata/labels/v'],
    [
      'approvers without approval',
      { ...base, kind: 'BreakGlassPolicy', spec: { subjects: { groups: ['g'] }, clusters: { all: true }, clusterRoles: [{ name: 'view' }], maxDuration: '1h', approval: { required: false, approvers: { groups: ['x'] } } } },
      '/spec/approval/approvers',
    ],
  ])('refuses %s', (_what, doc, at) => {
    const violations = checkAgainstSchema(published, doc);
    expect(violations.map((v) => v.path)).toContain(at);
  });
});
