/**
 * The three places that must agree on what a self review is: the edge's route (which turns the
 * answer rewriting on), the authorizer (which grants them to every kubectl user), and the rules
 * `can-i --list` shows for that grant.
 */
import { parseRequestAttributes } from '../../control-plane/kubernetes-api/request-attributes';
import { isGrantedToEveryKubectlUser } from '../../control-plane/authz/policy-authorizer';
import { selfReviewKind } from '../../control-plane/authz/self-review-requests';
import { SELF_REVIEW_PATHS } from '../../control-plane/authz/self-review-requests';
import { IMPLICIT_KUBECTL_RULES } from '../../control-plane/self-review/implicit-rules';
import { RuleSet } from '../../control-plane/policy-engine/rule-matcher';
import { requestTarget } from '../../control-plane/policy-engine/request-target';

const routed = (path: string) => SELF_REVIEW_PATHS.includes(path.replace(/^\//, ''));

test.each([
  ['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', 'SelfSubjectAccessReview'],
  ['/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', 'SelfSubjectRulesReview'],
  ['/apis/authentication.k8s.io/v1/selfsubjectreviews', 'SelfSubjectReview'],
  ['/apis/authentication.k8s.io/v1beta1/selfsubjectreviews', 'SelfSubjectReview'],
  ['/apis/authentication.k8s.io/v1alpha1/selfsubjectreviews', 'SelfSubjectReview'],
  ['/apis/authorization.k8s.io/v1/subjectaccessreviews', undefined],
  ['/apis/authorization.k8s.io/v1/namespaces/a/localsubjectaccessreviews', undefined],
  ['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x', undefined],
  ['/apis/authentication.k8s.io/v1/tokenreviews', undefined],
  ['/api/v1/selfsubjectaccessreviews', undefined],
])('%s: %s', (path, kind) => {
  const attributes = parseRequestAttributes('POST', path);
  expect(selfReviewKind(attributes)).toBe(kind);
  expect(routed(path)).toBe(kind !== undefined);
  expect(isGrantedToEveryKubectlUser(attributes)).toBe(kind !== undefined);
  // RBAC rules cannot say "the collection only", so the rules shown cover a POST to a named
  // review too (no such API exists; the authorizer refuses it, the cluster would answer 404).
  if (attributes.name === '') expect(new RuleSet(IMPLICIT_KUBECTL_RULES).match(requestTarget(attributes)) >= 0).toBe(kind !== undefined);
  // Only create asks a question; a GET of the same path is not granted.
  expect(isGrantedToEveryKubectlUser(parseRequestAttributes('GET', path))).toBe(false);
});

test('a trailing slash is not a self review: it would reach the cluster without the answer rewritten', () => {
  for (const path of SELF_REVIEW_PATHS) expect(isGrantedToEveryKubectlUser(parseRequestAttributes('POST', `/${path}/`))).toBe(false);
});

test("can-i about the reviews themselves (kubectl names no version) is the edge's yes too", () => {
  const asked = { ...parseRequestAttributes('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'), apiVersion: '' };
  expect(isGrantedToEveryKubectlUser(asked)).toBe(true);
});

test('every routed path is a self review', () => {
  for (const path of SELF_REVIEW_PATHS) expect(selfReviewKind(parseRequestAttributes('POST', `/${path}`))).toBeDefined();
});

test.each(['/api', '/api/v1', '/apis', '/apis/apps/v1', '/version', '/openapi/v3', '/healthz', '/livez/etcd', '/readyz', '/metrics', '/logs'])(
  'discovery %s: granted exactly where the rules can-i --list shows say',
  (path) => {
    for (const method of ['GET', 'HEAD', 'POST']) {
      const attributes = parseRequestAttributes(method, path);
      expect([method, path, new RuleSet(IMPLICIT_KUBECTL_RULES).match(requestTarget(attributes)) >= 0]).toEqual([method, path, isGrantedToEveryKubectlUser(attributes)]);
    }
  },
);
