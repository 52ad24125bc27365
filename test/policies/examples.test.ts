import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPolicies, parsePolicyFile, validatePolicies, type AccessPolicy, type BreakGlassPolicy, type PolicyDocument } from '../../policies/src';

const EXAMPLES = path.join(__dirname, '../../policies/examples');
const exampleFiles = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')).sort();
const read = (file: string) => fs.readFileSync(path.join(EXAMPLES, file), 'utf8');
const byName = (docs: readonly PolicyDocument[], name: string) => docs.find((d) => d.metadata.name === name)!;

describe('policies/examples', () => {
  test('there are examples for each scenario', () => {
    expect(exampleFiles).toEqual([
      'cluster-kill-switch.yaml',
      'contractors-business-hours.yaml',
      'oncall-break-glass.yaml',
      'team-readonly-prod.yaml',
    ]);
  });

  test.each(exampleFiles)('%s is valid on its own', (file) => {
    const docs = parsePolicyFile(read(file), `policies/examples/${file}`);
    expect(docs.length).toBeGreaterThan(0);
    expect(() => validatePolicies(docs)).not.toThrow();
  });

  test('all examples are valid together (names unique, no settings overlap)', () => {
    const docs = loadPolicies(exampleFiles.map((f) => ({ fileName: `policies/examples/${f}`, text: read(f) })));
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'AccessPolicy/checkout-contractors-staging',
      'AccessPolicy/contractors-no-prod',
      'AccessPolicy/payments-readonly-prod',
      'BreakGlassPolicy/oncall-prod-admin',
      'BreakGlassPolicy/oncall-prod-restart',
      'ClusterSettings/prod-defaults',
      'ClusterSettings/prod-eu-1-kill-switch',
    ]);
  });

  test('the read-only team policy decodes to the model the engine consumes', () => {
    const docs = parsePolicyFile(read('team-readonly-prod.yaml'), 'team-readonly-prod.yaml');
    const policy = byName(docs, 'payments-readonly-prod') as AccessPolicy;
    expect(policy.source).toEqual({ file: 'team-readonly-prod.yaml', line: 6, column: 1 });
    expect(policy.metadata).toEqual({ name: 'payments-readonly-prod', labels: { team: 'payments', 'kubegate.dev/ticket': 'SEC-1042' } });
    expect(policy.spec.subjects).toEqual({ groups: ['payments-engineers'] });
    expect(policy.spec.clusters.selector?.matchExpressions).toEqual([{ key: 'region', operator: 'In', values: ['eu-west-1', 'eu-central-1', 'us-east-1'] }]);
    expect(policy.spec.rules?.[1]).toEqual({ nonResourceURLs: ['/version', '/api', '/api/*', '/apis', '/apis/*'], verbs: ['get'] });
    expect(policy.spec.rules?.[0]).toMatchObject({ apiGroups: ['', 'apps', 'batch'], namespaces: ['payments', 'payments-jobs'] });
    expect(policy.spec.requireActiveSession).toEqual({ within: { text: '30m', ms: 30 * 60_000 } });
  });

  test('the contractors policy carries its validity as instants, minutes and a zone', () => {
    const docs = parsePolicyFile(read('contractors-business-hours.yaml'), 'c.yaml');
    const policy = byName(docs, 'checkout-contractors-staging') as AccessPolicy;
    expect(policy.spec.accessMode).toBe('console-only');
    expect(policy.spec.validity).toEqual({
      notBefore: { text: '2025-07-01T00:00:00+02:00', epochMs: Date.parse('2025-06-30T22:00:00Z') },
      notAfter: { text: '2025-12-31T18:00:00+01:00', epochMs: Date.parse('2025-12-31T17:00:00Z') },
      windows: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], start: { text: '08:00', minutes: 480 }, end: { text: '18:00', minutes: 1080 }, timeZone: 'Europe/Berlin' }],
    });
    expect((byName(docs, 'contractors-no-prod') as AccessPolicy).spec.accessMode).toBe('disabled');
  });

  test('break-glass approval and justification get their defaults', () => {
    const docs = parsePolicyFile(read('oncall-break-glass.yaml'), 'b.yaml');
    const admin = byName(docs, 'oncall-prod-admin') as BreakGlassPolicy;
    expect(admin.spec.maxDuration).toEqual({ text: '2h', ms: 7_200_000 });
    expect(admin.spec.approval).toEqual({ required: true, approvers: { groups: ['sre-leads'], users: ['head-of-platform@example.com'] }, minApprovals: 1 });
    const restart = byName(docs, 'oncall-prod-restart') as BreakGlassPolicy;
    expect(restart.spec.approval).toEqual({ required: false });
    expect(restart.spec.justification).toBe('required');
  });
});
