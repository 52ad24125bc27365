/**
 * How documents combine (policies/README.md): disabled policies, the kubectl kill switch,
 * console-only, defaultAccessMode specificity, active sessions and break-glass grants, with
 * the deny codes, messages and validUntil each gives.
 */
import type { ActiveGrant } from '../../control-plane/policy-engine/engine-contract';
import { PolicyEngine } from '../../control-plane/policy-engine/policy-engine';
import { allowed, at, context, documents, engine, FOREVER, HOUR, MINUTE, NOON, refused, request, type RequestOptions } from './engine-fixtures';

const PROD_EU: RequestOptions = { cluster: 'prod-eu-1', labels: { env: 'prod', region: 'eu' } };
const PROD_US: RequestOptions = { cluster: 'prod-us-1', labels: { env: 'prod', region: 'us' } };
const STAGING: RequestOptions = { cluster: 'staging-1', labels: { env: 'staging' } };

const LIST_PODS = '/api/v1/namespaces/a/pods';

describe('accessMode: disabled', () => {
  const yaml = `
    kind: AccessPolicy
    metadata: {name: devs-prod}
    spec:
      subjects: {groups: [devs]}
      clusters: {selector: {matchLabels: {env: prod}}}
      rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
    ---
    kind: AccessPolicy
    metadata: {name: devs-staging}
    spec:
      subjects: {groups: [devs]}
      clusters: {names: [staging-1]}
      clusterRoles: [{name: edit}]
    ---
    kind: AccessPolicy
    metadata: {name: contractors-off-prod}
    spec:
      subjects: {groups: [contractors]}
      clusters: {selector: {matchLabels: {env: prod}}}
      accessMode: disabled
    ---
    kind: AccessPolicy
    metadata: {name: offboard-mallory}
    spec:
      subjects: {users: [mallory]}
      clusters: {all: true}
      accessMode: disabled
      validity: {notBefore: 2025-06-02T12:00:00Z, notAfter: 2025-06-09T12:00:00Z}
    ---
    kind: AccessPolicy
    metadata: {name: weekend-freeze}
    spec:
      subjects: {groups: [devs]}
      clusters: {selector: {matchExpressions: [{key: env, operator: NotIn, values: [staging]}]}}
      accessMode: disabled
      validity:
        windows: [{days: [Sat, Sun], start: "00:00", end: "24:00", timeZone: UTC}]
    ---
    kind: BreakGlassPolicy
    metadata: {name: oncall}
    spec:
      subjects: {groups: [devs]}
      clusters: {all: true}
      clusterRoles: [{name: cluster-admin}]
      maxDuration: 2h
      approval: {required: false}
  `;
  const e = engine(yaml);
  const contractor = { user: 'alice', groups: ['devs', 'contractors'] };

  test('denies its subjects on its clusters whatever another policy allows, on every channel', () => {
    for (const channel of ['kubectl', 'console'] as const) {
      const decision = refused(e.evaluate(request('GET', LIST_PODS, { ...contractor, ...PROD_EU, channel }), context(NOON)));
      expect(decision.code).toBe('access-disabled');
      expect(decision.policy).toBe('contractors-off-prod');
      expect(decision.message).toBe('user "alice" cannot list pods in namespace "a" on cluster "prod-eu-1": access disabled by AccessPolicy "contractors-off-prod"');
      expect(decision.validUntil).toBe(FOREVER);
    }
  });

  test('only where it applies: other clusters and other subjects are unaffected', () => {
    expect(e.evaluate(request('GET', LIST_PODS, { ...contractor, ...STAGING }), context(NOON)).allowed).toBe(true);
    expect(e.evaluate(request('GET', LIST_PODS, { user: 'bob', groups: ['devs'], ...PROD_EU }), context(NOON)).allowed).toBe(true);
  });

  test('a break-glass grant does not override it', () => {
    const grant: ActiveGrant = { id: 'bg-1', policy: 'oncall', user: 'alice', cluster: 'prod-eu-1', expiresAt: NOON + HOUR };
    const decision = refused(e.evaluate(request('DELETE', '/api/v1/namespaces/a/pods/x', { ...contractor, ...PROD_EU }), context(NOON, { grants: [grant] })));
    expect(decision.code).toBe('access-disabled');
  });

  test('only while in force: before notBefore it denies nothing, and allowances end when it starts', () => {
    const mallory = { user: 'mallory', groups: ['devs'], ...PROD_EU };
    const before = allowed(e.evaluate(request('GET', LIST_PODS, mallory), context(at('2025-06-02T11:00:00Z'))));
    expect(before.policy).toBe('devs-prod');
    expect(before.validUntil).toBe(at('2025-06-02T12:00:00Z'));
    const during = refused(e.evaluate(request('GET', LIST_PODS, mallory), context(at('2025-06-02T12:00:00Z'))));
    expect(during.code).toBe('access-disabled');
    expect(during.policy).toBe('offboard-mallory');
    expect(during.validUntil).toBe(at('2025-06-09T12:00:00Z'));
    expect(e.evaluate(request('GET', LIST_PODS, mallory), context(at('2025-06-09T12:00:00Z'))).allowed).toBe(true);
  });

  test('a windowed disabled policy denies inside its windows only', () => {
    const bob = { user: 'bob', groups: ['devs'], ...PROD_US };
    const friday = allowed(e.evaluate(request('GET', LIST_PODS, bob), context(at('2025-06-06T20:00:00Z'))));
    expect(friday.validUntil).toBe(at('2025-06-07T00:00:00Z'));
    const saturday = refused(e.evaluate(request('GET', LIST_PODS, bob), context(at('2025-06-07T00:00:00Z'))));
    expect(saturday.code).toBe('access-disabled');
    expect(saturday.policy).toBe('weekend-freeze');
    expect(saturday.validUntil).toBeGreaterThan(at('2025-06-07T00:00:00Z'));
    expect(saturday.validUntil).toBeLessThanOrEqual(at('2025-06-09T00:00:00Z'));
    expect(e.evaluate(request('GET', LIST_PODS, bob), context(at('2025-06-09T00:00:00Z'))).allowed).toBe(true);
  });

  test('several disabled policies: the refusal lasts until the last of them ends', () => {
    // mallory is also a contractor: contractors-off-prod never ends, offboard-mallory does.
    const decision = refused(e.evaluate(request('GET', LIST_PODS, { user: 'mallory', groups: ['contractors'], ...PROD_EU }), context(at('2025-06-03T00:00:00Z'))));
    expect(decision.code).toBe('access-disabled');
    expect(decision.policy).toBe('contractors-off-prod');
    expect(decision.validUntil).toBe(FOREVER);
  });
});

