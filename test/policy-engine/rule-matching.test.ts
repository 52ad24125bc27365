/**
 * Rules match requests as Kubernetes RBAC matches them (verbs, API groups, resources and
 * subresources, resource names, non-resource URLs), plus kubegate's `namespaces`.
 */
import { allowed, context, engine, NOON, refused, request, type RequestOptions } from './engine-fixtures';

const readers = engine(`
  kind: AccessPolicy
  metadata: {name: readers}
  spec:
    subjects: {users: [alice]}
    clusters: {names: [prod]}
    rules:
      - {apiGroups: [""], resources: [pods], verbs: [get], namespaces: [a]}
      - {apiGroups: [apps], resources: [deployments], verbs: [list, watch]}
      - {apiGroups: [""], resources: [configmaps], verbs: [get, list, update], namespaces: [a], resourceNames: [app-config]}
      - {apiGroups: [""], resources: [nodes], verbs: [get, list]}
      - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings, rolebindings], verbs: [get], namespaces: [a]}
      - {nonResourceURLs: [/healthz, /healthz/*, /version], verbs: [get]}
`);

type Case = [method: string, path: string, expected: number | 'denied'];

describe('a policy of several rules', () => {
  const cases: Case[] = [
    // rule 0: get pods in namespace a, nothing else
    ['GET', '/api/v1/namespaces/a/pods/web', 0],
    ['HEAD', '/api/v1/namespaces/a/pods/web', 0],
    ['GET', '/api/v1/namespaces/b/pods/web', 'denied'],
    ['GET', '/api/v1/namespaces/a/pods', 'denied'], // list
    ['GET', '/api/v1/pods', 'denied'], // list across all namespaces (namespace '')
    ['GET', '/api/v1/namespaces/a/pods?watch=true', 'denied'],
    ['DELETE', '/api/v1/namespaces/a/pods/web', 'denied'],
    ['GET', '/api/v1/namespaces/a/pods/web/exec?command=sh', 'denied'],
    ['POST', '/api/v1/namespaces/a/pods/web/exec?command=sh', 'denied'],
    ['GET', '/api/v1/namespaces/a/pods/web/log', 'denied'],
    ['GET', '/api/v1/namespaces/a/pods/web/status', 'denied'],
    ['GET', '/apis/apps/v1/namespaces/a/pods/web', 'denied'], // another API group
    // rule 1: list and watch deployments anywhere, including across namespaces
    ['GET', '/apis/apps/v1/namespaces/x/deployments', 1],
    ['GET', '/apis/apps/v1/deployments', 1],
    ['GET', '/apis/apps/v1/namespaces/x/deployments?watch=1', 1],
    ['GET', '/apis/apps/v1/watch/namespaces/x/deployments', 1],
    ['GET', '/apis/apps/v1/namespaces/x/deployments/web', 'denied'], // get
    ['GET', '/apis/apps/v1/namespaces/x/deployments/web/scale', 'denied'],
    ['GET', '/apis/extensions/v1beta1/namespaces/x/deployments', 'denied'],
    ['GET', '/api/v1/namespaces/x/deployments', 'denied'], // core group
    // rule 2: one named configmap
    ['GET', '/api/v1/namespaces/a/configmaps/app-config', 2],
    ['PUT', '/api/v1/namespaces/a/configmaps/app-config', 2],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dapp-config', 2],
    ['GET', '/api/v1/namespaces/a/configmaps/other', 'denied'],
    ['GET', '/api/v1/namespaces/a/configmaps', 'denied'], // a list names nothing
    ['PATCH', '/api/v1/namespaces/a/configmaps/app-config', 'denied'],
    ['GET', '/api/v1/namespaces/b/configmaps/app-config', 'denied'],
    // rule 3: cluster-scoped nodes (a rule without namespaces covers them)
    ['GET', '/api/v1/nodes', 3],
    ['GET', '/api/v1/nodes/node-1', 3],
    ['GET', '/api/v1/nodes/node-1/proxy/metrics', 'denied'],
    ['GET', '/api/v1/nodes/node-1/status', 'denied'],
    // rule 4: namespaced requests in a only: never the cluster-scoped clusterrolebindings
    ['GET', '/apis/rbac.authorization.k8s.io/v1/namespaces/a/rolebindings/x', 4],
    ['GET', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/x', 'denied'],
    // rule 5: non-resource URLs, exact or by prefix
    ['GET', '/healthz', 5],
    ['GET', '/healthz/etcd', 5],
    ['GET', '/version', 5],
    ['GET', '/version/', 'denied'],
    ['GET', '/healthzz', 'denied'],
    ['GET', '/metrics', 'denied'],
    ['POST', '/healthz', 'denied'],
    ['HEAD', '/healthz', 'denied'], // non-resource verbs are the lowercase method
  ];

  test.each(cases)('%s %s → %s', (method, path, expected) => {
    const decision = readers.evaluate(request(method, path), context(NOON));
    if (expected === 'denied') {
      expect(refused(decision).code).toBe('not-permitted');
    } else {
      const ok = allowed(decision);
      expect(ok.policy).toBe('readers');
      expect(ok.policyKind).toBe('AccessPolicy');
      expect(ok.rule).toBe(expected);
      expect(ok.reason).toContain(`rule ${expected} of AccessPolicy "readers" allows`);
    }
  });

  test('the refusal says what was refused in Kubernetes terms, and why', () => {
    const list = refused(readers.evaluate(request('GET', '/api/v1/namespaces/b/pods'), context(NOON)));
    expect(list.message).toBe('user "alice" cannot list pods in namespace "b" on cluster "prod": not permitted by any rule of your policies');
    const exec = refused(readers.evaluate(request('POST', '/api/v1/namespaces/a/pods/web/exec'), context(NOON)));
    expect(exec.message).toBe('user "alice" cannot create pods/exec "web" in namespace "a" on cluster "prod": not permitted by any rule of your policies');
    const crb = refused(readers.evaluate(request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/x'), context(NOON)));
    expect(crb.message).toMatch(/^user "alice" cannot delete clusterrolebindings\.rbac\.authorization\.k8s\.io "x" at the cluster scope on cluster "prod": /);
    const path = refused(readers.evaluate(request('GET', '/metrics'), context(NOON)));
    expect(path.message).toMatch(/^user "alice" cannot get path "\/metrics" on cluster "prod": /);
    expect(path.reason).toContain('AccessPolicy "readers"');
  });

  test('an allowance depending on nothing time-bound stands until the store changes', () => {
    expect(allowed(readers.evaluate(request('GET', '/api/v1/nodes'), context(NOON))).validUntil).toBe(Number.MAX_SAFE_INTEGER);
    expect(refused(readers.evaluate(request('GET', '/metrics'), context(NOON))).validUntil).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('subjects', () => {
  const e = engine(`
    kind: AccessPolicy
    metadata: {name: devs}
    spec:
      subjects: {groups: [devs], users: [carol]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
  `);
  const list = (options: RequestOptions) => e.evaluate(request('GET', '/api/v1/namespaces/a/pods', options), context(NOON));

  test.each<[string, RequestOptions, boolean]>([
    ['a member of the group', { user: 'bob', groups: ['devs'] }, true],
    ['a member of the group among others', { user: 'bob', groups: ['ops', 'devs', 'qa'] }, true],
    ['a listed user without groups', { user: 'carol' }, true],
    ['someone else', { user: 'bob', groups: ['ops'] }, false],
    ['a user named like the group', { user: 'devs' }, false],
    ['a group named like the user', { user: 'bob', groups: ['carol'] }, false],
  ])('%s', (_what, options, expected) => {
    const decision = list(options);
    expect(decision.allowed).toBe(expected);
    if (!decision.allowed) {
      expect(decision.code).toBe('no-policy');
      expect(decision.message).toContain('no policy in force grants you access to this cluster');
    }
  });
});

describe('wildcards', () => {
  const e = engine(`
    kind: AccessPolicy
    metadata: {name: admin}
    spec:
      subjects: {users: [admin]}
      clusters: {names: [prod]}
      rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
    ---
    kind: AccessPolicy
    metadata: {name: logs}
    spec:
      subjects: {users: [logger]}
      clusters: {names: [prod]}
      rules:
        - {apiGroups: [""], resources: ["*/log"], verbs: [get]}
        - {apiGroups: [""], resources: ["pods/*"], verbs: [get]}
    ---
    kind: AccessPolicy
    metadata: {name: any-group}
    spec:
      subjects: {users: [grouper]}
      clusters: {names: [prod]}
      rules: [{apiGroups: ["*"], resources: [deployments], verbs: [get]}]
    ---
    kind: AccessPolicy
    metadata: {name: any-path}
    spec:
      subjects: {users: [prober]}
      clusters: {names: [prod]}
      rules: [{nonResourceURLs: ["*"], verbs: [get]}]
  `);
  const decide = (user: string, method: string, path: string) => e.evaluate(request(method, path, { user }), context(NOON)).allowed;

  test.each<[string, string, string, boolean]>([
    ['admin', 'GET', '/api/v1/namespaces/a/pods', true],
    ['admin', 'DELETE', '/apis/apps/v1/namespaces/a/deployments/web', true],
    ['admin', 'GET', '/api/v1/namespaces/a/pods/web/exec', true], // "*" covers subresources, as in RBAC
    ['admin', 'POST', '/api/v1/namespaces/a/pods/web/exec', true],
    ['admin', 'GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles', true],
    ['admin', 'OPTIONS', '/api/v1/namespaces/a/pods', true], // kube's no-verb '' is only matched by "*"
    ['admin', 'GET', '/healthz', false], // resource rules never match non-resource paths
    ['logger', 'GET', '/api/v1/namespaces/a/pods/web/log', true], // */log: the log of any resource
    ['logger', 'GET', '/api/v1/namespaces/a/pods/web', false],
    ['logger', 'GET', '/api/v1/namespaces/a/pods/web/exec', false], // pods/* is not a wildcard in RBAC
    ['logger', 'GET', '/apis/apps/v1/namespaces/a/deployments/web/log', false], // another group
    ['grouper', 'GET', '/apis/apps/v1/namespaces/a/deployments/web', true],
    ['grouper', 'GET', '/apis/extensions/v1beta1/namespaces/a/deployments/web', true],
    ['grouper', 'GET', '/api/v1/namespaces/a/deployments/web', true],
    ['grouper', 'GET', '/apis/apps/v1/namespaces/a/deployments/web/scale', false],
    ['prober', 'GET', '/anything/at/all', true],
    ['prober', 'GET', '/api', true],
    ['prober', 'POST', '/anything', false],
    ['prober', 'GET', '/api/v1/namespaces/a/pods', false], // non-resource rules never match resources
    ['admin', 'OPTIONS', '/healthz', false],
  ])('%s %s %s → %s', (user, method, path, expected) => {
    expect(decide(user, method, path)).toBe(expected);
  });
});

describe('privileged subresources', () => {
  const e = engine(`
    kind: AccessPolicy
    metadata: {name: exec-create}
    spec:
      subjects: {users: [create-only]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods/exec], verbs: [create], namespaces: [a]}]
    ---
    kind: AccessPolicy
    metadata: {name: exec-get}
    spec:
      subjects: {users: [get-only]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods/exec, pods/attach, pods/portforward], verbs: [get], namespaces: [a]}]
    ---
    kind: AccessPolicy
    metadata: {name: exec-both}
    spec:
      subjects: {users: [both]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods/exec, pods/attach, pods/portforward], verbs: [create, get], namespaces: [a]}]
    ---
    kind: AccessPolicy
    metadata: {name: split}
    spec:
      subjects: {users: [split]}
      clusters: {names: [prod]}
      rules:
        - {apiGroups: [""], resources: [pods/exec], verbs: [get], namespaces: [a]}
        - {apiGroups: [""], resources: [pods/exec], verbs: [create], namespaces: [a]}
    ---
    kind: AccessPolicy
    metadata: {name: pods-everything}
    spec:
      subjects: {users: [pods-admin]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods, nodes, services], verbs: ["*"]}]
    ---
    kind: AccessPolicy
    metadata: {name: proxies}
    spec:
      subjects: {users: [proxier]}
      clusters: {names: [prod]}
      rules:
        - {apiGroups: [""], resources: [nodes/proxy, services/proxy], verbs: [get]}
        - {apiGroups: [""], resources: [pods/proxy], verbs: ["*"], namespaces: [a]}
  `);
  const decide = (user: string, method: string, path: string) => e.evaluate(request(method, path, { user }), context(NOON));

  test.each<[string, string, string, boolean]>([
    // SPDY exec is a POST (create); WebSocket exec is a GET, which also needs create (kube ≥ 1.35)
    ['create-only', 'POST', '/api/v1/namespaces/a/pods/web/exec?command=sh', true],
    ['create-only', 'GET', '/api/v1/namespaces/a/pods/web/exec?command=sh', false],
    ['get-only', 'GET', '/api/v1/namespaces/a/pods/web/exec?command=sh', false],
    ['get-only', 'GET', '/api/v1/namespaces/a/pods/web/attach', false],
    ['get-only', 'GET', '/api/v1/namespaces/a/pods/web/portforward', false],
    ['both', 'GET', '/api/v1/namespaces/a/pods/web/exec?command=sh', true],
    ['both', 'POST', '/api/v1/namespaces/a/pods/web/exec?command=sh', true],
    ['both', 'GET', '/api/v1/namespaces/a/pods/web/attach', true],
    ['both', 'GET', '/api/v1/namespaces/a/pods/web/portforward', true],
    ['both', 'GET', '/api/v1/namespaces/b/pods/web/exec', false],
    ['both', 'GET', '/api/v1/namespaces/a/pods/web', false],
    ['split', 'GET', '/api/v1/namespaces/a/pods/web/exec', true], // like two RBAC checks, two rules may answer them
    // "*" on pods does not reach pods/exec or any proxy: subresources are resources of their own
    ['pods-admin', 'GET', '/api/v1/namespaces/a/pods/web', true],
    ['pods-admin', 'POST', '/api/v1/namespaces/a/pods/web/exec', false],
    ['pods-admin', 'GET', '/api/v1/namespaces/a/pods/web/exec', false],
    ['pods-admin', 'GET', '/api/v1/namespaces/a/pods/web/proxy/', false],
    ['pods-admin', 'GET', '/api/v1/nodes/n1/proxy/metrics', false],
    ['pods-admin', 'GET', '/api/v1/namespaces/a/services/web/proxy/', false],
    // the deprecated /proxy/ form is matched as <resource>/proxy with the verb proxy
    ['pods-admin', 'GET', '/api/v1/proxy/namespaces/a/pods/web', false],
    ['proxier', 'GET', '/api/v1/proxy/namespaces/a/pods/web', true],
    ['proxier', 'GET', '/api/v1/proxy/nodes/n1/metrics', false],
    ['proxier', 'GET', '/api/v1/nodes/n1/proxy/metrics', true],
    ['proxier', 'GET', '/api/v1/namespaces/a/services/web:80/proxy/x', true],
    ['proxier', 'POST', '/api/v1/nodes/n1/proxy/x', false],
  ])('%s %s %s → %s', (user, method, path, expected) => {
    expect(decide(user, method, path).allowed).toBe(expected);
  });

  test('a GET exec without create says that create is needed', () => {
    const decision = refused(decide('get-only', 'GET', '/api/v1/namespaces/a/pods/web/exec?command=sh'));
    expect(decision.code).toBe('not-permitted');
    expect(decision.message.startsWith('user "get-only" cannot create pods/exec "web" in namespace "a" on cluster "prod": ')).toBe(true);
    expect(decision.message).toContain('opening a pod session needs create on pods/exec');
  });

  test('an allowed GET exec names the policy and both rules in its reason', () => {
    const decision = allowed(decide('split', 'GET', '/api/v1/namespaces/a/pods/web/exec'));
    expect(decision.rule).toBe(0);
    expect(decision.reason).toContain('rule 0 of AccessPolicy "split" allows get pods/exec');
    expect(decision.reason).toContain('rule 1 of AccessPolicy "split" allows create pods/exec');
  });
});

describe('a policy with clusterRoles and no rules', () => {
  const e = engine(`
    kind: AccessPolicy
    metadata: {name: viewers}
    spec:
      subjects: {users: [alice]}
      clusters: {names: [prod]}
      clusterRoles: [{name: view, namespaces: [a]}]
    ---
    kind: AccessPolicy
    metadata: {name: narrow}
    spec:
      subjects: {users: [bob]}
      clusters: {names: [prod]}
      rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
      clusterRoles: [{name: edit}]
  `);

  test.each([
    ['GET', '/api/v1/namespaces/a/pods'],
    ['DELETE', '/api/v1/namespaces/zzz/secrets/x'],
    ['POST', '/api/v1/namespaces/a/pods/web/exec'],
    ['GET', '/api/v1/namespaces/a/pods/web/exec'],
    ['GET', '/healthz'],
  ])('admits %s %s at the edge: the cluster RBAC for its roles decides', (method, path) => {
    const decision = allowed(e.evaluate(request(method, path), context(NOON)));
    expect(decision.policy).toBe('viewers');
    expect(decision.rule).toBeUndefined();
    expect(decision.reason).toContain("clusterRoles only: the cluster's RBAC decides");
  });

  test('with rules as well, the rules are what the edge allows', () => {
    expect(e.evaluate(request('GET', '/api/v1/namespaces/a/pods/x', { user: 'bob' }), context(NOON)).allowed).toBe(true);
    expect(refused(e.evaluate(request('DELETE', '/api/v1/namespaces/a/pods/x', { user: 'bob' }), context(NOON))).code).toBe('not-permitted');
  });
});
