/**
 * The agent's and the proxy's RBAC: the manifests themselves, and what a real kube-apiserver
 * lets each identity do with them, using real ServiceAccount tokens from the TokenRequest API.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KubeClient } from '../../agent/kubernetes/kube-client';
import { KubeForbiddenError } from '../../agent/kubernetes/kube-errors';
import type { Binding, KubeObject } from '../../agent/kubernetes/kube-objects';
import { clusterRoleBindingPath, roleBindingPath, serviceAccountPath } from '../../agent/kubernetes/kube-paths';
import { AGENT_IDENTITY_SECRET, AGENT_SERVICE_ACCOUNT, PROXY_SERVICE_ACCOUNT } from '../../agent/rbac/rbac-names';
import { IdentityPersistenceError, SecretIdentityPersistence } from '../../agent/runtime/identity-persistence';
import { AgentRbacConfigError, agentRbacManifests, agentRoles, proxyRoles } from '../../constructs/agent-rbac';
import { ServiceAccountManager } from '../../agent/service-accounts/service-account-manager';
import { serviceAccountName } from '../../agent/service-accounts/service-account-names';
import { applyManifests, clusterRole, eventually, namespace, rejection, requestAs, startAgentTestCluster, whoAmI, type AgentTestCluster } from './support/agent-test-cluster';

jest.setTimeout(120_000);

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
const rulesOf = (obj: KubeObject) => (obj as KubeObject & { rules: Rule[] }).rules;

describe('manifests', () => {
  const manifests = agentRbacManifests({ allowedClusterRoles: ['view', 'edit', 'view'] });
  const find = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name)!;

  test('namespaces, identities, then roles each followed by their binding', () => {
    expect(manifests.map((m) => `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`)).toEqual([
      'Namespace//kubegate-system',
      'Namespace//kubegate-users',
      'ServiceAccount/kubegate-system/kubegate-agent',
      'ServiceAccount/kubegate-system/kubegate-proxy',
      'Role/kubegate-users/kubegate-agent-service-accounts',
      'RoleBinding/kubegate-users/kubegate-agent-service-accounts',
      'ClusterRole//kubegate-agent-bindings',
      'ClusterRoleBinding//kubegate-agent-bindings',
      'Role/kubegate-system/kubegate-agent-proxy-token',
      'RoleBinding/kubegate-system/kubegate-agent-proxy-token',
      'Role/kubegate-system/kubegate-agent-identity',
      'RoleBinding/kubegate-system/kubegate-agent-identity',
      'Role/kubegate-users/kubegate-proxy-impersonate',
      'RoleBinding/kubegate-users/kubegate-proxy-impersonate',
    ]);
  });

  test('the agent may bind exactly the allowed ClusterRoles, and never update or escalate', () => {
    expect(rulesOf(find('ClusterRole', 'kubegate-agent-bindings'))).toEqual([
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'clusterrolebindings'], verbs: ['get', 'list', 'create', 'delete'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['edit', 'view'] },
    ]);
    expect(rulesOf(find('Role', 'kubegate-agent-proxy-token'))).toEqual([{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: ['kubegate-proxy'] }]);
    expect(rulesOf(find('Role', 'kubegate-proxy-impersonate'))).toEqual([{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] }]);
  });

  test('no rule anywhere uses a wildcard or the escalate verb', () => {
    for (const m of manifests.filter((x) => x.kind === 'Role' || x.kind === 'ClusterRole')) {
      for (const rule of rulesOf(m)) {
        expect([...rule.apiGroups, ...rule.resources, ...rule.verbs, ...(rule.resourceNames ?? [])]).not.toContain('*');
        expect(rule.verbs).not.toContain('escalate');
      }
    }
  });

  test('with no allowed ClusterRoles the bind rule is left out, since an empty resourceNames would mean every role', () => {
    const rules = rulesOf(agentRoles({ allowedClusterRoles: [] }).find((m) => m.kind === 'ClusterRole')!);
    expect(rules.some((r) => r.verbs.includes('bind'))).toBe(false);
  });

  test('custom namespaces are honoured and must differ', () => {
    const custom = proxyRoles({ agentNamespace: 'kg-sys', usersNamespace: 'kg-people', allowedClusterRoles: [] });
    expect(custom[0].metadata.namespace).toBe('kg-people');
    expect((custom[1] as Binding).subjects).toEqual([{ kind: 'ServiceAccount', name: 'kubegate-proxy', namespace: 'kg-sys' }]);
    expect(() => agentRbacManifests({ agentNamespace: 'kubegate', usersNamespace: 'kubegate', allowedClusterRoles: [] })).toThrow(AgentRbacConfigError);
    expect(() => agentRbacManifests({ usersNamespace: 'Not A Namespace', allowedClusterRoles: [] })).toThrow(AgentRbacConfigError);
  });

  test.each([[''], ['..'], ['a/b'], ['%2e']])('refuses %j as an allowed ClusterRole name', (role) => {
    expect(() => agentRbacManifests({ allowedClusterRoles: [role] })).toThrow(AgentRbacConfigError);
  });
});

describe('in a real cluster', () => {
  const NS_READER = 'kg-namespace-reader';
  const CM_READER = 'kg-configmap-reader';
  const USERS_SA_PREFIX = 'system:serviceaccount:kubegate-users:';
  let env: AgentTestCluster;
  let admin: KubeClient;
  let agent: KubeClient;
  let proxyToken: string;
  let tokenDir: string;

  beforeAll(async () => {
    env = await startAgentTestCluster('agent-rbac');
    admin = env.admin;
    await applyManifests(admin, [
      namespace('team-a'),
      clusterRole(NS_READER, { resources: ['namespaces'], verbs: ['get', 'list'] }),
      clusterRole(CM_READER, { resources: ['configmaps'], verbs: ['get', 'list'] }),
      ...agentRbacManifests({ allowedClusterRoles: [NS_READER, CM_READER] }),
    ]);
    // The agent reads its token from a file, as it would from a projected volume in its pod.
    tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-agent-token-'));
    const agentToken = await admin.requestServiceAccountToken('kubegate-system', AGENT_SERVICE_ACCOUNT, { expirationSeconds: 3600 });
    fs.writeFileSync(path.join(tokenDir, 'token'), agentToken.token, { mode: 0o600 });
    agent = env.client({ credentials: { kind: 'token-file', path: path.join(tokenDir, 'token') } });
    proxyToken = (await eventually(() => agent.requestServiceAccountToken('kubegate-system', PROXY_SERVICE_ACCOUNT, { expirationSeconds: 3600 }))).token;
  });

  afterAll(async () => {
    await env?.stop();
    if (tokenDir) fs.rmSync(tokenDir, { recursive: true, force: true });
  });

  const forbidden = async (fn: () => Promise<unknown>): Promise<KubeForbiddenError> => {
    const err = await rejection(fn);
    expect(err).toBeInstanceOf(KubeForbiddenError);
    return err as KubeForbiddenError;
  };

  test('the tokens are the agent and the proxy, and the agent reads the apiserver version', async () => {
    expect((await whoAmI(agent)).username).toBe('system:serviceaccount:kubegate-system:kubegate-agent');
    const proxy = env.client({ credentials: { kind: 'token', token: proxyToken } });
    expect((await whoAmI(proxy)).username).toBe('system:serviceaccount:kubegate-system:kubegate-proxy');
    expect(await agent.serverVersion()).toMatch(/^v1\./);
  });

  test('the agent runs the whole user lifecycle with its own rights only', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const m = new ServiceAccountManager({ client: agent, allowedClusterRoles: [NS_READER, CM_READER], now: () => now });
    const result = await eventually(() => m.ensure({ user: 'alice', clusterRoles: [{ name: NS_READER }, { name: CM_READER, namespaces: ['team-a'] }] }));
    expect(result).toMatchObject({ created: true, bindingsCreated: 2 });
    expect(await m.ensure({ user: 'alice', clusterRoles: [{ name: CM_READER, namespaces: ['team-a'] }] })).toMatchObject({ bindingsRemoved: 1 });

    m.touch('alice', now + 10 * 60_000);
    expect(await m.flushLastUsed()).toEqual(['alice']);
    expect((await m.list()).map((a) => a.user)).toEqual(['alice']);

    await m.ensure({ user: 'bob', clusterRoles: [{ name: CM_READER, namespaces: ['team-a'] }] });
    await admin.delete(serviceAccountPath('kubegate-users', serviceAccountName('bob')));
    expect((await m.reconcile()).removedBindings).toHaveLength(1);

    now += 2 * 3_600_000;
    expect(await m.removeIdle(3_600_000)).toEqual(['alice']);
    expect(await m.list()).toEqual([]);
  });

  test('binding a ClusterRole that is not allowed is refused by the apiserver (RBAC escalation prevention)', async () => {
    // No local allow-list: the apiserver is the one refusing.
    const m = new ServiceAccountManager({ client: agent });
    const cluster = await forbidden(() => m.ensure({ user: 'mallory', clusterRoles: [{ name: 'cluster-admin' }] }));
    expect(cluster.kubeMessage).toContain('is attempting to grant RBAC permissions not currently held');
    await forbidden(() => m.ensure({ user: 'mallory', clusterRoles: [{ name: 'cluster-admin', namespaces: ['team-a'] }] }));
    const leftovers = await admin.list(clusterRoleBindingPath(), { labelSelector: `kubegate.io/service-account=${serviceAccountName('mallory')}` });
    expect(leftovers.items).toEqual([]);

    // Nor can it make itself an admin directly.
    await forbidden(() =>
      agent.create(clusterRoleBindingPath(), {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'agent-takeover' },
        subjects: [{ kind: 'ServiceAccount', name: AGENT_SERVICE_ACCOUNT, namespace: 'kubegate-system' }],
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      }),
    );
  });

  test('the agent cannot touch ServiceAccounts outside the users namespace, mint tokens other than the proxy\'s, update bindings or read secrets', async () => {
    await forbidden(() => agent.create(serviceAccountPath('default'), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sneaky' } }));
    await forbidden(() => agent.list(serviceAccountPath('kube-system')));
    await forbidden(() => agent.requestServiceAccountToken('kubegate-system', AGENT_SERVICE_ACCOUNT, { expirationSeconds: 3600 }));
    await forbidden(() => agent.list('/api/v1/secrets'));
    const m = new ServiceAccountManager({ client: agent });
    await m.ensure({ user: 'carol', clusterRoles: [{ name: CM_READER, namespaces: ['team-a'] }] });
    const [binding] = (await admin.list<Binding>(roleBindingPath('team-a'), { labelSelector: `kubegate.io/service-account=${serviceAccountName('carol')}` })).items;
    await forbidden(() => agent.replace(roleBindingPath('team-a', binding.metadata.name), { ...binding, apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' }));
  });

  test('the agent keeps its identity in its Secret, reads it back as another process would, and may touch no other Secret', async () => {
    const secretPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`;
    const store = new SecretIdentityPersistence(agent, 'kubegate-system', AGENT_IDENTITY_SECRET);
    // Before the manifests' empty Secret exists the agent is told what to apply; it cannot create it.
    const missing = await rejection(() => store.load());
    expect(missing).toBeInstanceOf(IdentityPersistenceError);
    expect((missing as Error).message).toContain('kubegate manifests agent');
    await forbidden(() => agent.create('/api/v1/namespaces/kubegate-system/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: AGENT_IDENTITY_SECRET } }));
    await admin.create('/api/v1/namespaces/kubegate-system/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: AGENT_IDENTITY_SECRET } });
    expect(await store.load()).toBeUndefined();
    const identity = { certPem: '-----BEGIN CERTIFICATE-----\nAGENT\n-----END CERTIFICATE-----\n', keyPem: '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n' };
    await store.save(identity);
    // A restarted agent (a new client, nothing in memory) finds the same identity.
    expect(await new SecretIdentityPersistence(agent, 'kubegate-system', AGENT_IDENTITY_SECRET).load()).toEqual(identity);
    await admin.create('/api/v1/namespaces/kubegate-system/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'other' }, stringData: { x: 'y' } });
    await forbidden(() => agent.get(secretPath('kubegate-system', 'other')));
    await forbidden(() => agent.delete(secretPath('kubegate-system', AGENT_IDENTITY_SECRET)));
    await forbidden(() => agent.get(secretPath('kube-system', AGENT_IDENTITY_SECRET)));
  });

  describe('the proxy', () => {
    const proxyAs = (impersonateUser: string | undefined, pathname: string, impersonateGroups?: string[]) =>
      requestAs(env.cluster, { token: proxyToken, path: pathname, ...(impersonateUser ? { impersonateUser } : {}), ...(impersonateGroups ? { impersonateGroups } : {}) });
    let userSa: string;

    beforeAll(async () => {
      const m = new ServiceAccountManager({ client: agent });
      await m.ensure({ user: 'dave', clusterRoles: [{ name: NS_READER }] });
      userSa = m.impersonationUser('dave');
      expect(userSa).toBe(`${USERS_SA_PREFIX}${serviceAccountName('dave')}`);
    });

    test('can impersonate a ServiceAccount of kubegate-users and then has exactly its rights', async () => {
      await eventually(async () => expect((await proxyAs(userSa, '/api/v1/namespaces')).status).toBe(200));
      expect((await proxyAs(userSa, '/api/v1/namespaces/team-a/configmaps')).status).toBe(403);
      const review = await requestAs(env.cluster, {
        token: proxyToken,
        impersonateUser: userSa,
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      const info = (JSON.parse(review.body) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
      expect(info.username).toBe(userSa);
      expect(info.groups).toEqual(expect.arrayContaining(['system:serviceaccounts', 'system:serviceaccounts:kubegate-users']));
    });

    const messageOf = (body: string) => (JSON.parse(body) as { message: string }).message;

    test.each([
      ['system:admin', 'users'],
      ['dave', 'users'],
      ['system:serviceaccount:kube-system:default', 'serviceaccounts'],
      ['system:serviceaccount:kubegate-system:kubegate-agent', 'serviceaccounts'],
    ])('cannot impersonate %s', async (user, resource) => {
      const res = await proxyAs(user, '/api/v1/namespaces');
      expect(res.status).toBe(403);
      expect(messageOf(res.body)).toContain(`cannot impersonate resource "${resource}"`);
    });

    test('cannot add a group to an impersonated ServiceAccount', async () => {
      const res = await proxyAs(userSa, '/api/v1/namespaces', ['system:masters']);
      expect(res.status).toBe(403);
      expect(messageOf(res.body)).toContain('cannot impersonate resource "groups"');
    });

    test('has no rights of its own', async () => {
      const res = await proxyAs(undefined, '/api/v1/namespaces');
      expect(res.status).toBe(403);
      expect(messageOf(res.body)).toContain('User "system:serviceaccount:kubegate-system:kubegate-proxy" cannot list resource "namespaces"');
    });
  });

  test('with no allowed ClusterRoles, the agent may bind none', async () => {
    await applyManifests(admin, agentRoles({ allowedClusterRoles: [] }));
    const m = new ServiceAccountManager({ client: agent });
    const err = await eventually(async () => forbidden(() => m.ensure({ user: 'erin', clusterRoles: [{ name: CM_READER, namespaces: ['team-a'] }] })));
    expect(err.kubeMessage).toContain('is attempting to grant RBAC permissions not currently held');
  });
});
