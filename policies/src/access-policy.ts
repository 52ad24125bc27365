/** AccessPolicy: who may do what, where, how and when; the kind most policy files hold. */
import { accessMode, type AccessMode } from './access-mode';
import { clusterRoleGrant, type ClusterRoleGrant } from './cluster-role-grant';
import { clusterScope, type ClusterScope } from './cluster-scope';
import { formatPath } from './decode-context';
import { list } from './decoders';
import { description } from './description';
import { duration, type PolicyDuration } from './duration';
import { isOnlyNegative, onlyNegativeMessage } from './label-selector';
import { object } from './object-decoder';
import type { PolicyDocumentOf } from './document-envelope';
import { PolicyBadSelectorError, PolicyConflictError, PolicyMissingFieldError } from './policy-errors';
import { policyRule, type PolicyRule } from './policy-rule';
import { subjects, type Subjects } from './subjects';
import { validity, type Validity } from './validity';

/** kubectl requests are allowed only while the user has used the web console recently. */
export interface RequireActiveSession {
  /** How recently the user must have been active in a console session. */
  readonly within: PolicyDuration;
}

/**
 * Who may do what, where, how and when. Allows only: several policies that match a request add
 * up, except that a policy with `accessMode: disabled` denies its subjects on its clusters.
 */
export interface AccessPolicySpec {
  readonly description?: string;
  readonly subjects: Subjects;
  readonly clusters: ClusterScope;
  /** Absent: the cluster's ClusterSettings defaultAccessMode, else kubectl. */
  readonly accessMode?: AccessMode;
  /** What kubegate allows at the edge. Absent (with clusterRoles): the cluster's RBAC alone decides. */
  readonly rules?: readonly PolicyRule[];
  /** ClusterRoles the subjects hold inside the cluster. */
  readonly clusterRoles?: readonly ClusterRoleGrant[];
  readonly requireActiveSession?: RequireActiveSession;
  /** Absent: always in force. */
  readonly validity?: Validity;
}

export type AccessPolicy = PolicyDocumentOf<'AccessPolicy', AccessPolicySpec>;

const requireActiveSession = object<RequireActiveSession>({
  expected: 'a mapping with within',
  schemaName: 'RequireActiveSession',
  description: 'kubectl requests are allowed only while the user has had an active web-console session within the given time.',
  typeHint: '; write {within: 15m}',
  fields: {
    within: {
      decoder: duration({ min: '1m', max: '24h', maxReason: 'a session older than a day says little about who is at the keyboard' }),
      required: true,
      description: 'How recently the console session must have been active: 1m to 24h.',
      example: '15m',
    },
  },
});

export const accessPolicySpec = object<AccessPolicySpec>({
  expected: 'a mapping with subjects, clusters, and rules and/or clusterRoles',
  schemaName: 'AccessPolicySpec',
  description:
    'Who (subjects) may do what (rules, clusterRoles) on which clusters, how (accessMode, requireActiveSession) and when (validity). Policies only add permissions, except accessMode: disabled, which denies.',
  fields: {
    description: {
      decoder: description,
      description: 'Why the policy exists, for reviewers and the audit trail.',
      example: 'Payments engineers can read their workloads in production.',
    },
    subjects: {
      decoder: subjects,
      required: true,
      missingHint: 'say who the policy is for, e.g. subjects: {groups: [payments-engineers]}',
      description: 'Who the policy applies to.',
      example: { groups: ['payments-engineers'], users: ['alice@example.com'] },
    },
    clusters: {
      decoder: clusterScope,
      required: true,
      missingHint: 'say where it applies, e.g. clusters: {selector: {matchLabels: {env: prod}}}',
      description: 'Which clusters the policy applies to.',
      example: { selector: { matchLabels: { env: 'prod' } } },
    },
    accessMode: {
      decoder: accessMode,
      description:
        "kubectl: kubectl and the web console. console-only: the web console only. disabled: denies the subjects on these clusters, overriding every other policy (then no rules, clusterRoles or requireActiveSession). Default: the cluster's defaultAccessMode, else kubectl.",
      example: 'kubectl',
    },
    rules: {
      decoder: list(policyRule, { expected: 'a list of rules', noun: 'rule' }),
      description:
        'What kubegate allows at the edge, in Kubernetes RBAC terms. Without rules (and with clusterRoles), kubegate admits the requests and the cluster RBAC for the clusterRoles decides.',
      example: [{ apiGroups: ['', 'apps'], resources: ['pods', 'pods/log', 'deployments'], verbs: ['get', 'list', 'watch'], namespaces: ['payments'] }],
    },
    clusterRoles: {
      decoder: list(clusterRoleGrant, { expected: 'a list of ClusterRoles', noun: 'ClusterRole' }),
      description: 'ClusterRoles the subjects hold inside the cluster, bound cluster-wide or in the listed namespaces.',
      example: [{ name: 'view', namespaces: ['payments'] }],
    },
    requireActiveSession: {
      decoder: requireActiveSession,
      description: 'Allow kubectl only while the user has had a web-console session active within the given time. Not with console-only or disabled.',
      example: { within: '15m' },
    },
    validity: {
      decoder: validity,
      description: 'When the policy is in force: a start, an end and recurring windows. Absent: always.',
      example: { notAfter: '2025-12-31T23:59:59Z' },
    },
  },
  check(value, at) {
    if (value.accessMode === 'disabled') {
      for (const field of ['rules', 'clusterRoles', 'requireActiveSession'] as const) {
        if (at.has(field)) {
          at.report(
            PolicyConflictError,
            [field],
            `${formatPath([...at.path, field])} conflicts with accessMode: disabled, which denies these subjects on these clusters: remove ${field}, or choose another accessMode`,
            { atKey: true },
          );
        }
      }
      return;
    }
    if (!at.has('rules') && !at.has('clusterRoles')) {
      at.report(
        PolicyMissingFieldError,
        [],
        `${formatPath(at.path)} grants nothing: add rules, clusterRoles or both (or set accessMode: disabled to deny these subjects)`,
      );
    }
    if (value.accessMode === 'console-only' && at.has('requireActiveSession')) {
      at.report(
        PolicyConflictError,
        ['requireActiveSession'],
        `requireActiveSession at ${formatPath([...at.path, 'requireActiveSession'])} has no effect with accessMode: console-only (it only gates kubectl): remove one of them`,
        { atKey: true },
      );
    }
    if (value.clusters?.selector && isOnlyNegative(value.clusters.selector)) {
      at.report(PolicyBadSelectorError, ['clusters', 'selector'], onlyNegativeMessage(formatPath([...at.path, 'clusters', 'selector'])), { atKey: true });
    }
  },
});

