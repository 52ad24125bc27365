/**
 * How ajv's errors become policy errors: for each keyword of the generated schema, a document
 * that breaks only it, and the class, position and message it is reported with. The mapping
 * is called on its own (no converters), so each case proves the error comes from ajv.
 */
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { policyJsonSchema, POLICY_ERROR_CLASSES, PolicyBadValueError, type PolicyErrorClass } from '../../policies/src';
import { DecodeContext, YamlDocumentSource } from '../../policies/src/decode-context';
import { reportSchemaErrors } from '../../policies/src/schema-error-mapping';
import { policySchemaValidator } from '../../policies/src/schema-validator';
import { yamlInstance } from '../../policies/src/yaml-instance';

/** The errors ajv finds in one YAML document, as `line:col CODE message`. */
function schemaErrors(text: string): string[] {
  const lineCounter = new LineCounter();
  const [doc] = parseAllDocuments(text, { lineCounter, version: '1.2' }) as Document[];
  const ctx = new DecodeContext(new YamlDocumentSource('t.yaml', lineCounter, doc!));
  const instance = yamlInstance(ctx.source.root, ctx);
  const validator = policySchemaValidator();
  if (!validator.validate(instance)) reportSchemaErrors(validator.validate.errors ?? [], instance, ctx, validator);
  return ctx.errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`);
}

const head = (kind: string, metadata = '{name: p}') => `apiVersion: kubegate.dev/v1alpha1\nkind: ${kind}\nmetadata: ${metadata}\n`;
const access = (spec: string) => `${head('AccessPolicy')}spec:\n  subjects: {groups: [g]}\n  clusters: {names: [c]}\n${spec}`;
const breakGlass = (approval: string) =>
  `${head('BreakGlassPolicy')}spec:\n  subjects: {groups: [g]}\n  clusters: {all: true}\n  clusterRoles: [{name: view}]\n  maxDuration: 1h\n  approval: ${approval}\n`;
const rule = (r: string) => access(`  rules:\n    - ${r}\n`);

/** [keyword (as the schema writes it), document, expected errors]. */
const CASES: readonly (readonly [string, string, readonly string[]])[] = [
  ['type', access('  rules: {verbs: [get]}\n'), ['7:10 ERR_POLICY_BAD_TYPE spec.rules must be a list of rules, got a mapping']],
  ['type (document)', '- a\n', ['1:1 ERR_POLICY_BAD_TYPE a policy document must be a mapping with apiVersion, kind, metadata and spec, got a list']],
  ['required', `${head('AccessPolicy')}spec: {subjects: {groups: [g]}, clusterRoles: [{name: view}]}\n`, [
    '4:1 ERR_POLICY_MISSING_FIELD missing required field "clusters" in spec: say where it applies, e.g. clusters: {selector: {matchLabels: {env: prod}}}',
  ]],
  ['required (document)', access('  clusterRoles: [{name: view}]\n').replace('apiVersion: kubegate.dev/v1alpha1\n', ''), [
    '1:1 ERR_POLICY_MISSING_FIELD missing required field "apiVersion" in the document: add apiVersion: kubegate.dev/v1alpha1',
  ]],
  ['additionalProperties', access('  clusterRoles: [{name: view, nmespaces: [a]}]\n'), [
    '7:31 ERR_POLICY_UNKNOWN_FIELD unknown field "nmespaces" in spec.clusterRoles[0]; did you mean "namespaces"? fields here: name, namespaces',
  ]],
  ['additionalProperties (label key)', access('  clusterRoles: [{name: view}]\n').replace('{names: [c]}', '{selector: {matchLabels: {-env: a}}}'), [
    '6:39 ERR_POLICY_BAD_SELECTOR invalid label key "-env" at spec.clusters.selector.matchLabels["-env"]: a label key is an optional DNS prefix and \'/\', then at most 63 letters, digits, \'-\', \'_\' or \'.\', starting and ending alphanumeric (e.g. env, kubegate.dev/tier)',
  ]],
  ['enum', access('  clusterRoles: [{name: view}]\n  accessMode: kubctl\n'), [
    '8:15 ERR_POLICY_BAD_VALUE unknown access mode "kubctl" at spec.accessMode; did you mean "kubectl"? allowed: kubectl, console-only, disabled',
  ]],
  ['enum (kind)', head('ClusterSetting') + 'spec: {}\n', [
    '2:7 ERR_POLICY_UNKNOWN_KIND unknown kind "ClusterSetting"; did you mean "ClusterSettings"? kinds: AccessPolicy, ClusterSettings, BreakGlassPolicy',
  ]],
  ['enum (verb)', rule('{apiGroups: [""], resources: [pods], verbs: [gte]}'), [
    '8:52 ERR_POLICY_UNKNOWN_VERB unknown verb "gte" at spec.rules[0].verbs[0]; did you mean "get"? allowed: get, list, watch, create, update, patch, delete, deletecollection, bind, escalate, approve, sign, use, *',
  ]],
  ['const', access('  clusterRoles: [{name: view}]\n').replace('{names: [c]}', '{all: yes}'), ['6:19 ERR_POLICY_BAD_TYPE spec.clusters.all must be true, got a string ("yes")']],
  ['const (apiVersion)', access('  clusterRoles: [{name: view}]\n').replace('v1alpha1', 'v2'), [
    '1:13 ERR_POLICY_BAD_API_VERSION apiVersion "kubegate.dev/v2" is not supported: write apiVersion: kubegate.dev/v1alpha1',
  ]],
  ['pattern (name)', access('  clusterRoles: [{name: view}]\n').replace('{name: p}', '{name: My_Policy}'), [
    '3:18 ERR_POLICY_BAD_NAME invalid name "My_Policy" at metadata.name: use lowercase letters, digits, \'-\' and \'.\', starting and ending with a letter or digit, at most 253 characters; did you mean "my-policy"?',
  ]],
  ['pattern (duration)', access('  clusterRoles: [{name: view}]\n  requireActiveSession: {within: 1.5h}\n'), [
    '8:34 ERR_POLICY_BAD_DURATION invalid duration "1.5h" at spec.requireActiveSession.within: write whole numbers with units d, h, m, s, largest first, e.g. 30m, 8h, 1h30m, 7d',
  ]],
  ['pattern (timestamp)', access('  clusterRoles: [{name: view}]\n  validity: {notAfter: "2025-01-01 10:00"}\n'), [
    '8:24 ERR_POLICY_BAD_TIME invalid timestamp "2025-01-01 10:00" at spec.validity.notAfter: it has no UTC offset: add Z for UTC or an offset such as +01:00, e.g. 2025-03-01T08:00:00Z',
  ]],
  ['pattern (rule)', rule('{nonResourceURLs: ["/a*b"], verbs: [get]}'), [
    '8:26 ERR_POLICY_BAD_RULE invalid non-resource URL "/a*b" at spec.rules[0].nonResourceURLs[0]: "*" may appear only once, at the end (/healthz/*), and paths have no spaces',
  ]],
  ['minLength', access('  clusterRoles: [{name: view}]\n  description: ""\n'), [
    '8:16 ERR_POLICY_BAD_VALUE spec.description is blank: say why the document exists, or remove the field',
  ]],
  ['minLength (time zone)', access('  clusterRoles: [{name: view}]\n  validity: {windows: [{days: [Mon], start: "08:00", end: "09:00", timeZone: ""}]}\n'), [
    '8:78 ERR_POLICY_BAD_TIMEZONE invalid time zone "" at spec.validity.windows[0].timeZone: it is not an IANA time zone; write a name such as Europe/Berlin, America/New_York or UTC',
  ]],
  ['maxLength', access(`  clusterRoles: [{name: view}]\n  description: ${'x'.repeat(2001)}\n`), [
    '8:16 ERR_POLICY_BAD_VALUE spec.description has 2001 characters: at most 2000',
  ]],
  ['minimum', breakGlass('{required: true, approvers: {groups: [a]}, minApprovals: 0}'), [
    '9:70 ERR_POLICY_BAD_VALUE spec.approval.minApprovals is 0: it must be a whole number from 1 to 10',
  ]],
  ['maximum', breakGlass('{required: true, approvers: {groups: [a]}, minApprovals: 11}'), [
    '9:70 ERR_POLICY_BAD_VALUE spec.approval.minApprovals is 11: it must be a whole number from 1 to 10',
  ]],
  ['minItems', access('  clusterRoles: []\n'), ['7:17 ERR_POLICY_BAD_VALUE spec.clusterRoles is an empty list: list at least one ClusterRole']],
  ['minProperties', access('  clusterRoles: [{name: view}]\n  validity: {}\n'), [
    '8:3 ERR_POLICY_MISSING_FIELD spec.validity sets nothing: add notBefore, notAfter or windows, or remove it',
  ]],
  ['minProperties (label map)', access('  clusterRoles: [{name: view}]\n').replace('{name: p}', '{name: p, labels: {}}'), [
    '3:29 ERR_POLICY_BAD_VALUE metadata.labels is an empty mapping: give at least one entry or remove the field',
  ]],
  ['oneOf', rule('{apiGroups: [""], verbs: [get]}'), [
    '8:7 ERR_POLICY_MISSING_FIELD rule spec.rules[0] grants nothing: add resources (with apiGroups) or nonResourceURLs',
  ]],
  ['dependentSchemas', rule('{nonResourceURLs: [/healthz], namespaces: [a], verbs: [get]}'), [
    '8:37 ERR_POLICY_CONFLICT namespaces at spec.rules[0].namespaces does not apply to nonResourceURLs: remove it',
  ]],
  ['if/then', breakGlass('{required: true}'), [
    '9:24 ERR_POLICY_MISSING_FIELD spec.approval is required but names no approvers: add approvers, e.g. approvers: {groups: [sre-leads]}',
  ]],
  ['if/else', breakGlass('{required: false, minApprovals: 2}'), [
    '9:31 ERR_POLICY_CONFLICT spec.approval.minApprovals conflicts with required: false: remove minApprovals, or set required: true',
  ]],
];

describe('ajv errors as policy errors', () => {
  test.each(CASES)('%s', (_keyword, text, expected) => {
    expect(schemaErrors(text)).toEqual(expected);
  });

  test('a valid document has no schema errors', () => {
    expect(schemaErrors(access('  clusterRoles: [{name: view}]\n'))).toEqual([]);
  });

  test('every keyword the generated schema uses has a case above', () => {
    const used = new Set<string>();
    const annotations = new Set(['$schema', '$id', '$defs', '$ref', 'title', 'description', 'examples', 'default', 'properties', 'patternProperties', 'items', 'allOf']);
    (function walk(node: unknown, names: boolean): void {
      if (typeof node !== 'object' || node === null) return;
      if (Array.isArray(node)) return node.forEach((n) => walk(n, false));
      for (const [key, value] of Object.entries(node)) {
        if (!names) used.add(key);
        if (['examples', 'enum', 'const', 'default', 'required'].includes(key) && !names) continue;
        walk(value, !names && ['properties', 'patternProperties', '$defs', 'dependentSchemas'].includes(key));
      }
    })(policyJsonSchema(), false);
    const covered = new Set(CASES.flatMap(([k]) => k.split(' ')[0]!.split('/')).concat(['then', 'else', 'additionalProperties']));
    expect([...used].filter((k) => !annotations.has(k) && !covered.has(k)).sort()).toEqual([]);
  });

  test('every error class about a single document can come from an ajv error', () => {
    const produced = new Set(CASES.flatMap(([, text]) => schemaErrors(text).map((line) => line.split(' ')[1])));
    // Only the YAML parser, the converters and the cross-document checks raise the others.
    const notFromSchema = ['ERR_POLICY_YAML_SYNTAX', 'ERR_POLICY_DUPLICATE'];
    const classes = POLICY_ERROR_CLASSES.map((c: PolicyErrorClass) => c.code).filter((code) => !notFromSchema.includes(code));
    expect(classes.filter((code) => !produced.has(code))).toEqual([]);
  });

  test('no error is left in ajv\'s own words', () => {
    const all = CASES.flatMap(([, text]) => schemaErrors(text));
    expect(all.filter((line) => /must (NOT|match|be equal|have)|boolean schema/.test(line))).toEqual([]);
  });

  test('errors that only sum up others are not reported twice, and never all dropped', () => {
    const lineCounter = new LineCounter();
    const [doc] = parseAllDocuments('a: 1\n', { lineCounter, version: '1.2' }) as Document[];
    const ctx = new DecodeContext(new YamlDocumentSource('t.yaml', lineCounter, doc!));
    // An `if` error alone (its `then` errors explained away) must still refuse the document.
    reportSchemaErrors(
      [{ instancePath: '', schemaPath: '#/allOf/0/if', keyword: 'if', params: { failingKeyword: 'then' }, message: 'must match "then" schema' }],
      { a: 1 },
      ctx,
      policySchemaValidator(),
    );
    expect(ctx.errors.map((e) => [e.constructor, e.message])).toEqual([[PolicyBadValueError, 'the document must match "then" schema']]);
  });
});
