/**
 * The per-user ServiceAccount lifecycle against a real kube-apiserver: what ensure() creates is
 * checked both as objects and as what the apiserver then lets the impersonated account do.
 */
import type { KubeClient } from '../../agent/kubernetes/kube-client';
import { KubeNotFoundError } from '../../agent/kubernetes/kube-errors';
import type { Binding, KubeObject, ServiceAccount } from '../../agent/kubernetes/kube-objects';
import { clusterRoleBindingPath, namespacePath, roleBindingPath, serviceAccountPath } from '../../agent/kubernetes/kube-paths';
import type { UserAccess } from '../../agent/service-accounts/desired-access';
import { ClusterRoleNotAllowedError, InvalidUserAccessError, ServiceAccountCollisionError } from '../../agent/service-accounts/service-account-errors';
import { ServiceAccountManager } from '../../agent/service-accounts/service-account-manager';
import type { EnsureResult, ServiceAccountManagerProps } from '../../agent/service-accounts/service-account-manager-types';
import { bindingName, serviceAccountName, userHash } from '../../agent/service-accounts/service-account-names';
import { applyManifests, clusterRole, eventually, namespace, rejection, requestAs, startAgentTestCluster, type AgentTestCluster } from './support/agent-test-cluster';

jest.setTimeout(120_000);

let env: AgentTestCluster;
let admin: KubeClient;

const USERS = 'kubegate-users';
const NS_READER = 'kg-namespace-reader';
const CM_READER = 'kg-configmap-reader';

beforeAll(async () => {
  env = await startAgentTestCluster('sa-manager');
  admin = env.admin;
  await applyManifests(admin, [
    ...[USERS, 'idle-users', 'reconcile-users', 'team-a', 'team-b'].map(namespace),
    clusterRole(NS_READER, { resources: ['namespaces'], verbs: ['get', 'list'] }),
    clusterRole(CM_READER, { resources: ['configmaps'], verbs: ['get', 'list'] }),
  ]);
});

afterAll(async () => {
  await env?.stop();
});

function manager(props: Partial<ServiceAccountManagerProps> = {}): ServiceAccountManager {
  return new ServiceAccountManager({ client: admin, ...props });
}

/** A clock the test moves by hand. */
function clock(start = Date.parse('2030-01-01T00:00:00Z')): { now: () => number; set: (ms: number) => void; start: number } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms), start };
}

/** HTTP status of a GET made as `username` (the admin impersonating it). */
async function statusAs(username: string, path: string): Promise<number> {
  return (await requestAs(env.cluster, { impersonateUser: username, path })).status;
}

/** Waits until every path answers `username` with the expected status (RBAC caches trail writes). */
async function expectAccess(username: string, expected: Record<string, number>): Promise<void> {
  await eventually(async () => {
    const actual: Record<string, number> = {};
    for (const path of Object.keys(expected)) actual[path] = await statusAs(username, path);
    expect(actual).toEqual(expected);
  });
}

async function bindingsOf(sa: string): Promise<(Binding & { kind: string })[]> {
  const selector = { labelSelector: `kubegate.io/service-account=${sa}` };
  const rbs = await admin.list<Binding>(roleBindingPath(), selector);
  const crbs = await admin.list<Binding>(clusterRoleBindingPath(), selector);
  return [...rbs.items.map((b) => ({ ...b, kind: 'RoleBinding' as const })), ...crbs.items.map((b) => ({ ...b, kind: 'ClusterRoleBinding' as const }))];
}

async function serviceAccountOrUndefined(ns: string, name: string): Promise<ServiceAccount | undefined> {
  try {
    return await admin.get<ServiceAccount>(serviceAccountPath(ns, name));
  } catch (err) {
    if (err instanceof KubeNotFoundError) return undefined;
    throw err;
  }
}

const NAMESPACES = '/api/v1/namespaces';
const configMaps = (ns: string) => `/api/v1/namespaces/${ns}/configmaps`;