describe('the kubectl kill switch', () => {
  const e = engine(`
    kind: ClusterSettings
    metadata: {name: prod-eu-1-incident}
    spec:
      description: "INC-4711"
      clusters: {names: [prod-eu-1]}
      kubectl: disabled
    ---
    kind: ClusterSettings
    metadata: {name: prod-enabled}
    spec:
      clusters: {selector: {matchLabels: {env: prod}}}
      kubectl: enabled
    ---
    kind: AccessPolicy
    metadata: {name: devs-prod}
    spec:
      subjects: {groups: [devs]}
      clusters: {selector: {matchLabels: {env: prod}}}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
    ---
    kind: BreakGlassPolicy
    metadata: {name: oncall}
    spec:
      subjects: {groups: [devs]}
      clusters: {all: true}
      rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
      maxDuration: 2h
      approval: {required: false}
  `);
  const dev = { user: 'alice', groups: ['devs'] };
  const grant: ActiveGrant = { id: 'bg-7', policy: 'oncall', user: 'alice', cluster: 'prod-eu-1', expiresAt: NOON + HOUR };

  test('refuses every kubectl request to its clusters, whatever enables it elsewhere', () => {
    const decision = refused(e.evaluate(request('GET', LIST_PODS, { ...dev, ...PROD_EU }), context(NOON)));
    expect(decision.code).toBe('kubectl-disabled');
    expect(decision.policy).toBe('prod-eu-1-incident');
    expect(decision.message).toBe(
      'user "alice" cannot list pods in namespace "a" on cluster "prod-eu-1": kubectl is disabled on this cluster by ClusterSettings "prod-eu-1-incident"; the web console still works',
    );
    expect(decision.validUntil).toBe(FOREVER);
  });

  test('break-glass included', () => {
    const decision = refused(e.evaluate(request('DELETE', '/api/v1/namespaces/a/pods/x', { ...dev, ...PROD_EU }), context(NOON, { grants: [grant] })));
    expect(decision.code).toBe('kubectl-disabled');
  });

  test('the console keeps working, break-glass included', () => {
    expect(allowed(e.evaluate(request('GET', LIST_PODS, { ...dev, ...PROD_EU, channel: 'console' }), context(NOON))).policy).toBe('devs-prod');
    const glass = allowed(e.evaluate(request('DELETE', '/api/v1/namespaces/a/pods/x', { ...dev, ...PROD_EU, channel: 'console' }), context(NOON, { grants: [grant] })));
    expect(glass.breakGlassId).toBe('bg-7');
  });

  test('other clusters are unaffected', () => {
    expect(e.evaluate(request('GET', LIST_PODS, { ...dev, ...PROD_US }), context(NOON)).allowed).toBe(true);
  });
});

