import { clusterRoleGrant, type ClusterRoleGrant } from './cluster-role-grant';
import { clusterScope, type ClusterScope } from './cluster-scope';
/** BreakGlassPolicy: elevated access on request, for emergencies. */
import { formatPath } from './decode-context';
import type { Decoder } from './decoder';
import { boolean, integer, list, mapDecoder, oneOf } from './decoders';
import { description } from './description';
import { duration, type PolicyDuration } from './duration';
import { isOnlyNegative, onlyNegativeMessage } from './label-selector';
import { object } from './object-decoder';
import type { PolicyDocumentOf } from './document-envelope';
import { PolicyBadSelectorError, PolicyConflictError, PolicyMissingFieldError } from './policy-errors';
import { policyRule, type PolicyRule } from './policy-rule';
import { subjects, type Subjects } from './subjects';

/** Who must approve a break-glass request before it takes effect. Requesters never approve their own. */
export type Approval =
  | { readonly required: false }
  | {
      readonly required: true;
      readonly approvers: Subjects;
      /** Distinct approvers needed, not counting the requester. Default 1. */
      readonly minApprovals: number;
    };

/**
 * Elevated access on request, for emergencies: the subjects may ask for the rules and
 * clusterRoles on the clusters for at most maxDuration, with a justification and, if required,
 * approval. A grant ends at its expiry; it does not override accessMode: disabled or a kubectl
 * kill switch.
 */
export interface BreakGlassPolicySpec {
  readonly description?: string;
  /** Who may request. */
  readonly subjects: Subjects;
  readonly clusters: ClusterScope;
  readonly rules?: readonly PolicyRule[];
  readonly clusterRoles?: readonly ClusterRoleGrant[];
  /** The longest grant a request can get. */
  readonly maxDuration: PolicyDuration;
  readonly approval: Approval;
  /** Default `required`. */
  readonly justification: 'required' | 'optional';
}

export type BreakGlassPolicy = PolicyDocumentOf<'BreakGlassPolicy', BreakGlassPolicySpec>;

interface ApprovalFields {
  readonly required: boolean;
  readonly approvers?: Subjects;
  readonly minApprovals?: number;
}

const approvalFields = object<ApprovalFields>({
  expected: 'a mapping with required, approvers and minApprovals',
  schemaName: 'Approval',
  description:
    'Whether a request needs approval, and from whom. With required: true, approvers and (optionally) minApprovals; with required: false, neither.',
  typeHint: '; write {required: true, approvers: {groups: [sre-leads]}} or {required: false}',
  fields: {
    required: {
      decoder: boolean(),
      required: true,
      missingHint: 'write required: true (with approvers) or required: false',
      description: 'Whether a request needs approval before access is granted. Stated explicitly, never assumed.',
      example: true,
    },
    approvers: {
      decoder: subjects,
      description: 'Who may approve. A requester never approves their own request. Required when required is true.',
      example: { groups: ['sre-leads'] },
    },
    minApprovals: {
      decoder: integer({ minimum: 1, maximum: 10 }),
      description: 'How many distinct approvers, other than the requester, must approve. 1 to 10; default 1.',
      example: 2,
    },
  },
  schemaExtras: {
    if: { properties: { required: { const: true } } },
    then: { required: ['approvers'] },
    else: { properties: { approvers: false, minApprovals: false } },
  },
  // The if/then/else above, said for approval. Only when `required` itself is a boolean: an
  // invalid or missing `required` is reported as such, and then says nothing about the others.
  explain(error, fieldsAt) {
    const [branch] = error.schemaPath;
    if (branch === 'then' && error.keyword === 'required') {
      if (error.dataAt([...error.path, 'required']) !== true || fieldsAt(error.path).has('approvers')) return null;
      return {
        ErrorClass: PolicyMissingFieldError,
        message: `${formatPath(error.path)} is required but names no approvers: add approvers, e.g. approvers: {groups: [sre-leads]}`,
        path: [...error.path, 'required'],
      };
    }
    if (branch === 'else' && error.keyword === 'false schema') {
      const approval = error.path.slice(0, -1);
      if (error.dataAt([...approval, 'required']) !== false) return null;
      const field = String(error.path[error.path.length - 1]);
      return {
        ErrorClass: PolicyConflictError,
        message: `${formatPath(error.path)} conflicts with required: false: remove ${field}, or set required: true`,
        anchor: 'key',
      };
    }
    return undefined;
  },
});