describe('ensure()', () => {
  test('creates the ServiceAccount, a ClusterRoleBinding and RoleBindings, and the apiserver authorizes the impersonated account accordingly', async () => {
    const c = clock();
    const m = manager({ now: c.now });
    const user = 'alice@example.com';
    const result = await m.ensure({ user, clusterRoles: [{ name: NS_READER }, { name: CM_READER, namespaces: ['team-a'] }] });
    const sa = serviceAccountName(user);
    expect(result).toEqual({ user, serviceAccount: sa, namespace: USERS, created: true, bindingsCreated: 2, bindingsRemoved: 0, skipped: [] });

    const account = await admin.get<ServiceAccount>(serviceAccountPath(USERS, sa));
    expect(account.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'kubegate', 'kubegate.io/user-hash': userHash(user) });
    expect(account.metadata.annotations).toEqual({ 'kubegate.io/user': user, 'kubegate.io/last-used': '2030-01-01T00:00:00.000Z' });
    expect(account.automountServiceAccountToken).toBe(false);

    const crb = await admin.get<Binding>(clusterRoleBindingPath(bindingName(sa, NS_READER, { kind: 'cluster' })));
    expect(crb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NS_READER });
    expect(crb.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: USERS }]);
    expect(crb.metadata.labels).toMatchObject({ 'kubegate.io/service-account': sa, 'kubegate.io/service-account-namespace': USERS, 'kubegate.io/user-hash': userHash(user) });
    const rb = await admin.get<Binding>(roleBindingPath('team-a', bindingName(sa, CM_READER, { kind: 'namespace', namespace: 'team-a' })));
    expect(rb.roleRef.name).toBe(CM_READER);
    expect(rb.metadata.annotations).toEqual({ 'kubegate.io/user': user });

    expect(m.impersonationUser(user)).toBe(`system:serviceaccount:${USERS}:${sa}`);
    await expectAccess(m.impersonationUser(user), {
      [NAMESPACES]: 200,
      [configMaps('team-a')]: 200,
      [configMaps('team-b')]: 403,
      '/api/v1/namespaces/team-a/secrets': 403,
    });
  });

  test('is idempotent: a second call changes nothing', async () => {
    const m = manager();
    const access: UserAccess = { user: 'Bob Smith', clusterRoles: [{ name: NS_READER }, { name: CM_READER, namespaces: ['team-a', 'team-b'] }] };
    await m.ensure(access);
    const before = (await bindingsOf(serviceAccountName('Bob Smith'))).map((b) => b.metadata.resourceVersion).sort();
    expect(await m.ensure(access)).toMatchObject({ created: false, bindingsCreated: 0, bindingsRemoved: 0, skipped: [] });
    const after = (await bindingsOf(serviceAccountName('Bob Smith'))).map((b) => b.metadata.resourceVersion).sort();
    expect(after).toEqual(before);
    expect(after).toHaveLength(3);
  });

  test('converges when the policy changes: bindings no longer granted go, new ones come, and access follows', async () => {
    const m = manager();
    const user = 'carol';
    await m.ensure({ user, clusterRoles: [{ name: NS_READER }, { name: CM_READER, namespaces: ['team-a'] }] });
    await expectAccess(m.impersonationUser(user), { [NAMESPACES]: 200, [configMaps('team-a')]: 200, [configMaps('team-b')]: 403 });

    const changed = await m.ensure({ user, clusterRoles: [{ name: CM_READER, namespaces: ['team-b'] }] });
    expect(changed).toMatchObject({ created: false, bindingsCreated: 1, bindingsRemoved: 2 });
    expect((await bindingsOf(serviceAccountName(user))).map((b) => `${b.kind}/${b.metadata.namespace ?? ''}/${b.roleRef.name}`)).toEqual([`RoleBinding/team-b/${CM_READER}`]);
    await expectAccess(m.impersonationUser(user), { [NAMESPACES]: 403, [configMaps('team-a')]: 403, [configMaps('team-b')]: 200 });

    const none = await m.ensure({ user, clusterRoles: [] });
    expect(none).toMatchObject({ bindingsCreated: 0, bindingsRemoved: 1 });
    expect(await bindingsOf(serviceAccountName(user))).toEqual([]);
    expect(await serviceAccountOrUndefined(USERS, serviceAccountName(user))).toBeDefined();
    await expectAccess(m.impersonationUser(user), { [configMaps('team-b')]: 403 });
  });

  test('concurrent calls for one user, in one manager or in two, make one ServiceAccount and no duplicate bindings', async () => {
    const access = (user: string): UserAccess => ({ user, clusterRoles: [{ name: NS_READER }, { name: CM_READER, namespaces: ['team-a', 'team-b'] }] });
    const check = async (user: string, results: EnsureResult[]) => {
      const accounts = await admin.list(serviceAccountPath(USERS), { labelSelector: `kubegate.io/user-hash=${userHash(user)}` });
      expect(accounts.items.map((a) => a.metadata.name)).toEqual([serviceAccountName(user)]);
      const bindings = await bindingsOf(serviceAccountName(user));
      expect(bindings).toHaveLength(3);
      expect(new Set(bindings.map((b) => `${b.kind}/${b.metadata.namespace}/${b.roleRef.name}`)).size).toBe(3);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(results.reduce((n, r) => n + r.bindingsCreated, 0)).toBe(3);
      expect(results.reduce((n, r) => n + r.bindingsRemoved, 0)).toBe(0);
    };

    const one = manager();
    await check('dave', await Promise.all([1, 2, 3, 4].map(() => one.ensure(access('dave')))));

    // Two agents know nothing of each other: only the apiserver's AlreadyExists settles it.
    const managers = [manager(), manager(), manager(), manager()];
    await check('erin', await Promise.all(managers.map((m) => m.ensure(access('erin')))));
  });

  test('a grant for a namespace that does not exist is skipped and reported; the next ensure() binds it once the namespace exists', async () => {
    const m = manager();
    const access: UserAccess = { user: 'frank', clusterRoles: [{ name: CM_READER, namespaces: ['team-a', 'team-later'] }] };
    const first = await m.ensure(access);
    expect(first).toMatchObject({ created: true, bindingsCreated: 1, skipped: [{ clusterRole: CM_READER, namespace: 'team-later', reason: 'namespace-not-found' }] });
    await expectAccess(m.impersonationUser('frank'), { [configMaps('team-a')]: 200 });

    await applyManifests(admin, [namespace('team-later')]);
    const second = await m.ensure(access);
    expect(second).toMatchObject({ created: false, bindingsCreated: 1, bindingsRemoved: 0, skipped: [] });
    await expectAccess(m.impersonationUser('frank'), { [configMaps('team-a')]: 200, [configMaps('team-later')]: 200 });
  });

  test('a grant for a namespace being deleted is skipped and reported', async () => {
    await applyManifests(admin, [namespace('doomed')]);
    await admin.delete(namespacePath('doomed'));
    // Without a namespace controller, the namespace stays Terminating.
    expect((await admin.get<KubeObject & { status: { phase: string } }>(namespacePath('doomed'))).status.phase).toBe('Terminating');

    const result = await manager().ensure({ user: 'grace', clusterRoles: [{ name: CM_READER, namespaces: ['doomed', 'team-b'] }] });
    expect(result).toMatchObject({ bindingsCreated: 1, skipped: [{ clusterRole: CM_READER, namespace: 'doomed', reason: 'namespace-terminating' }] });
  });

  test('ClusterRoles the cluster admin did not allow are refused with ClusterRoleNotAllowedError before any request', async () => {
    const m = manager({ allowedClusterRoles: [CM_READER] });
    const err = (await rejection(() => m.ensure({ user: 'heidi', clusterRoles: [{ name: CM_READER, namespaces: ['team-a'] }, { name: 'cluster-admin' }, { name: 'cluster-admin', namespaces: ['team-b'] }] }))) as ClusterRoleNotAllowedError;
    expect(err).toBeInstanceOf(ClusterRoleNotAllowedError);
    expect(err).toMatchObject({ code: 'ERR_CLUSTER_ROLE_NOT_ALLOWED', user: 'heidi', refused: ['cluster-admin'], allowed: [CM_READER] });
    expect(err.message).toContain('"cluster-admin"');
    expect(await serviceAccountOrUndefined(USERS, serviceAccountName('heidi'))).toBeUndefined();
    expect(await bindingsOf(serviceAccountName('heidi'))).toEqual([]);

    expect(await m.ensure({ user: 'heidi', clusterRoles: [{ name: CM_READER, namespaces: ['team-a'] }] })).toMatchObject({ created: true, bindingsCreated: 1 });
  });

  test('a ServiceAccount of the derived name that belongs to another user is never shared', async () => {
    const name = serviceAccountName('ivan');
    await admin.create(serviceAccountPath(USERS), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, annotations: { 'kubegate.io/user': 'mallory' } } });
    // The other user's binding, labelled for that ServiceAccount: ensure() must not treat it as ivan's.
    await admin.create(roleBindingPath('team-b'), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'mallorys', labels: { 'app.kubernetes.io/managed-by': 'kubegate', 'kubegate.io/service-account': name, 'kubegate.io/service-account-namespace': USERS } },
      subjects: [{ kind: 'ServiceAccount', name, namespace: USERS }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CM_READER },
    });
    const err = (await rejection(() => manager().ensure({ user: 'ivan', clusterRoles: [{ name: NS_READER }] }))) as ServiceAccountCollisionError;
    expect(err).toBeInstanceOf(ServiceAccountCollisionError);
    expect(err).toMatchObject({ code: 'ERR_SERVICE_ACCOUNT_COLLISION', user: 'ivan', serviceAccount: name, existingUser: 'mallory' });
    expect((await bindingsOf(name)).map((b) => b.metadata.name)).toEqual(['mallorys']);
    await admin.delete(roleBindingPath('team-b', 'mallorys'));
  });

  test('a binding under kubegate\'s name that grants to someone else is replaced by the right one', async () => {
    const user = 'judy';
    const sa = serviceAccountName(user);
    const name = bindingName(sa, CM_READER, { kind: 'namespace', namespace: 'team-a' });
    await admin.create(roleBindingPath('team-a'), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name },
      subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CM_READER },
    });
    const result = await manager().ensure({ user, clusterRoles: [{ name: CM_READER, namespaces: ['team-a'] }] });
    expect(result).toMatchObject({ bindingsCreated: 1 });
    const binding = await admin.get<Binding>(roleBindingPath('team-a', name));
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: USERS }]);
    await expectAccess('mallory', { [configMaps('team-a')]: 403 });
  });

  test('refuses an empty user name, and fails clearly when the users namespace is missing', async () => {
    expect(await rejection(() => manager().ensure({ user: '', clusterRoles: [] }))).toBeInstanceOf(InvalidUserAccessError);
    const err = (await rejection(() => manager({ namespace: 'no-such-users-namespace' }).ensure({ user: 'kim', clusterRoles: [] }))) as KubeNotFoundError;
    expect(err).toBeInstanceOf(KubeNotFoundError);
    expect(err.details).toMatchObject({ kind: 'namespaces', name: 'no-such-users-namespace' });
  });
});

