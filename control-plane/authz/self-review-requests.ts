/**
 * The three questions a user asks Kubernetes about themselves: SelfSubjectAccessReview
 * (`kubectl auth can-i VERB RESOURCE`), SelfSubjectRulesReview (`kubectl auth can-i --list`)
 * and SelfSubjectReview (`kubectl auth whoami`). Kubernetes grants them to every authenticated
 * user; scripts, IDEs, Lens and k9s ask them all the time. kubegate grants them to everyone
 * with kubectl access to the cluster and rewrites their answers at the edge (self-review/) so
 * that they tell the truth about kubegate's rules as well as the cluster's.
 */
import type { RequestAttributes } from '../kubernetes-api/request-attributes';

export type SelfReviewKind = 'SelfSubjectAccessReview' | 'SelfSubjectRulesReview' | 'SelfSubjectReview';

/** API group → resource → kind, for every served version. */
const SELF_REVIEWS: Readonly<Record<string, Readonly<Record<string, SelfReviewKind>>>> = {
  'authorization.k8s.io': { selfsubjectaccessreviews: 'SelfSubjectAccessReview', selfsubjectrulesreviews: 'SelfSubjectRulesReview' },
  'authentication.k8s.io': { selfsubjectreviews: 'SelfSubjectReview' },
};

/** The versions kubectl 1.27 and later use (whoami falls back from v1 to v1beta1 and v1alpha1). */
const VERSIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  'authorization.k8s.io': new Set(['v1']),
  'authentication.k8s.io': new Set(['v1', 'v1beta1', 'v1alpha1']),
};

/** The kind of self review this request is, or undefined. Only `create` of the collection counts. */
export function selfReviewKind(a: RequestAttributes): SelfReviewKind | undefined {
  if (!a.isResourceRequest || a.verb !== 'create' || a.namespace !== '' || a.name !== '' || a.subresource !== '') return undefined;
  // The edge routes exactly these paths through the answer rewriting (translator/
  // self-review-route.ts); a trailing slash would reach the cluster unrewritten.
  if (a.path.endsWith('/')) return undefined;
  // A version of '' is a can-i question about the reviews themselves (kubectl names none).
  if (a.apiPrefix !== 'apis' || !(a.apiVersion === '' || VERSIONS[a.apiGroup]?.has(a.apiVersion))) return undefined;
  return SELF_REVIEWS[a.apiGroup]?.[a.resource];
}

export function isSelfReviewRequest(a: RequestAttributes): boolean {
  return selfReviewKind(a) !== undefined;
}

/**
 * Every self review's path (without a leading slash), from the tables above: the paths the
 * edge routes through the answer rewriting (translator/self-review-route.ts).
 */
export const SELF_REVIEW_PATHS: readonly string[] = Object.entries(SELF_REVIEWS).flatMap(([group, resources]) =>
  [...VERSIONS[group]!].flatMap((version) => Object.keys(resources).map((resource) => `apis/${group}/${version}/${resource}`)),
);
