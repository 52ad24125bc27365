/** The cluster's answers to self reviews, made truthful about the edge (pure). */
import { EXTRA_CLUSTER, EXTRA_GROUPS, EXTRA_USER, reviewedAttributes, rewriteReviewAnswer, type ReviewContext } from '../../control-plane/self-review/review-answers';
import type { RequestAttributes } from '../../control-plane/kubernetes-api/request-attributes';

const asked: RequestAttributes[] = [];
const ctx = (edgeAllows: (a: RequestAttributes) => boolean, unrestricted = false): ReviewContext => ({
  user: 'alice',
  groups: ['dev', 'oncall'],
  cluster: 'alpha',
  verdict: (a) => {
    asked.push(a);
    return edgeAllows(a) ? { allowed: true, reason: 'rule 0 of AccessPolicy "p" allows it' } : { allowed: false, reason: 'kubegate: user "alice" may not list secrets' };
  },
  rules: () => ({ unrestricted, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] }),
});

const ssar = (resourceAttributes: object, status: object) =>
  JSON.stringify({ kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: {}, spec: { resourceAttributes }, status });

const parse = (s: string | undefined) => JSON.parse(s!);

test('both layers allow: allowed, and the reason names both', () => {
  const out = parse(rewriteReviewAnswer(ssar({ verb: 'list', resource: 'pods', namespace: 'a' }, { allowed: true, reason: 'RBAC: allowed by RoleBinding "x"' }), ctx(() => true)));
  expect(out.status).toEqual({ allowed: true, reason: 'kubegate\'s policy at the edge allows it, and by the cluster: RBAC: allowed by RoleBinding "x"' });
  expect(asked.at(-1)).toMatchObject({ isResourceRequest: true, verb: 'list', resource: 'pods', namespace: 'a', apiGroup: '', apiPrefix: 'api' });
});

test('the edge says no: not allowed, denied, and the reason says it was kubegate, even where the cluster would allow', () => {
  const out = parse(rewriteReviewAnswer(ssar({ verb: 'list', resource: 'secrets', namespace: 'a' }, { allowed: true, reason: 'RBAC: allowed' }), ctx(() => false)));
  expect(out.status.allowed).toBe(false);
  expect(out.status.denied).toBe(true);
  expect(out.status.reason).toContain('kubegate: user "alice" may not list secrets');
  expect(out.status.reason).toContain("the cluster's RBAC alone would allow it");
});

test('the cluster says no: not allowed, and the reason says it was the cluster', () => {
  const out = parse(rewriteReviewAnswer(ssar({ verb: 'delete', resource: 'pods', namespace: 'a' }, { allowed: false }), ctx(() => true)));
  expect(out.status.allowed).toBe(false);
  expect(out.status.reason).toContain("the cluster's RBAC does not allow it");
});

test('impersonation is never possible through kubegate, whatever policy or cluster say', () => {
  const out = parse(rewriteReviewAnswer(ssar({ verb: 'impersonate', resource: 'users' }, { allowed: true }), ctx(() => true)));
  expect(out.status).toMatchObject({ allowed: false, denied: true });
  expect(out.status.reason).toContain('impersonation');
});

test('a group and subresource are asked about as the edge parses real requests; non-resource questions too', () => {
  expect(reviewedAttributes({ resourceAttributes: { verb: 'create', group: 'apps', version: 'v1', resource: 'deployments', subresource: 'scale', namespace: 'a', name: 'web' } })).toMatchObject({
    isResourceRequest: true,
    apiPrefix: 'apis',
    apiGroup: 'apps',
    resource: 'deployments',
    subresource: 'scale',
    name: 'web',
  });
  expect(reviewedAttributes({ nonResourceAttributes: { verb: 'get', path: '/healthz' } })).toMatchObject({ isResourceRequest: false, verb: 'get', path: '/healthz' });
  expect(reviewedAttributes({})).toBeUndefined();
});