describe('last use and idle removal', () => {
  const IDLE = 'idle-users';
  const lastUsed = async (user: string) => (await admin.get<ServiceAccount>(serviceAccountPath(IDLE, serviceAccountName(user)))).metadata.annotations?.['kubegate.io/last-used'];

  test('flushLastUsed() writes the annotation only when the recorded use is newer by more than the interval', async () => {
    const c = clock();
    const m = manager({ namespace: IDLE, now: c.now, lastUsedWriteIntervalMs: 60_000 });
    await m.ensure({ user: 'leo', clusterRoles: [] });
    expect(await lastUsed('leo')).toBe('2030-01-01T00:00:00.000Z');

    m.touch('leo', c.start + 30_000);
    expect(await m.flushLastUsed()).toEqual([]);
    expect(await lastUsed('leo')).toBe('2030-01-01T00:00:00.000Z');

    m.touch('leo', new Date(c.start + 5 * 60_000));
    expect(await m.flushLastUsed()).toEqual(['leo']);
    expect(await lastUsed('leo')).toBe('2030-01-01T00:05:00.000Z');

    const rv = (await admin.get<ServiceAccount>(serviceAccountPath(IDLE, serviceAccountName('leo')))).metadata.resourceVersion;
    expect(await m.flushLastUsed()).toEqual([]);
    expect((await admin.get<ServiceAccount>(serviceAccountPath(IDLE, serviceAccountName('leo')))).metadata.resourceVersion).toBe(rv);

    // A use of a user without an account is nothing to write, and no error.
    m.touch('nobody-here', c.start);
    expect(await m.flushLastUsed()).toEqual([]);
    await m.remove('leo');
  });

  test('removeIdle() removes accounts unused for longer than the idle period, with their bindings, using the annotation and uses in memory', async () => {
    const c = clock();
    const m = manager({ namespace: IDLE, now: c.now });
    const access = (user: string): UserAccess => ({ user, clusterRoles: [{ name: CM_READER, namespaces: ['team-a'] }, { name: NS_READER }] });
    await m.ensure(access('mia'));
    await m.ensure(access('ned'));
    await expectAccess(m.impersonationUser('mia'), { [configMaps('team-a')]: 200 });

    const HOUR = 3_600_000;
    c.set(c.start + 2 * HOUR);
    m.touch('ned', c.start + 110 * 60_000); // ned used it 10 minutes ago; only this process knows
    expect(await m.removeIdle(HOUR)).toEqual(['mia']);
    expect(await serviceAccountOrUndefined(IDLE, serviceAccountName('mia'))).toBeUndefined();
    expect(await bindingsOf(serviceAccountName('mia'))).toEqual([]);
    expect(await serviceAccountOrUndefined(IDLE, serviceAccountName('ned'))).toBeDefined();
    expect(await bindingsOf(serviceAccountName('ned'))).toHaveLength(2);
    await expectAccess(m.impersonationUser('mia'), { [configMaps('team-a')]: 403, [NAMESPACES]: 403 });

    // A restarted agent knows only the annotation: flushed, ned's use survives the restart.
    expect(await m.flushLastUsed()).toEqual(['ned']);
    const restarted = manager({ namespace: IDLE, now: c.now });
    expect(await restarted.removeIdle(HOUR)).toEqual([]);
    c.set(c.start + 4 * HOUR);
    expect(await restarted.removeIdle(HOUR)).toEqual(['ned']);
    expect(await serviceAccountOrUndefined(IDLE, serviceAccountName('ned'))).toBeUndefined();
  });

  test('remove() removes the account and its bindings; access ends; removing again is a no-op', async () => {
    const m = manager({ namespace: IDLE });
    await m.ensure({ user: 'olivia', clusterRoles: [{ name: CM_READER, namespaces: ['team-a', 'team-b'] }] });
    await expectAccess(m.impersonationUser('olivia'), { [configMaps('team-b')]: 200 });
    expect(await m.remove('olivia')).toEqual({ serviceAccountsRemoved: [serviceAccountName('olivia')], bindingsRemoved: 2 });
    expect(await serviceAccountOrUndefined(IDLE, serviceAccountName('olivia'))).toBeUndefined();
    await expectAccess(m.impersonationUser('olivia'), { [configMaps('team-a')]: 403, [configMaps('team-b')]: 403 });
    expect(await m.remove('olivia')).toEqual({ serviceAccountsRemoved: [], bindingsRemoved: 0 });
  });
});