describe('console-only', () => {
  const e = engine(`
    kind: AccessPolicy
    metadata: {name: contractors-console}
    spec:
      subjects: {groups: [contractors]}
      clusters: {names: [prod-eu-1]}
      accessMode: console-only
      rules: [{apiGroups: [""], resources: [pods], verbs: [get, list], namespaces: [b]}]
    ---
    kind: AccessPolicy
    metadata: {name: team-kubectl}
    spec:
      subjects: {groups: [team]}
      clusters: {names: [prod-eu-1]}
      accessMode: kubectl
      rules: [{apiGroups: [""], resources: [pods], verbs: [get, list], namespaces: [a]}]
  `);
  const list = (ns: string, groups: string[], channel: 'kubectl' | 'console') =>
    e.evaluate(request('GET', `/api/v1/namespaces/${ns}/pods`, { user: 'alice', groups, ...PROD_EU, channel }), context(NOON));

  test('allows the console channel only', () => {
    expect(allowed(list('b', ['contractors'], 'console')).policy).toBe('contractors-console');
    const kubectl = refused(list('b', ['contractors'], 'kubectl'));
    expect(kubectl.code).toBe('console-only');
    expect(kubectl.message).toBe(
      'user "alice" cannot list pods in namespace "b" on cluster "prod-eu-1": your access to this cluster is console-only (AccessPolicy "contractors-console"); use the kubegate web console',
    );
  });

  test('when every policy that applies is console-only, any kubectl request is told so', () => {
    expect(refused(list('zzz', ['contractors'], 'kubectl')).code).toBe('console-only');
    expect(refused(list('zzz', ['contractors'], 'console')).code).toBe('not-permitted');
  });

  test('beside a kubectl policy, each request gets the reason that applies to it', () => {
    const both = ['contractors', 'team'];
    expect(allowed(list('a', both, 'kubectl')).policy).toBe('team-kubectl');
    expect(refused(list('b', both, 'kubectl')).code).toBe('console-only');
    expect(allowed(list('b', both, 'console')).policy).toBe('contractors-console');
    expect(refused(list('c', both, 'kubectl')).code).toBe('not-permitted');
  });
});

