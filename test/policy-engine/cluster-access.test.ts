/** clusterAccess, breakGlassEligibility and canApprove. */
import type { ActiveGrant } from '../../control-plane/policy-engine/engine-contract';
import { mergeClusterRoles } from '../../control-plane/policy-engine/merge-cluster-roles';
import { at, cluster, context, engine, FOREVER, HOUR, NOON, subject } from './engine-fixtures';

const e = engine(`
  kind: ClusterSettings
  metadata: {name: staging-console}
  spec:
    clusters: {selector: {matchLabels: {env: staging}}}
    defaultAccessMode: console-only
  ---
  kind: ClusterSettings
  metadata: {name: incident}
  spec:
    clusters: {names: [prod-us-1]}
    kubectl: disabled
  ---
  kind: AccessPolicy
  metadata: {name: devs-view}
  spec:
    subjects: {groups: [devs]}
    clusters: {all: true}
    clusterRoles: [{name: view, namespaces: [payments]}]
  ---
  kind: AccessPolicy
  metadata: {name: devs-edit-prod}
  spec:
    subjects: {groups: [devs, on-probation]}
    clusters: {selector: {matchLabels: {env: prod}}}
    clusterRoles: [{name: edit, namespaces: [payments]}, {name: view, namespaces: [checkout]}]
    requireActiveSession: {within: 15m}
  ---
  kind: AccessPolicy
  metadata: {name: leads-view-everything}
  spec:
    subjects: {groups: [leads]}
    clusters: {selector: {matchLabels: {env: prod}}}
    clusterRoles: [{name: view}]
  ---
  kind: AccessPolicy
  metadata: {name: contractors}
  spec:
    subjects: {groups: [contractors]}
    clusters: {all: true}
    accessMode: console-only
    rules: [{apiGroups: [""], resources: [pods], verbs: [list], namespaces: [checkout]}]
    validity: {notAfter: 2025-07-01T00:00:00Z}
  ---
  kind: AccessPolicy
  metadata: {name: no-prod-for-contractors}
  spec:
    subjects: {groups: [contractors]}
    clusters: {selector: {matchLabels: {env: prod}}}
    accessMode: disabled
  ---
  kind: BreakGlassPolicy
  metadata: {name: oncall-admin}
  spec:
    subjects: {groups: [sre-oncall]}
    clusters: {selector: {matchLabels: {env: prod}}}
    clusterRoles: [{name: cluster-admin}]
    maxDuration: 2h
    approval: {required: true, approvers: {groups: [sre-leads], users: [erin]}, minApprovals: 2}
  ---
  kind: BreakGlassPolicy
  metadata: {name: self-service}
  spec:
    subjects: {users: [alice]}
    clusters: {names: [staging-1]}
    rules: [{apiGroups: [""], resources: [pods], verbs: [delete]}]
    maxDuration: 30m
    approval: {required: false}
    justification: optional
`);

const PROD_EU = cluster({ cluster: 'prod-eu-1', labels: { env: 'prod' } });
const PROD_US = cluster({ cluster: 'prod-us-1', labels: { env: 'prod' } });
const STAGING = cluster({ cluster: 'staging-1', labels: { env: 'staging' } });
const DEV = cluster({ cluster: 'dev-1', labels: {} });

describe('clusterAccess', () => {
  test('kubectl gated by a session when every kubectl policy requires one', () => {
    expect(e.clusterAccess(subject({ groups: ['on-probation'] }), PROD_EU, context(NOON))).toEqual({
      cluster: 'prod-eu-1',
      mode: 'kubectl',
      requiresActiveSession: true,
      clusterRoles: [
        { name: 'edit', namespaces: ['payments'] },
        { name: 'view', namespaces: ['checkout'] },
      ],
      policies: ['devs-edit-prod'],
      validUntil: FOREVER,
    });
  });

  test('the roles of every policy in force are merged; one without the session requirement lifts it', () => {
    expect(e.clusterAccess(subject({ groups: ['devs'] }), PROD_EU, context(NOON))).toEqual({
      cluster: 'prod-eu-1',
      mode: 'kubectl',
      requiresActiveSession: false,
      clusterRoles: [
        { name: 'edit', namespaces: ['payments'] },
        { name: 'view', namespaces: ['checkout', 'payments'] },
      ],
      policies: ['devs-view', 'devs-edit-prod'],
      validUntil: FOREVER,
    });
  });

  test('a cluster-wide binding absorbs namespaced ones', () => {
    const access = e.clusterAccess(subject({ groups: ['devs', 'leads'] }), PROD_EU, context(NOON));
    expect(access.mode).toBe('kubectl');
    expect(access.requiresActiveSession).toBe(false);
    expect(access.clusterRoles).toEqual([{ name: 'edit', namespaces: ['payments'] }, { name: 'view' }]);
  });

  test('the cluster default applies to policies without accessMode', () => {
    const access = e.clusterAccess(subject({ groups: ['devs'] }), STAGING, context(NOON));
    expect(access).toMatchObject({ mode: 'console-only', requiresActiveSession: false, policies: ['devs-view'] });
    expect(e.clusterAccess(subject({ groups: ['devs'] }), DEV, context(NOON)).mode).toBe('kubectl');
  });

  test('the kill switch leaves the console', () => {
    expect(e.clusterAccess(subject({ groups: ['devs'] }), PROD_US, context(NOON))).toMatchObject({ mode: 'console-only', requiresActiveSession: false });
  });

  test('a disabled policy leaves nothing, and no roles', () => {
    expect(e.clusterAccess(subject({ groups: ['devs', 'contractors'] }), PROD_EU, context(NOON))).toEqual({
      cluster: 'prod-eu-1',
      mode: 'none',
      requiresActiveSession: false,
      clusterRoles: [],
      policies: [],
      validUntil: FOREVER,
    });
  });

  test('console-only access while its validity lasts, then none', () => {
    const during = e.clusterAccess(subject({ groups: ['contractors'] }), DEV, context(NOON));
    expect(during).toMatchObject({ mode: 'console-only', policies: ['contractors'], clusterRoles: [], validUntil: at('2025-07-01T00:00:00Z') });
    expect(e.clusterAccess(subject({ groups: ['contractors'] }), DEV, context(at('2025-07-01T00:00:00Z'))).mode).toBe('none');
  });

  test('nothing naming the subject: none', () => {
    expect(e.clusterAccess(subject({ user: 'stranger' }), PROD_EU, context(NOON)).mode).toBe('none');
  });

  test('an active break-glass grant adds kubectl access and its roles until it expires', () => {
    const grant: ActiveGrant = { id: 'bg-1', policy: 'oncall-admin', user: 'alice', cluster: 'prod-eu-1', expiresAt: NOON + HOUR };
    const access = e.clusterAccess(subject({ groups: ['sre-oncall'] }), PROD_EU, context(NOON, { grants: [grant] }));
    expect(access).toEqual({
      cluster: 'prod-eu-1',
      mode: 'kubectl',
      requiresActiveSession: false,
      clusterRoles: [{ name: 'cluster-admin' }],
      policies: ['oncall-admin'],
      validUntil: NOON + HOUR,
    });
    expect(e.clusterAccess(subject({ groups: ['sre-oncall'] }), PROD_EU, context(NOON + HOUR, { grants: [grant] })).mode).toBe('none');
  });
});