describe('reconcile() and list()', () => {
  const REC = 'reconcile-users';
  const labelledBinding = (name: string, ns: string, sa: string, subject: Record<string, string>, user = 'x'): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name,
      namespace: ns,
      labels: { 'app.kubernetes.io/managed-by': 'kubegate', 'kubegate.io/user-hash': userHash(user), 'kubegate.io/service-account': sa, 'kubegate.io/service-account-namespace': REC },
    },
    subjects: [subject],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CM_READER },
  });

  test('bindings left without their ServiceAccount still grant (impersonation does not check it) until reconcile() removes them', async () => {
    const m = manager({ namespace: REC });
    await m.ensure({ user: 'paul', clusterRoles: [{ name: CM_READER, namespaces: ['team-a'] }] });
    const sa = serviceAccountName('paul');
    await admin.delete(serviceAccountPath(REC, sa));
    // The point of orphan cleanup: the name still has access.
    await expectAccess(m.impersonationUser('paul'), { [configMaps('team-a')]: 200 });

    // Also an orphan for an account that never existed, and an unlabelled binding kubegate must not touch.
    await applyManifests(admin, [labelledBinding('ghost-binding', 'team-b', 'u-ghost-0123456789', { kind: 'ServiceAccount', name: 'u-ghost-0123456789', namespace: REC })]);
    await applyManifests(admin, [{ ...labelledBinding('hand-made', 'team-b', sa, { kind: 'ServiceAccount', name: sa, namespace: REC }), metadata: { name: 'hand-made', namespace: 'team-b' } }]);

    const result = await m.reconcile();
    expect(result.removedBindings).toEqual(
      expect.arrayContaining([
        { kind: 'RoleBinding', name: bindingName(sa, CM_READER, { kind: 'namespace', namespace: 'team-a' }), namespace: 'team-a', clusterRole: CM_READER, serviceAccount: sa, reason: 'orphan' },
        { kind: 'RoleBinding', name: 'ghost-binding', namespace: 'team-b', clusterRole: CM_READER, serviceAccount: 'u-ghost-0123456789', reason: 'orphan' },
      ]),
    );
    expect(result.removedBindings).toHaveLength(2);
    await expectAccess(m.impersonationUser('paul'), { [configMaps('team-a')]: 403, [configMaps('team-b')]: 200 });
    expect(await admin.get(roleBindingPath('team-b', 'hand-made'))).toBeDefined();
    await admin.delete(roleBindingPath('team-b', 'hand-made'));
  });

  test('a labelled binding that grants to someone other than its ServiceAccount is removed as tampered', async () => {
    const m = manager({ namespace: REC });
    await m.ensure({ user: 'quinn', clusterRoles: [] });
    const sa = serviceAccountName('quinn');
    await applyManifests(admin, [labelledBinding('tampered', 'team-a', sa, { kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }, 'quinn')]);
    await expectAccess('mallory', { [configMaps('team-a')]: 200 });
    const result = await m.reconcile();
    expect(result.removedBindings).toEqual([{ kind: 'RoleBinding', name: 'tampered', namespace: 'team-a', clusterRole: CM_READER, serviceAccount: sa, reason: 'tampered' }]);
    await expectAccess('mallory', { [configMaps('team-a')]: 403 });
    expect(await serviceAccountOrUndefined(REC, sa)).toBeDefined();
  });

  test('several ServiceAccounts of one user collapse into one: the canonical one, else the most recently used', async () => {
    const m = manager({ namespace: REC });
    const extraAccount = (name: string, user: string, lastUsedAt: string) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace: REC, labels: { 'app.kubernetes.io/managed-by': 'kubegate', 'kubegate.io/user-hash': userHash(user) }, annotations: { 'kubegate.io/user': user, 'kubegate.io/last-used': lastUsedAt } },
    });
    await m.ensure({ user: 'rita', clusterRoles: [{ name: NS_READER }] });
    await applyManifests(admin, [
      extraAccount('u-rita-legacy', 'rita', '2031-01-01T00:00:00.000Z'),
      labelledBinding('rita-legacy-binding', 'team-b', 'u-rita-legacy', { kind: 'ServiceAccount', name: 'u-rita-legacy', namespace: REC }, 'rita'),
      extraAccount('u-sam-old-1', 'sam', '2030-01-01T00:00:00.000Z'),
      extraAccount('u-sam-old-2', 'sam', '2030-06-01T00:00:00.000Z'),
    ]);

    const result = await m.reconcile();
    expect(result.removedDuplicates).toEqual(
      expect.arrayContaining([
        { user: 'rita', serviceAccount: 'u-rita-legacy', kept: serviceAccountName('rita') },
        { user: 'sam', serviceAccount: 'u-sam-old-1', kept: 'u-sam-old-2' },
      ]),
    );
    expect(result.removedDuplicates).toHaveLength(2);
    expect(result.removedBindings).toEqual([]);
    expect(await serviceAccountOrUndefined(REC, 'u-rita-legacy')).toBeUndefined();
    expect(await bindingsOf('u-rita-legacy')).toEqual([]);
    expect(await bindingsOf(serviceAccountName('rita'))).toHaveLength(1);
    expect(await serviceAccountOrUndefined(REC, 'u-sam-old-2')).toBeDefined();

    // The survivor inherits the latest use of the ones removed.
    const rita = (await m.list()).find((a) => a.user === 'rita');
    expect(rita?.lastUsed?.toISOString()).toBe('2031-01-01T00:00:00.000Z');
  });

  test('with desired users, they converge like ensure(); failures are reported per user; others are left alone; unrecognized accounts are reported, not touched', async () => {
    const m = manager({ namespace: REC });
    await m.ensure({ user: 'tina', clusterRoles: [{ name: NS_READER }] });
    await admin.create(serviceAccountPath(REC), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccountName('uma'), annotations: { 'kubegate.io/user': 'someone-else' } } });
    await admin.create(serviceAccountPath(REC), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'u-unknown', labels: { 'app.kubernetes.io/managed-by': 'kubegate', 'kubegate.io/user-hash': 'abc' } } });

    const result = await m.reconcile([
      { user: 'victor', clusterRoles: [{ name: CM_READER, namespaces: ['team-b'] }] },
      { user: 'uma', clusterRoles: [{ name: NS_READER }] },
    ]);
    expect(result.ensured).toEqual([expect.objectContaining({ user: 'victor', created: true, bindingsCreated: 1 })]);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0].user).toBe('uma');
    expect(result.failed[0].error).toBeInstanceOf(ServiceAccountCollisionError);
    expect(result.unrecognized).toEqual(['u-unknown']);
    expect(await serviceAccountOrUndefined(REC, 'u-unknown')).toBeDefined();
    expect(await bindingsOf(serviceAccountName('tina'))).toHaveLength(1);
    await expectAccess(m.impersonationUser('victor'), { [configMaps('team-b')]: 200 });
  });

  test('list() reports each user\'s account, bindings and last use', async () => {
    const c = clock();
    const m = manager({ namespace: USERS, now: c.now });
    await m.ensure({ user: 'wendy', clusterRoles: [{ name: NS_READER }, { name: CM_READER, namespaces: ['team-a'] }] });
    m.touch('wendy', c.start + 1000);
    const wendy = (await m.list()).find((a) => a.user === 'wendy');
    expect(wendy).toEqual({
      user: 'wendy',
      serviceAccount: serviceAccountName('wendy'),
      namespace: USERS,
      lastUsed: new Date(c.start + 1000),
      bindings: expect.arrayContaining([
        { kind: 'ClusterRoleBinding', name: bindingName(serviceAccountName('wendy'), NS_READER, { kind: 'cluster' }), clusterRole: NS_READER },
        { kind: 'RoleBinding', namespace: 'team-a', name: bindingName(serviceAccountName('wendy'), CM_READER, { kind: 'namespace', namespace: 'team-a' }), clusterRole: CM_READER },
      ]),
    });
    expect(wendy?.bindings).toHaveLength(2);
  });
});