describe('defaultAccessMode', () => {
  const e = engine(`
    kind: ClusterSettings
    metadata: {name: everywhere}
    spec:
      clusters: {all: true}
      defaultAccessMode: console-only
    ---
    kind: ClusterSettings
    metadata: {name: prod}
    spec:
      clusters: {selector: {matchLabels: {env: prod}}}
      defaultAccessMode: kubectl
    ---
    kind: ClusterSettings
    metadata: {name: eu}
    spec:
      clusters: {selector: {matchLabels: {region: eu}}}
      defaultAccessMode: disabled
    ---
    kind: ClusterSettings
    metadata: {name: prod-eu-2}
    spec:
      clusters: {names: [prod-eu-2]}
      defaultAccessMode: kubectl
    ---
    kind: ClusterSettings
    metadata: {name: us-kill}
    spec:
      clusters: {selector: {matchLabels: {region: us}}}
      kubectl: disabled
    ---
    kind: AccessPolicy
    metadata: {name: plain}
    spec:
      subjects: {users: [alice]}
      clusters: {all: true}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
    ---
    kind: AccessPolicy
    metadata: {name: explicit}
    spec:
      subjects: {users: [bob]}
      clusters: {all: true}
      accessMode: kubectl
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
  `);
  const decide = (user: string, clusterName: string, labels: Record<string, string>, channel: 'kubectl' | 'console') =>
    e.evaluate(request('GET', LIST_PODS, { user, cluster: clusterName, labels, channel }), context(NOON));

  test.each<[string, string, Record<string, string>, string, string]>([
    // [why, cluster, labels, kubectl result, console result] for a policy without accessMode
    ['only all: true applies', 'dev-1', {}, 'console-only', 'allowed'],
    ['a selector beats all: true', 'prod-ap-1', { env: 'prod' }, 'allowed', 'allowed'],
    ['equally specific selectors: the most restrictive wins, and disabled grants nothing', 'prod-eu-1', { env: 'prod', region: 'eu' }, 'no-policy', 'no-policy'],
    ['a name beats every selector', 'prod-eu-2', { env: 'prod', region: 'eu' }, 'allowed', 'allowed'],
    ['a selector that sets only the kill switch does not change the default', 'lab-us-1', { region: 'us' }, 'kubectl-disabled', 'allowed'],
  ])('%s', (_why, clusterName, labels, kubectl, console) => {
    const outcome = (d: ReturnType<typeof decide>) => (d.allowed ? 'allowed' : d.code);
    expect(outcome(decide('alice', clusterName, labels, 'kubectl'))).toBe(kubectl);
    expect(outcome(decide('alice', clusterName, labels, 'console'))).toBe(console);
  });

  test('a policy that sets accessMode ignores the default', () => {
    expect(decide('bob', 'prod-eu-1', { env: 'prod', region: 'eu' }, 'kubectl').allowed).toBe(true);
    expect(decide('bob', 'dev-1', {}, 'kubectl').allowed).toBe(true);
  });

  test('a default of disabled is explained in the audit reason, not as a denial by policy', () => {
    const decision = refused(decide('alice', 'prod-eu-1', { env: 'prod', region: 'eu' }, 'kubectl'));
    expect(decision.policy).toBeUndefined();
    expect(decision.reason).toContain('AccessPolicy "plain" grants nothing here (defaultAccessMode disabled by ClusterSettings "eu")');
  });
});

describe('requireActiveSession', () => {
  const e = engine(`
    kind: AccessPolicy
    metadata: {name: gated}
    spec:
      subjects: {users: [alice, carol]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
      requireActiveSession: {within: 15m}
    ---
    kind: AccessPolicy
    metadata: {name: carol-free}
    spec:
      subjects: {users: [carol]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
  `);
  const decide = (lastConsoleActivity: number | undefined, options: RequestOptions = {}) =>
    e.evaluate(request('GET', LIST_PODS, options), context(NOON, lastConsoleActivity === undefined ? {} : { lastConsoleActivity }));

  test('kubectl without any console session is refused, and the refusal is never reused', () => {
    const decision = refused(decide(undefined));
    expect(decision.code).toBe('session-required');
    expect(decision.message).toBe(
      'user "alice" cannot list pods in namespace "a" on cluster "prod": requires an active console session within 15m (AccessPolicy "gated"); use the kubegate web console, then retry',
    );
    // Console activity does not advance the store generation: a cached refusal would outlive it.
    expect(decision.validUntil).toBe(NOON);
  });

  test.each<[string, number, boolean, number | undefined]>([
    ['just now', NOON, true, NOON + 15 * MINUTE + 1],
    ['5 minutes ago', NOON - 5 * MINUTE, true, NOON + 10 * MINUTE + 1],
    ['exactly 15 minutes ago', NOON - 15 * MINUTE, true, NOON + 1],
    ['15 minutes and 1 ms ago', NOON - 15 * MINUTE - 1, false, undefined],
    ['an hour ago', NOON - HOUR, false, undefined],
  ])('last console activity %s', (_when, last, expected, validUntil) => {
    const decision = decide(last);
    expect(decision.allowed).toBe(expected);
    if (decision.allowed) expect(decision.validUntil).toBe(validUntil);
    else expect(decision.code).toBe('session-required');
  });

  test('the console channel itself needs no session', () => {
    expect(allowed(decide(undefined, { channel: 'console' })).validUntil).toBe(FOREVER);
  });

  test('another policy without the requirement allows on its own, for as long as it lasts', () => {
    const decision = allowed(decide(NOON - MINUTE, { user: 'carol' }));
    expect(decision.policy).toBe('carol-free');
    expect(decision.validUntil).toBe(FOREVER);
    expect(allowed(decide(undefined, { user: 'carol' })).policy).toBe('carol-free');
    // get is only in the gated policy.
    const get = refused(e.evaluate(request('GET', '/api/v1/namespaces/a/pods/x', { user: 'carol' }), context(NOON)));
    expect(get.code).toBe('session-required');
  });

  test('a request the gated policy does not permit is refused as not permitted', () => {
    expect(refused(e.evaluate(request('DELETE', '/api/v1/namespaces/a/pods/x'), context(NOON))).code).toBe('not-permitted');
  });
});

