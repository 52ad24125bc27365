/**
 * PolicyEngine.kubectlRules: the rules `kubectl auth can-i --list` intersects with the
 * cluster's, which must be exactly those of the documents decide() would let allow a kubectl
 * request now. Checked both ways: by hand for each way a document can stop counting, and
 * against evaluate() for a grid of requests.
 */
import { parseRequestAttributes } from '../../control-plane/kubernetes-api/request-attributes';
import { RuleSet } from '../../control-plane/policy-engine/rule-matcher';
import { requestTarget } from '../../control-plane/policy-engine/request-target';
import { cluster, context, engine, MINUTE, NOON, subject } from '../policy-engine/engine-fixtures';

const e = engine(`
  kind: ClusterSettings
  metadata: {name: freeze}
  spec:
    clusters: {names: [frozen]}
    kubectl: disabled
  ---
  kind: AccessPolicy
  metadata: {name: devs-pods}
  spec:
    subjects: {groups: [devs]}
    clusters: {all: true}
    rules: [{apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch], namespaces: [team-a]}]
  ---
  kind: AccessPolicy
  metadata: {name: devs-configmaps-later}
  spec:
    subjects: {groups: [devs]}
    clusters: {all: true}
    rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
    validity: {notBefore: 2030-01-01T00:00:00Z}
  ---
  kind: AccessPolicy
  metadata: {name: devs-secrets-in-console}
  spec:
    subjects: {groups: [devs]}
    clusters: {all: true}
    accessMode: console-only
    rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
  ---
  kind: AccessPolicy
  metadata: {name: devs-deploy-with-session}
  spec:
    subjects: {groups: [devs]}
    clusters: {all: true}
    rules: [{apiGroups: [apps], resources: [deployments], verbs: [update]}]
    requireActiveSession: {within: 15m}
  ---
  kind: AccessPolicy
  metadata: {name: leads-rbac}
  spec:
    subjects: {groups: [leads]}
    clusters: {all: true}
    clusterRoles: [{name: view}]
  ---
  kind: AccessPolicy
  metadata: {name: no-prod-for-interns}
  spec:
    subjects: {groups: [interns]}
    clusters: {names: [prod]}
    accessMode: disabled
`);

const DEVS = subject({ user: 'dana', groups: ['devs'] });
const DEV = cluster({ cluster: 'dev' });

test('only the rules of documents that allow kubectl now: not a future window, a console-only policy or an unmet session', () => {
  const r = e.kubectlRules(DEVS, DEV, context(NOON));
  expect(r.unrestricted).toBe(false);
  expect(r.rules).toEqual([{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'], namespaces: ['team-a'] }]);
});

test('a recent console session brings in the policy that requires one, until it is too old', () => {
  const r = e.kubectlRules(DEVS, DEV, context(NOON, { lastConsoleActivity: NOON - MINUTE }));
  expect(r.rules.map((x) => ('resources' in x ? x.resources[0] : ''))).toEqual(['pods', 'deployments']);
  expect(r.validUntil).toBe(NOON - MINUTE + 15 * MINUTE + 1);
});

test('clusterRoles without rules: the edge admits everything, the cluster decides', () => {
  expect(e.kubectlRules(subject({ groups: ['leads'] }), DEV, context(NOON))).toMatchObject({ unrestricted: true, rules: [] });
});

test('nothing under a kill switch or a disabled policy, and nothing for someone no policy names', () => {
  expect(e.kubectlRules(DEVS, cluster({ cluster: 'frozen' }), context(NOON))).toMatchObject({ unrestricted: false, rules: [] });
  expect(e.kubectlRules(subject({ groups: ['devs', 'interns'] }), cluster({ cluster: 'prod' }), context(NOON))).toMatchObject({ unrestricted: false, rules: [] });
  expect(e.kubectlRules(subject({ groups: ['nobody'] }), DEV, context(NOON))).toMatchObject({ unrestricted: false, rules: [] });
});

test('agrees with evaluate() on a grid of requests: a request is allowed exactly when the rules match it', () => {
  const paths = [
    '/api/v1/namespaces/team-a/pods',
    '/api/v1/namespaces/team-a/pods/web',
    '/api/v1/namespaces/team-a/pods/web/log',
    '/api/v1/namespaces/team-b/pods',
    '/api/v1/namespaces/team-a/configmaps/x',
    '/api/v1/namespaces/team-a/secrets/x',
    '/apis/apps/v1/namespaces/team-a/deployments/web',
  ];
  for (const activity of [undefined, NOON - MINUTE]) {
    const ctx = context(NOON, activity === undefined ? {} : { lastConsoleActivity: activity });
    const rules = new RuleSet(e.kubectlRules(DEVS, DEV, ctx).rules);
    for (const path of paths) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const attributes = parseRequestAttributes(method, path);
        const allowed = e.evaluate({ subject: DEVS, cluster: DEV, channel: 'kubectl', attributes }, ctx).allowed;
        expect([method, path, rules.match(requestTarget(attributes)) >= 0]).toEqual([method, path, allowed]);
      }
    }
  }
});