describe('mergeClusterRoles', () => {
  test('one entry per role, cluster-wide winning, namespaces united and sorted', () => {
    expect(
      mergeClusterRoles([
        { name: 'view', namespaces: ['b'] },
        { name: 'edit', namespaces: ['x'] },
        { name: 'view', namespaces: ['a', 'b'] },
        { name: 'admin', namespaces: ['a'] },
        { name: 'admin' },
        { name: 'admin', namespaces: ['z'] },
      ]),
    ).toEqual([{ name: 'admin' }, { name: 'edit', namespaces: ['x'] }, { name: 'view', namespaces: ['a', 'b'] }]);
  });
});

describe('breakGlassEligibility', () => {
  test('eligible: the terms of the policy', () => {
    expect(e.breakGlassEligibility(subject({ groups: ['sre-oncall'] }), 'oncall-admin', PROD_EU, context(NOON))).toEqual({
      eligible: true,
      policy: 'oncall-admin',
      maxDurationMs: 2 * HOUR,
      justificationRequired: true,
      minApprovals: 2,
    });
    expect(e.breakGlassEligibility(subject(), 'self-service', STAGING, context(NOON))).toEqual({
      eligible: true,
      policy: 'self-service',
      maxDurationMs: 30 * 60_000,
      justificationRequired: false,
      minApprovals: 0,
    });
  });

  test.each<[string, Parameters<typeof subject>[0], string, ReturnType<typeof cluster>, RegExp]>([
    ['no such policy', { groups: ['sre-oncall'] }, 'nope', PROD_EU, /there is no BreakGlassPolicy "nope"/],
    ['not a subject', { groups: ['devs'] }, 'oncall-admin', PROD_EU, /not among the subjects of BreakGlassPolicy "oncall-admin"/],
    ['cluster not covered', { groups: ['sre-oncall'] }, 'oncall-admin', STAGING, /does not cover cluster "staging-1"/],
    ['shut out by a disabled policy', { groups: ['sre-oncall', 'contractors'] }, 'oncall-admin', PROD_EU, /disabled .* by AccessPolicy "no-prod-for-contractors"/],
  ])('not eligible: %s', (_why, who, policyName, target, message) => {
    const result = e.breakGlassEligibility(subject(who), policyName, target, context(NOON));
    expect(result.eligible).toBe(false);
    if (!result.eligible) expect(result.message).toMatch(message);
  });
});

describe('canApprove', () => {
  test.each<[string, Parameters<typeof subject>[0], string, string, boolean]>([
    ['an approver by group', { user: 'lead', groups: ['sre-leads'] }, 'oncall-admin', 'alice', true],
    ['an approver by name', { user: 'erin' }, 'oncall-admin', 'alice', true],
    ['not an approver', { user: 'bob', groups: ['sre-oncall'] }, 'oncall-admin', 'alice', false],
    ['the requester, even as an approver', { user: 'alice', groups: ['sre-leads'] }, 'oncall-admin', 'alice', false],
    ['under a policy that needs no approval', { user: 'lead', groups: ['sre-leads'] }, 'self-service', 'alice', false],
    ['under a policy that does not exist', { user: 'lead', groups: ['sre-leads'] }, 'nope', 'alice', false],
  ])('%s → %s', (_who, approver, policyName, requester, expected) => {
    expect(e.canApprove(subject(approver), policyName, requester)).toBe(expected);
  });
});
