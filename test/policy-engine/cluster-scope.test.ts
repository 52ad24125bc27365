/** Where documents apply: cluster names, label selectors of every operator, all: true. */
import { compileClusterScope, compileLabelSelector, Coverage } from '../../control-plane/policy-engine/cluster-matcher';
import { context, engine, NOON, request } from './engine-fixtures';

describe('label selectors', () => {
  type Labels = Record<string, string>;
  const prodEu: Labels = { env: 'prod', region: 'eu-west-1', tier: 'gold' };
  const prodUs: Labels = { env: 'prod', region: 'us-east-1' };
  const staging: Labels = { env: 'staging', region: 'eu-west-1' };
  const bare: Labels = {};

  test.each<[string, Parameters<typeof compileLabelSelector>[0], Labels, boolean]>([
    ['matchLabels equal', { matchLabels: { env: 'prod' } }, prodEu, true],
    ['matchLabels different value', { matchLabels: { env: 'prod' } }, staging, false],
    ['matchLabels missing label', { matchLabels: { env: 'prod' } }, bare, false],
    ['matchLabels all must hold', { matchLabels: { env: 'prod', region: 'us-east-1' } }, prodEu, false],
    ['In, value listed', { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu-west-1', 'eu-central-1'] }] }, prodEu, true],
    ['In, value not listed', { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu-central-1'] }] }, prodEu, false],
    ['In, label missing', { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu-west-1'] }] }, bare, false],
    ['NotIn, value listed', { matchExpressions: [{ key: 'region', operator: 'NotIn', values: ['eu-west-1'] }] }, prodEu, false],
    ['NotIn, value not listed', { matchExpressions: [{ key: 'region', operator: 'NotIn', values: ['eu-west-1'] }] }, prodUs, true],
    ['NotIn, label missing', { matchExpressions: [{ key: 'region', operator: 'NotIn', values: ['eu-west-1'] }] }, bare, true],
    ['Exists, present', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, prodEu, true],
    ['Exists, absent', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, prodUs, false],
    ['DoesNotExist, present', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, prodEu, false],
    ['DoesNotExist, absent', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, prodUs, true],
    ['Exists is not fooled by Object.prototype', { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, bare, false],
    ['DoesNotExist is not fooled by Object.prototype', { matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] }, bare, true],
    [
      'matchLabels and expressions together',
      { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'region', operator: 'In', values: ['us-east-1'] }, { key: 'tier', operator: 'DoesNotExist' }] },
      prodUs,
      true,
    ],
    [
      'one failing expression fails the selector',
      { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'region', operator: 'In', values: ['us-east-1'] }, { key: 'tier', operator: 'Exists' }] },
      prodUs,
      false,
    ],
  ])('%s', (_what, selector, labels, expected) => {
    expect(compileLabelSelector(selector)(labels)).toBe(expected);
  });

  test('coverage ranks names above selectors above all', () => {
    const scope = compileClusterScope({ names: ['prod-eu-1'], selector: { matchLabels: { env: 'prod' } } });
    expect(scope.coverage({ name: 'prod-eu-1', labels: { env: 'prod' } })).toBe(Coverage.Name);
    expect(scope.coverage({ name: 'prod-us-1', labels: { env: 'prod' } })).toBe(Coverage.Selector);
    expect(scope.coverage({ name: 'dev-1', labels: { env: 'dev' } })).toBe(Coverage.None);
    expect(compileClusterScope({ all: true }).coverage({ name: 'x', labels: {} })).toBe(Coverage.All);
  });
});

describe('documents by cluster', () => {
  const e = engine(`
    kind: AccessPolicy
    metadata: {name: by-name}
    spec:
      subjects: {users: [alice]}
      clusters: {names: [prod-eu-1, prod-us-1]}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
    ---
    kind: AccessPolicy
    metadata: {name: by-selector}
    spec:
      subjects: {users: [bob]}
      clusters:
        selector:
          matchLabels: {env: prod}
          matchExpressions:
            - {key: region, operator: In, values: [eu-west-1, eu-central-1]}
            - {key: quarantine, operator: DoesNotExist}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
    ---
    kind: AccessPolicy
    metadata: {name: name-or-selector}
    spec:
      subjects: {users: [carol]}
      clusters: {names: [lab-1], selector: {matchLabels: {env: dev}}}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
    ---
    kind: AccessPolicy
    metadata: {name: everywhere}
    spec:
      subjects: {users: [dave]}
      clusters: {all: true}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
  `);

  test.each<[string, string, Record<string, string>, boolean]>([
    ['alice', 'prod-eu-1', {}, true],
    ['alice', 'prod-us-1', { env: 'prod' }, true],
    ['alice', 'prod-ap-1', { env: 'prod' }, false],
    ['bob', 'any-name', { env: 'prod', region: 'eu-west-1' }, true],
    ['bob', 'any-name', { env: 'prod', region: 'us-east-1' }, false],
    ['bob', 'any-name', { env: 'prod', region: 'eu-west-1', quarantine: 'true' }, false],
    ['bob', 'any-name', { env: 'staging', region: 'eu-west-1' }, false],
    ['bob', 'any-name', {}, false],
    ['carol', 'lab-1', {}, true],
    ['carol', 'dev-7', { env: 'dev' }, true],
    ['carol', 'dev-7', { env: 'prod' }, false],
    ['dave', 'registered-tomorrow', {}, true],
  ])('%s on %s %j → %s', (user, clusterName, labels, expected) => {
    const decision = e.evaluate(request('GET', '/api/v1/namespaces/a/pods', { user, cluster: clusterName, labels }), context(NOON));
    expect(decision.allowed).toBe(expected);
    if (!decision.allowed) {
      expect(decision.code).toBe('no-policy');
      expect(decision.message).toBe(`user "${user}" cannot list pods in namespace "a" on cluster "${clusterName}": no policy in force grants you access to this cluster`);
    }
  });
});
