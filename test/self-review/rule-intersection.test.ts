/** Intersecting the cluster's reported rules with the edge's, in RBAC's own terms. */
import { intersectRules } from '../../control-plane/self-review/rule-intersection';
import type { PolicyRule } from '../../policies/src';

const cluster = {
  resourceRules: [
    { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
    { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'pods/log', 'services'] },
    { verbs: ['get'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['web', 'api'] },
  ],
  nonResourceRules: [
    { verbs: ['get'], nonResourceURLs: ['/healthz', '/api', '/api/*', '/metrics'] },
    { verbs: ['*'], nonResourceURLs: ['*'] },
  ],
};

const edge = (rules: PolicyRule[]) => ({ unrestricted: false, rules });

test('unrestricted at the edge: the cluster\'s rules as they are', () => {
  expect(intersectRules(cluster, { unrestricted: true, rules: [] }, 'a')).toEqual({ ...cluster, namespaceLimited: false });
});

test('nothing at the edge: nothing at all', () => {
  expect(intersectRules(cluster, edge([]), 'a')).toEqual({ resourceRules: [], nonResourceRules: [], namespaceLimited: false });
});

test('wildcards take the other side; plain lists meet', () => {
  const r = intersectRules(cluster, edge([{ apiGroups: [''], resources: ['pods', 'configmaps'], verbs: ['get', 'watch'] }]), 'a');
  expect(r.resourceRules).toEqual([
    { verbs: ['get', 'watch'], apiGroups: [''], resources: ['pods', 'configmaps'] },
    { verbs: ['get'], apiGroups: [''], resources: ['pods'] },
  ]);
});

test('a subresource of any resource meets that subresource; pods never meets pods/log', () => {
  const r = intersectRules(cluster, edge([{ apiGroups: ['*'], resources: ['*/log'], verbs: ['get'] }]), 'a');
  expect(r.resourceRules).toEqual([
    { verbs: ['get'], apiGroups: ['*'], resources: ['*/log'] },
    { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] },
  ]);
});

test('names: none means any; two lists meet; an empty meeting is no rule', () => {
  const both = intersectRules(cluster, edge([{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: ['web', 'db'] }]), 'a');
  expect(both.resourceRules).toEqual([
    { verbs: ['get'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['web', 'db'] },
    { verbs: ['get'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['web'] },
  ]);
  const none = intersectRules({ ...cluster, resourceRules: [cluster.resourceRules[2]!] }, edge([{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: ['db'] }]), 'a');
  expect(none.resourceRules).toEqual([]);
});

test('an edge rule limited to namespaces counts only in them', () => {
  const rule: PolicyRule = { apiGroups: [''], resources: ['pods'], verbs: ['get'], namespaces: ['team-a'] };
  // From both of the cluster's rules that cover pods, the same rule once.
  expect(intersectRules(cluster, edge([rule]), 'team-a').resourceRules).toEqual([{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
  expect(intersectRules(cluster, edge([rule]), 'team-b').resourceRules).toEqual([]);
  expect(intersectRules(cluster, edge([rule]), '').resourceRules).toEqual([]);
  // Such a rule allows no cluster-scoped resource, which a rule of Kubernetes' shape cannot say.
  expect(intersectRules(cluster, edge([rule]), 'team-a').namespaceLimited).toBe(true);
  expect(intersectRules(cluster, edge([{ ...rule, namespaces: undefined } as PolicyRule]), 'team-a').namespaceLimited).toBe(false);
});

test('non-resource URLs: exact, prefixes and "*" meet as RBAC matches them', () => {
  const r = intersectRules(cluster, edge([{ nonResourceURLs: ['/api/*', '/healthz'], verbs: ['get', 'head'] }]), 'a');
  expect(r.nonResourceRules).toEqual([
    { verbs: ['get'], nonResourceURLs: ['/healthz', '/api/*'] },
    { verbs: ['get', 'head'], nonResourceURLs: ['/api/*', '/healthz'] },
  ]);
  const longer = intersectRules({ resourceRules: [], nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/api/v1*', '/apis/x'] }] }, edge([{ nonResourceURLs: ['/api/*'], verbs: ['get'] }]), 'a');
  expect(longer.nonResourceRules).toEqual([{ verbs: ['get'], nonResourceURLs: ['/api/v1*'] }]);
});