describe('break-glass grants', () => {
  const yaml = `
    kind: AccessPolicy
    metadata: {name: devs-prod}
    spec:
      subjects: {groups: [devs]}
      clusters: {selector: {matchLabels: {env: prod}}}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
      requireActiveSession: {within: 15m}
    ---
    kind: BreakGlassPolicy
    metadata: {name: oncall-admin}
    spec:
      subjects: {groups: [sre-oncall]}
      clusters: {selector: {matchLabels: {env: prod}}}
      rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
      maxDuration: 2h
      approval: {required: true, approvers: {groups: [sre-leads]}, minApprovals: 1}
    ---
    kind: BreakGlassPolicy
    metadata: {name: oncall-roles}
    spec:
      subjects: {users: [alice]}
      clusters: {names: [prod-eu-1]}
      clusterRoles: [{name: cluster-admin}]
      maxDuration: 1h
      approval: {required: false}
      justification: optional
  `;
  const e = engine(yaml);
  const alice = { user: 'alice', groups: ['devs', 'sre-oncall'] };
  const grant: ActiveGrant = { id: 'bg-1', policy: 'oncall-admin', user: 'alice', cluster: 'prod-eu-1', expiresAt: NOON + HOUR };
  const del = (grants: readonly ActiveGrant[], options: RequestOptions = {}, now = NOON) =>
    e.evaluate(request('DELETE', '/apis/apps/v1/namespaces/a/deployments/web', { ...alice, ...PROD_EU, ...options }), context(now, { grants }));

  test('in force: adds its rules in kubectl mode, named in the decision, until it expires', () => {
    const decision = allowed(del([grant]));
    expect(decision).toMatchObject({ policy: 'oncall-admin', policyKind: 'BreakGlassPolicy', breakGlassId: 'bg-1', rule: 0, validUntil: NOON + HOUR });
    expect(decision.reason).toContain('break-glass grant "bg-1"');
    // kubectl mode: no console session needed, unlike devs-prod.
    expect(allowed(e.evaluate(request('GET', LIST_PODS, { ...alice, ...PROD_EU }), context(NOON, { grants: [grant] }))).breakGlassId).toBe('bg-1');
  });

  test('expired: exactly at expiresAt it no longer counts', () => {
    expect(del([grant], {}, NOON + HOUR - 1).allowed).toBe(true);
    const after = refused(del([grant], {}, NOON + HOUR));
    expect(after.code).toBe('not-permitted');
  });

  test.each<[string, ActiveGrant, RequestOptions]>([
    ['for another cluster', { ...grant, cluster: 'prod-us-1' }, {}],
    ['for another user', { ...grant, user: 'bob' }, {}],
    ['no longer covering the cluster', { ...grant, cluster: 'staging-1' }, STAGING],
    ['for a user no longer among its subjects', grant, { groups: ['devs'] }],
    ['under a policy that does not exist', { ...grant, policy: 'gone' }, {}],
  ])('ignored when %s', (_why, g, options) => {
    expect(del([g], options).allowed).toBe(false);
  });

  test('ignored once its BreakGlassPolicy is removed from the policy set', () => {
    const withoutPolicy = new PolicyEngine(documents(yaml).filter((d) => d.metadata.name !== 'oncall-admin'));
    const decision = withoutPolicy.evaluate(request('DELETE', '/apis/apps/v1/namespaces/a/deployments/web', { ...alice, ...PROD_EU }), context(NOON, { grants: [grant] }));
    expect(refused(decision).code).toBe('not-permitted');
  });

  test('a grant for clusterRoles only admits at the edge; a standing policy that also allows is preferred', () => {
    const roles: ActiveGrant = { id: 'bg-2', policy: 'oncall-roles', user: 'alice', cluster: 'prod-eu-1', expiresAt: NOON + 30 * MINUTE };
    const decision = allowed(del([roles]));
    expect(decision).toMatchObject({ policy: 'oncall-roles', breakGlassId: 'bg-2', validUntil: NOON + 30 * MINUTE });
    expect(decision.rule).toBeUndefined();
    // With a session, devs-prod allows list pods for 15 minutes, the grant for 30: the longer one decides.
    const list = allowed(e.evaluate(request('GET', LIST_PODS, { ...alice, ...PROD_EU }), context(NOON, { grants: [roles], lastConsoleActivity: NOON })));
    expect(list).toMatchObject({ policy: 'oncall-roles', validUntil: NOON + 30 * MINUTE });
  });

  test('a refusal with a grant in force may change when the grant expires', () => {
    const decision = refused(e.evaluate(request('GET', '/metrics', { ...alice, ...PROD_EU }), context(NOON, { grants: [grant] })));
    expect(decision.code).toBe('not-permitted');
    expect(decision.validUntil).toBe(NOON + HOUR);
  });

  test('a grant alone is enough: no AccessPolicy needed', () => {
    const decision = allowed(del([grant], { groups: ['sre-oncall'] }));
    expect(decision.breakGlassId).toBe('bg-1');
  });
});