const approval: Decoder<Approval> = mapDecoder(approvalFields, (a): Approval =>
  a.required ? { required: true, approvers: a.approvers!, minApprovals: a.minApprovals ?? 1 } : { required: false },
);

export const breakGlassPolicySpec = object<BreakGlassPolicySpec>({
  expected: 'a mapping with subjects, clusters, rules and/or clusterRoles, maxDuration and approval',
  schemaName: 'BreakGlassPolicySpec',
  description:
    'Elevated access on request for emergencies: who may request it, on which clusters, what it grants, for how long at most, and who must approve.',
  fields: {
    description: {
      decoder: description,
      description: 'When this break-glass access is meant to be used, for requesters and reviewers.',
      example: 'On-call SREs may take cluster-admin in production during an incident, with a lead approving.',
    },
    subjects: {
      decoder: subjects,
      required: true,
      missingHint: 'say who may request, e.g. subjects: {groups: [sre-oncall]}',
      description: 'Who may request this access.',
      example: { groups: ['sre-oncall'] },
    },
    clusters: {
      decoder: clusterScope,
      required: true,
      missingHint: 'say where, e.g. clusters: {selector: {matchLabels: {env: prod}}}',
      description: 'The clusters access may be requested for; a request names one or more of them.',
      example: { selector: { matchLabels: { env: 'prod' } } },
    },
    rules: {
      decoder: list(policyRule, { expected: 'a list of rules', noun: 'rule' }),
      description: 'What kubegate allows at the edge while the grant lasts, in Kubernetes RBAC terms.',
      example: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    },
    clusterRoles: {
      decoder: list(clusterRoleGrant, { expected: 'a list of ClusterRoles', noun: 'ClusterRole' }),
      description: 'ClusterRoles the requester holds inside the cluster while the grant lasts.',
      example: [{ name: 'cluster-admin' }],
    },
    maxDuration: {
      decoder: duration({ min: '1m', max: '24h', maxReason: 'break-glass is for emergencies; standing access belongs in an AccessPolicy' }),
      required: true,
      missingHint: 'say how long a grant may last, e.g. maxDuration: 2h',
      description: 'The longest a grant may last, 1m to 24h; a request may ask for less.',
      example: '2h',
    },
    approval: {
      decoder: approval,
      required: true,
      missingHint: 'write approval: {required: true, approvers: {groups: [sre-leads]}} or approval: {required: false}',
      description: 'Whether requests need approval, and from whom.',
      example: { required: true, approvers: { groups: ['sre-leads'] }, minApprovals: 1 },
    },
    justification: {
      decoder: oneOf(['required', 'optional'] as const, { noun: 'justification setting' }),
      default: 'required',
      description: 'Whether a request must say why (an incident or ticket reference). required or optional; default required.',
      example: 'required',
    },
  },
  check(value, at) {
    if (!at.has('rules') && !at.has('clusterRoles')) {
      at.report(PolicyMissingFieldError, [], `${formatPath(at.path)} grants nothing: add rules, clusterRoles or both`);
    }
    if (value.clusters?.selector && isOnlyNegative(value.clusters.selector)) {
      at.report(PolicyBadSelectorError, ['clusters', 'selector'], onlyNegativeMessage(formatPath([...at.path, 'clusters', 'selector'])), { atKey: true });
    }
    const a = value.approval;
    if (a?.required && !a.approvers.groups) {
      const approvers = new Set(a.approvers.users ?? []);
      // At minApprovals when it is written, else at approval.
      const place = ['approval', 'minApprovals'];
      if (approvers.size < a.minApprovals) {
        at.report(
          PolicyConflictError,
          place,
          `${formatPath([...at.path, ...place])} needs ${a.minApprovals} approvals but only ${approvers.size} approver${approvers.size === 1 ? ' is' : 's are'} listed: add approvers or lower minApprovals`,
        );
      } else {
        const selfApprovers = (value.subjects?.users ?? []).filter((u) => approvers.has(u));
        const stuck = selfApprovers.find(() => approvers.size - 1 < a.minApprovals);
        if (stuck !== undefined) {
          at.report(
            PolicyConflictError,
            place,
            `${JSON.stringify(stuck)} may request but could never be approved: requesters do not approve their own requests, so ${approvers.size - 1} other approver${approvers.size - 1 === 1 ? ' is' : 's are'} left for the ${a.minApprovals} approval${a.minApprovals === 1 ? '' : 's'} needed; add approvers or an approver group`,
          );
        }
      }
    }
  },
});
