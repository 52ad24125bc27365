/**
 * What the edge grants every user with kubectl access to a cluster, written as policy rules so
 * that `kubectl auth can-i --list` can show it: discovery and the self reviews
 * (authz/policy-authorizer.ts isGrantedToEveryKubectlUser is the decision itself; a test keeps
 * the two in step).
 */
import type { PolicyRule } from '../../policies/src';

const DISCOVERY_ROOTS = ['/api', '/apis', '/version', '/openapi', '/healthz', '/livez', '/readyz'];

export const IMPLICIT_KUBECTL_RULES: readonly PolicyRule[] = Object.freeze([
  { verbs: ['get', 'head'], nonResourceURLs: DISCOVERY_ROOTS.flatMap((root) => [root, `${root}/*`]) },
  { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
  { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
]);