describe('validUntil across documents', () => {
  const e = engine(`
    kind: AccessPolicy
    metadata: {name: readers}
    spec:
      subjects: {groups: [devs]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
    ---
    kind: AccessPolicy
    metadata: {name: change-freeze}
    spec:
      subjects: {groups: [devs]}
      clusters: {names: [prod]}
      accessMode: disabled
      validity: {notBefore: 2025-06-02T12:00:00Z}
    ---
    kind: AccessPolicy
    metadata: {name: deployers}
    spec:
      subjects: {groups: [devs]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [apps], resources: [deployments], verbs: [patch]}]
      validity:
        notAfter: 2025-06-30T00:00:00Z
        windows: [{days: [Mon, Tue, Wed, Thu], start: "14:00", end: "16:00", timeZone: UTC}]
  `);
  const dev = { user: 'alice', groups: ['devs'] };

  test('an allowance ends when a disabled policy comes into force', () => {
    expect(allowed(e.evaluate(request('GET', LIST_PODS, dev), context(NOON))).validUntil).toBe(at('2025-06-02T12:00:00Z'));
  });

  test('a refusal ends when a window of another applicable policy could open', () => {
    const decision = refused(e.evaluate(request('PATCH', '/apis/apps/v1/namespaces/a/deployments/web', dev), context(NOON)));
    expect(decision.code).toBe('not-permitted');
    expect(decision.validUntil).toBeGreaterThan(NOON);
    expect(decision.validUntil).toBeLessThanOrEqual(at('2025-06-02T12:00:00Z'));
  });

  test('no applicable policy at all: the refusal stands until the store changes', () => {
    expect(refused(e.evaluate(request('GET', LIST_PODS, { user: 'nobody' }), context(NOON))).validUntil).toBe(FOREVER);
  });
});

