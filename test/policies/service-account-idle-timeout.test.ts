/**
 * ClusterSettings `serviceAccountIdleTimeout`: what it accepts and how it decodes, what it
 * refuses and how the refusal reads, and that the reference (policies/README.md) and the
 * examples say what the validator does. The bad values themselves are in fixtures/
 * (bad-duration.yaml, bad-type.yaml, missing-field.yaml), checked line by line by errors.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  loadPolicies,
  parsePolicyFile,
  PolicyBadDurationError,
  PolicyConflictError,
  PolicyValidationError,
  validatePolicies,
  type ClusterSettings,
} from '../../policies/src';

const ROOT = path.join(__dirname, '../..');

function settings(spec: string, name = 'idle'): string {
  return `apiVersion: kubegate.dev/v1alpha1\nkind: ClusterSettings\nmetadata: {name: ${name}}\nspec:\n${spec}`;
}

function failure(run: () => unknown): PolicyValidationError {
  try {
    run();
  } catch (e) {
    if (e instanceof PolicyValidationError) return e;
    throw e;
  }
  throw new Error('expected a PolicyValidationError');
}

describe('ClusterSettings serviceAccountIdleTimeout', () => {
  test.each([
    ['1m', 60_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['8h', 28_800_000],
    ['7d', 604_800_000],
    ['720h', 2_592_000_000],
    ['30d', 2_592_000_000],
  ])('%s is accepted and decoded to %i ms', (text, ms) => {
    const [doc] = parsePolicyFile(settings(`  clusters: {all: true}\n  serviceAccountIdleTimeout: ${text}\n`), 'idle.yaml') as ClusterSettings[];
    expect(doc!.spec.serviceAccountIdleTimeout).toEqual({ text, ms });
  });

  test('is enough on its own: settings with only an idle period set something', () => {
    const [doc] = parsePolicyFile(settings('  clusters: {names: [dev-1]}\n  serviceAccountIdleTimeout: 2h\n'), 'idle.yaml') as ClusterSettings[];
    expect(doc!.spec).toEqual({ clusters: { names: ['dev-1'] }, serviceAccountIdleTimeout: { text: '2h', ms: 7_200_000 } });
  });

  test('absent, the model has no value (the 8 h default belongs to the engine)', () => {
    const [doc] = parsePolicyFile(settings('  clusters: {names: [dev-1]}\n  kubectl: disabled\n'), 'idle.yaml') as ClusterSettings[];
    expect(doc!.spec.serviceAccountIdleTimeout).toBeUndefined();
  });

  test('just outside the range, on either side, is refused with its own class, code and position', () => {
    const text = [
      settings('  clusters: {names: [dev-1]}\n  serviceAccountIdleTimeout: 59s\n', 'short'),
      settings('  clusters: {names: [dev-2]}\n  serviceAccountIdleTimeout: 30d1s\n', 'long'),
    ].join('---\n');
    const error = failure(() => parsePolicyFile(text, 'idle.yaml'));
    expect(error.errors).toHaveLength(2);
    for (const e of error.errors) expect(e).toBeInstanceOf(PolicyBadDurationError);
    expect(error.errors.map((e) => [e.code, e.file, e.line, e.column, e.path])).toEqual([
      ['ERR_POLICY_BAD_DURATION', 'idle.yaml', 6, 30, 'spec.serviceAccountIdleTimeout'],
      ['ERR_POLICY_BAD_DURATION', 'idle.yaml', 13, 30, 'spec.serviceAccountIdleTimeout'],
    ]);
    expect(error.errors[0]!.message).toBe('duration 59s at spec.serviceAccountIdleTimeout is too short: it must be from 1m to 30d');
    expect(error.errors[1]!.message).toMatch(/^duration 30d1s at spec\.serviceAccountIdleTimeout is too long: it must be from 1m to 30d; /);
  });

  test('a misspelt field name is refused and the right one suggested', () => {
    const error = failure(() => parsePolicyFile(settings('  clusters: {names: [dev-1]}\n  serviceAccountIdleTimout: 2h\n'), 'idle.yaml'));
    expect(error.format()).toBe(
      'idle.yaml:6:3: ERR_POLICY_UNKNOWN_FIELD unknown field "serviceAccountIdleTimout" in spec; did you mean "serviceAccountIdleTimeout"? fields here: description, clusters, kubectl, defaultAccessMode, serviceAccountIdleTimeout',
    );
  });

  test('overlap follows the ClusterSettings rules: through selectors and all: true it is allowed (resolved by specificity)', () => {
    const docs = loadPolicies([
      { fileName: 'fleet.yaml', text: settings('  clusters: {all: true}\n  serviceAccountIdleTimeout: 4h\n', 'fleet') },
      { fileName: 'prod.yaml', text: settings('  clusters: {selector: {matchLabels: {env: prod}}}\n  serviceAccountIdleTimeout: 1h\n', 'prod') },
      { fileName: 'eu.yaml', text: settings('  clusters: {selector: {matchLabels: {region: eu}}}\n  serviceAccountIdleTimeout: 2h\n', 'eu') },
    ]);
    expect(docs).toHaveLength(3);
  });

  test('overlap follows the ClusterSettings rules: a cluster named by two of them is refused', () => {
    const docs = [
      ...parsePolicyFile(settings('  clusters: {names: [prod-eu-1]}\n  serviceAccountIdleTimeout: 4h\n', 'one'), 'one.yaml'),
      ...parsePolicyFile(settings('  clusters: {names: [prod-eu-1]}\n  serviceAccountIdleTimeout: 1h\n', 'two'), 'two.yaml'),
    ];
    const error = failure(() => validatePolicies(docs));
    expect(error.errors).toHaveLength(1);
    expect(error.errors[0]).toBeInstanceOf(PolicyConflictError);
    expect(error.format()).toBe(
      'two.yaml:5:22: ERR_POLICY_CONFLICT cluster "prod-eu-1" is also named by ClusterSettings "one" at one.yaml:5:22: name each cluster in one ClusterSettings, so its switches are in one place',
    );
  });
});

describe('serviceAccountIdleTimeout in the reference and the examples', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'policies/README.md'), 'utf8');

  test('the README shows the error its own snippet gives with 30s, exactly as the validator prints it', () => {
    const snippet = [...readme.matchAll(/```yaml\n([^]*?)```/g)].map((m) => m[1]!).find((s) => s.includes('name: fleet-idle-timeout'))!;
    expect(snippet).toContain('serviceAccountIdleTimeout: 4h');
    expect(() => loadPolicies([{ fileName: 'idle.yaml', text: snippet }])).not.toThrow();
    const shown = /```\n(idle\.yaml:[^\n]*)\n```/.exec(readme)![1]!;
    const error = failure(() => parsePolicyFile(snippet.replace('serviceAccountIdleTimeout: 4h', 'serviceAccountIdleTimeout: 30s'), 'idle.yaml'));
    expect(error.format()).toBe(shown);
  });

  test('the production defaults example keeps ServiceAccounts 2 hours', () => {
    const file = 'policies/examples/cluster-kill-switch.yaml';
    const docs = parsePolicyFile(fs.readFileSync(path.join(ROOT, file), 'utf8'), file);
    const prod = docs.find((d) => d.metadata.name === 'prod-defaults') as ClusterSettings;
    expect(prod.spec.serviceAccountIdleTimeout).toEqual({ text: '2h', ms: 7_200_000 });
  });
});
