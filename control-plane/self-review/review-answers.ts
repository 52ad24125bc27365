/**
 * Makes the cluster's answers to a user's questions about themselves tell the truth about both
 * layers a request passes (pure: the answer's JSON and what the edge says in, new JSON out):
 *
 * - SelfSubjectAccessReview (`kubectl auth can-i VERB RESOURCE`): allowed only if the edge's
 *   policy and the cluster's RBAC both allow; `reason` says which layer said no. The edge's
 *   verdict comes from the very function that decides real requests (policy-authorizer.ts
 *   edgeVerdict), so can-i and the request itself cannot disagree.
 * - SelfSubjectRulesReview (`kubectl auth can-i --list`): the cluster's rules intersected with
 *   the edge's (rule-intersection.ts) for the namespace the question named (the answer does not
 *   repeat it); `incomplete` and `evaluationError` are the cluster's, and say so too when the
 *   question could not be read (then only the edge's rules without namespaces count).
 * - SelfSubjectReview (`kubectl auth whoami`): what the cluster sees, plus kubegate's user, its
 *   groups and the cluster as extra fields (kubegate.io/user, kubegate.io/groups,
 *   kubegate.io/cluster).
 *
 * Anything else (a Status, another kind, a body that is not JSON) is left as it is.
 */
import type { RequestAttributes } from '../kubernetes-api/request-attributes';
import { kubernetesProtobufString } from './kubernetes-protobuf';
import { intersectRules, type EdgeRuleSet, type ReportedNonResourceRule, type ReportedResourceRule } from './rule-intersection';

export const EXTRA_USER = 'kubegate.io/user';
export const EXTRA_GROUPS = 'kubegate.io/groups';
export const EXTRA_CLUSTER = 'kubegate.io/cluster';

export interface EdgeAnswer {
  readonly allowed: boolean;
  /** Safe to show the user: why the edge refuses (with `kubegate:`), or what allowed it. */
  readonly reason: string;
}

/** What the edge knows about the asking user and cluster. */
export interface ReviewContext {
  readonly user: string;
  readonly groups: readonly string[];
  readonly cluster: string;
  /** The edge's verdict on a request with these attributes, now. */
  verdict(attributes: RequestAttributes): EdgeAnswer;
  /** The edge's rules for this user's kubectl requests on the cluster now. */
  rules(): EdgeRuleSet;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * The rewritten body, or undefined when the answer is not one this rewrites. `question` is the
 * request's body as the client sent it (JSON or Kubernetes protobuf).
 */
export function rewriteReviewAnswer(body: string, ctx: ReviewContext, question: Buffer = Buffer.alloc(0)): string | undefined {
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(answer) || !isObject(answer.status)) return undefined;
  switch (answer.kind) {
    case 'SelfSubjectAccessReview':
      return JSON.stringify(accessReview(answer, answer.status, ctx));
    case 'SelfSubjectRulesReview':
      return JSON.stringify(rulesReview(answer, answer.status, ctx, question));
    case 'SelfSubjectReview':
      return JSON.stringify(whoami(answer, answer.status, ctx));
    default:
      return undefined;
  }
}

/** The request a SelfSubjectAccessReview's spec asks about, as the edge parses real ones. */
export function reviewedAttributes(spec: unknown): RequestAttributes | undefined {
  if (!isObject(spec)) return undefined;
  const blank = { path: '', apiPrefix: '', apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '', parts: [], verbViaPathPrefix: false };
  if (isObject(spec.resourceAttributes)) {
    const r = spec.resourceAttributes;
    const group = text(r.group);
    return {
      ...blank,
      isResourceRequest: true,
      verb: text(r.verb),
      apiPrefix: group === '' ? 'api' : 'apis',
      apiGroup: group,
      apiVersion: text(r.version),
      namespace: text(r.namespace),
      resource: text(r.resource),
      subresource: text(r.subresource),
      name: text(r.name),
    };
  }
  if (isObject(spec.nonResourceAttributes)) {
    const n = spec.nonResourceAttributes;
    return { ...blank, isResourceRequest: false, verb: text(n.verb), path: text(n.path) };
  }
  return undefined;
}