test('rules review: the cluster\'s rules intersected with the edge\'s; incomplete stays the cluster\'s', () => {
  const body = JSON.stringify({
    kind: 'SelfSubjectRulesReview',
    spec: { namespace: 'a' },
    status: { resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/api'] }], incomplete: true },
  });
  const out = parse(rewriteReviewAnswer(body, ctx(() => true)));
  expect(out.status).toEqual({ resourceRules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }], nonResourceRules: [], incomplete: true });
  expect(parse(rewriteReviewAnswer(body, ctx(() => true, true))).status.resourceRules).toEqual([{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
});

test('rules review: the namespace comes from the question (the answer does not repeat it); an unreadable question says so', () => {
  const narrow: ReviewContext = { ...ctx(() => true), rules: () => ({ unrestricted: false, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'], namespaces: ['team-a'] }] }) };
  const answer = JSON.stringify({ kind: 'SelfSubjectRulesReview', spec: {}, status: { resourceRules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], nonResourceRules: [], incomplete: false } });
  const inTeamA = parse(rewriteReviewAnswer(answer, narrow, Buffer.from(JSON.stringify({ kind: 'SelfSubjectRulesReview', spec: { namespace: 'team-a' } }))));
  expect(inTeamA.status).toMatchObject({ resourceRules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], nonResourceRules: [] });
  // The edge's rule is limited to namespaces: said, as Kubernetes says an incomplete answer.
  expect(inTeamA.status).toMatchObject({ incomplete: true, evaluationError: expect.stringContaining('allow no cluster-scoped resource') });
  const elsewhere = parse(rewriteReviewAnswer(answer, narrow, Buffer.from(JSON.stringify({ spec: { namespace: 'team-b' } }))));
  expect(elsewhere.status.resourceRules).toEqual([]);
  // As kubectl 1.32 sends it: Kubernetes' protobuf envelope (the structure captured from a real request, for namespace team-a).
  const protobuf = Buffer.from('azhzAAoxChdhdXRob3JpemF0aW9uLms4cy5pby92MRIWU2VsZlN1YmplY3RSdWxlc1JldmlldxIiChAKABIAGgAiACoAMgA4AEIAEggKBnRlYW0tYRoEGAAiABoAIgA=', 'base64');
  expect(parse(rewriteReviewAnswer(answer, narrow, protobuf)).status).toEqual(inTeamA.status);
  const unreadable = parse(rewriteReviewAnswer(answer, narrow, Buffer.from('\x0anot a review')));
  expect(unreadable.status).toMatchObject({ resourceRules: [], incomplete: true, evaluationError: expect.stringContaining('could not read which namespace') });
});

test("whoami: what the cluster sees, plus kubegate's user, groups and cluster as extra fields", () => {
  const body = JSON.stringify({ kind: 'SelfSubjectReview', status: { userInfo: { username: 'system:serviceaccount:kubegate-users:u-alice', groups: ['system:serviceaccounts'], extra: { 'authentication.kubernetes.io/pod-name': ['x'] } } } });
  const out = parse(rewriteReviewAnswer(body, ctx(() => true)));
  expect(out.status.userInfo).toEqual({
    username: 'system:serviceaccount:kubegate-users:u-alice',
    groups: ['system:serviceaccounts'],
    extra: { 'authentication.kubernetes.io/pod-name': ['x'], [EXTRA_USER]: ['alice'], [EXTRA_GROUPS]: ['dev', 'oncall'], [EXTRA_CLUSTER]: ['alpha'] },
  });
});

test('anything else is left as it is: a Status, another kind, a body that is not JSON', () => {
  expect(rewriteReviewAnswer(JSON.stringify({ kind: 'Status', status: 'Failure', code: 403 }), ctx(() => true))).toBeUndefined();
  expect(rewriteReviewAnswer(JSON.stringify({ kind: 'ConfigMap', status: {} }), ctx(() => true))).toBeUndefined();
  expect(rewriteReviewAnswer('\x00\x01k8s', ctx(() => true))).toBeUndefined();
});