describe('cluster labels are read per request', () => {
  const e = engine(`
    kind: ClusterSettings
    metadata: {name: prod-off}
    spec:
      clusters: {selector: {matchLabels: {env: prod}}}
      kubectl: disabled
    ---
    kind: AccessPolicy
    metadata: {name: everyone}
    spec:
      subjects: {users: [alice]}
      clusters: {all: true}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
  `);

  test('the same cluster name with other labels is resolved again', () => {
    const labels: Record<string, string> = { env: 'prod' };
    expect(refused(e.evaluate(request('GET', LIST_PODS, { cluster: 'c1', labels }), context(NOON))).code).toBe('kubectl-disabled');
    expect(e.evaluate(request('GET', LIST_PODS, { cluster: 'c1', labels: { env: 'dev' } }), context(NOON)).allowed).toBe(true);
    labels.env = 'dev'; // even a labels object changed in place
    expect(e.evaluate(request('GET', LIST_PODS, { cluster: 'c1', labels }), context(NOON)).allowed).toBe(true);
    labels.env = 'prod';
    expect(refused(e.evaluate(request('GET', LIST_PODS, { cluster: 'c1', labels }), context(NOON))).code).toBe('kubectl-disabled');
  });
});

describe('validUntil is never late', () => {
  const e = engine(`
    kind: AccessPolicy
    metadata: {name: office}
    spec:
      subjects: {groups: [devs]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list, get]}]
      validity:
        notBefore: 2025-03-26T09:30:00Z
        windows:
          - {days: [Mon, Tue, Wed, Thu, Fri], start: "08:00", end: "18:00", timeZone: Europe/Berlin}
          - {days: [Sat], start: "22:00", end: "02:30", timeZone: America/New_York}
    ---
    kind: AccessPolicy
    metadata: {name: lunch-freeze}
    spec:
      subjects: {groups: [devs]}
      clusters: {names: [prod]}
      accessMode: disabled
      validity:
        notAfter: 2025-04-03T00:00:00Z
        windows: [{days: [Mon, Wed, Sun], start: "12:00", end: "13:15", timeZone: Asia/Kolkata}]
    ---
    kind: AccessPolicy
    metadata: {name: console-evenings}
    spec:
      subjects: {groups: [devs]}
      clusters: {names: [prod]}
      accessMode: console-only
      rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
      validity:
        windows: [{days: [Mon, Tue, Wed, Thu, Fri, Sat, Sun], start: "18:00", end: "23:00", timeZone: Europe/Berlin}]
    ---
    kind: BreakGlassPolicy
    metadata: {name: oncall}
    spec:
      subjects: {groups: [devs]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [secrets], verbs: [list]}]
      maxDuration: 2h
      approval: {required: false}
  `);
  const grant: ActiveGrant = { id: 'bg-9', policy: 'oncall', user: 'alice', cluster: 'prod', expiresAt: at('2025-03-29T03:17:00Z') };
  const paths = ['/api/v1/namespaces/a/pods', '/api/v1/namespaces/a/secrets/x', '/api/v1/namespaces/a/secrets'];
  const outcome = (path: string, channel: 'kubectl' | 'console', now: number) => {
    const d = e.evaluate(request('GET', path, { groups: ['devs'], cluster: 'prod', channel }), context(now, { grants: [grant] }));
    return { d, summary: d.allowed ? `allowed by ${d.policy}` : `${d.code} ${d.policy ?? ''}` };
  };

  test('the decision at validUntil - 1 ms is the decision at the time it was made (a week across the spring DST change)', () => {
    let checked = 0;
    for (let t = at('2025-03-26T00:00:00Z'); t < at('2025-04-03T00:00:00Z'); t += 17 * MINUTE + 13_000) {
      for (const path of paths) {
        for (const channel of ['kubectl', 'console'] as const) {
          const now = outcome(path, channel, t);
          expect(now.d.validUntil).toBeGreaterThan(t);
          if (now.d.validUntil >= FOREVER) continue;
          const last = outcome(path, channel, now.d.validUntil - 1);
          expect({ path, channel, at: new Date(t).toISOString(), decision: last.summary }).toEqual({
            path,
            channel,
            at: new Date(t).toISOString(),
            decision: now.summary,
          });
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