function accessReview(answer: Json, status: Json, ctx: ReviewContext): Json {
  const attributes = reviewedAttributes(answer.spec);
  if (!attributes) return answer;
  const edge: EdgeAnswer =
    attributes.isResourceRequest && attributes.verb === 'impersonate'
      ? { allowed: false, reason: 'kubegate: impersonation is not possible through kubegate (the edge removes every Impersonate-* header)' }
      : ctx.verdict(attributes);
  const clusterAllowed = status.allowed === true;
  const clusterReason = text(status.reason);
  if (!edge.allowed) {
    const also = clusterAllowed ? "; the cluster's RBAC alone would allow it" : '';
    const { evaluationError: _unused, ...rest } = status;
    void _unused;
    return { ...answer, status: { ...rest, allowed: false, denied: true, reason: `${edge.reason} (refused by kubegate's policy at the edge${also})` } };
  }
  const layer = clusterAllowed ? 'and by the cluster' : "but the cluster's RBAC does not allow it";
  const reason = `kubegate's policy at the edge allows it, ${layer}${clusterReason ? `: ${clusterReason}` : ''}`;
  return { ...answer, status: { ...status, reason } };
}

/** SelfSubjectRulesReview.spec (field 2), SelfSubjectRulesReviewSpec.namespace (field 1). */
const RULES_REVIEW_NAMESPACE = [2, 1];

/**
 * The namespace a SelfSubjectRulesReview asked about, from the question as the client sent it
 * (JSON, or protobuf as kubectl sends it), or undefined if it cannot be read.
 */
function askedNamespace(answer: Json, question: Buffer): string | undefined {
  if (isObject(answer.spec) && typeof answer.spec.namespace === 'string' && answer.spec.namespace !== '') return answer.spec.namespace;
  const fromProtobuf = kubernetesProtobufString(question, RULES_REVIEW_NAMESPACE);
  if (fromProtobuf !== undefined) return fromProtobuf;
  try {
    const asked: unknown = JSON.parse(question.toString('utf8'));
    if (isObject(asked)) return isObject(asked.spec) ? text(asked.spec.namespace) : '';
  } catch {
    // Neither: said in the answer.
  }
  return undefined;
}

function rulesReview(answer: Json, status: Json, ctx: ReviewContext, question: Buffer): Json {
  const asked = askedNamespace(answer, question);
  const namespace = asked ?? '';
  const reported = {
    resourceRules: (Array.isArray(status.resourceRules) ? status.resourceRules.filter(isObject) : []).map(
      (r): ReportedResourceRule => ({
        verbs: strings(r.verbs),
        ...(r.apiGroups !== undefined && { apiGroups: strings(r.apiGroups) }),
        ...(r.resources !== undefined && { resources: strings(r.resources) }),
        ...(r.resourceNames !== undefined && { resourceNames: strings(r.resourceNames) }),
      }),
    ),
    nonResourceRules: (Array.isArray(status.nonResourceRules) ? status.nonResourceRules.filter(isObject) : []).map(
      (r): ReportedNonResourceRule => ({ verbs: strings(r.verbs), ...(r.nonResourceURLs !== undefined && { nonResourceURLs: strings(r.nonResourceURLs) }) }),
    ),
  };
  const both = intersectRules(reported, ctx.rules(), namespace);
  const notes = [
    asked === undefined ? "kubegate: could not read which namespace was asked about; only kubegate's rules for every namespace are counted" : '',
    both.namespaceLimited ? `kubegate: rules kubegate limits to namespaces are shown for "${namespace}" but allow no cluster-scoped resource` : '',
  ].filter(Boolean);
  const unread = notes.length > 0 ? { incomplete: true, evaluationError: [text(status.evaluationError), ...notes].filter(Boolean).join('; ') } : {};
  return { ...answer, status: { ...status, resourceRules: both.resourceRules, nonResourceRules: both.nonResourceRules, ...unread } };
}

function whoami(answer: Json, status: Json, ctx: ReviewContext): Json {
  const userInfo = isObject(status.userInfo) ? status.userInfo : {};
  const extra = isObject(userInfo.extra) ? userInfo.extra : {};
  return {
    ...answer,
    status: {
      ...status,
      userInfo: { ...userInfo, extra: { ...extra, [EXTRA_USER]: [ctx.user], [EXTRA_GROUPS]: [...ctx.groups], [EXTRA_CLUSTER]: [ctx.cluster] } },
    },
  };
}
