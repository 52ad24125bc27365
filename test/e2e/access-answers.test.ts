/**
 * Truthful access answers, with the real kubectl through the real edge into a direct cluster
 * and a firewalled one (agent, tunnel, per-user ServiceAccount):
 *
 * - `kubectl auth can-i` agrees with what actually happens when the request is made, for a
 *   grid of users, verbs, resources and namespaces, where the edge's policy and the cluster's
 *   RBAC disagree in both directions;
 * - `kubectl auth can-i --list` shows only what both layers allow; `kubectl auth whoami` shows
 *   the kubegate user and groups as well as what the cluster sees;
 * - `kubectl --server https://<edge address>/clusters/<c>` and a client-go program that
 *   overrides the host as Kubernetes' e2e framework does (client-go then drops the
 *   kubeconfig's tls-server-name) work, and revoking the user still closes their watches on
 *   that shared endpoint while another user's watch on their own endpoint carries on.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalStack, type LocalStack } from '../../dev/stack/local-stack';
import { silentLogger } from '../../control-plane/log/logger';
import { runCommand, type CommandResult } from '../support/run-command';
import { streamCommand, type Streaming } from '../support/streaming-command';

jest.setTimeout(600_000);

/** A drained stream closes after Envoy's 1 s drain time; this only rules out any other cause. */
const DRAINED_WITHIN_MS = 15_000;

let stack: LocalStack;
let stateDir: string;
const kubeconfigs: Record<string, string> = {};
const streams: Streaming[] = [];

const DIRECT = 'alpha';
const TUNNELLED = 'fw';

// alice: narrow rules at the edge (no secrets, no delete), a wider role in the cluster.
// bob: clusterRoles only, so the edge admits and the cluster's RBAC decides (no delete).
const POLICIES = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: dev-readers}
spec:
  subjects: {groups: [dev]}
  clusters: {all: true}
  rules:
    - {apiGroups: [""], resources: [pods, configmaps], verbs: [get, list, watch], namespaces: [default]}
    - {apiGroups: [""], resources: [configmaps], verbs: [create], namespaces: [default]}
  clusterRoles: [{name: kubegate-e2e-reader}]
---
apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: ops-cluster-rbac}
spec:
  subjects: {groups: [ops]}
  clusters: {all: true}
  clusterRoles: [{name: kubegate-e2e-reader}]
`;

const READER_ROLE = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'kubegate-e2e-reader' },
  rules: [
    { apiGroups: [''], resources: ['pods', 'configmaps', 'secrets'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['configmaps', 'pods'], verbs: ['create'] },
  ],
};

// The tunnelled cluster's agent binds only the roles its cluster admin allows; this is one.
/** A direct cluster sees the user and groups the edge impersonates: bind the groups there. */
const DIRECT_BINDING = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'kubegate-e2e-reader-groups' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubegate-e2e-reader' },
  subjects: ['dev', 'ops'].map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name })),
};

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-access-answers-e2e-'));
  stack = await startLocalStack({ stateDir, clusters: [{ name: DIRECT, labels: { env: 'dev' } }], tunnelClusters: [TUNNELLED], logger: silentLogger });
  await stack.waitForTunnels(1);
  const direct = stack.clusters.find((c) => c.name === DIRECT)!;
  // The direct cluster runs no controller-manager, which would create each namespace's
  // default ServiceAccount that Pod admission looks up.
  const serviceAccounts = ['default', 'kube-system'].map((namespace) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } }));
  expect((await direct.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [READER_ROLE, DIRECT_BINDING, ...serviceAccounts] }))).code).toBe(0);
  expect((await stack.tunnelSite(TUNNELLED).cluster.kubectl(['apply', '-f', '-'], JSON.stringify(READER_ROLE))).code).toBe(0);
  await stack.createUser('alice', ['dev']);
  await stack.createUser('bob', ['ops']);
  const current = await stack.store.getPolicySet();
  await stack.applyPolicies([...current.files, { fileName: 'access-answers.yaml', text: POLICIES }]);
  for (const user of ['alice', 'bob']) kubeconfigs[user] = await stack.writeKubeconfig({ user });
});

afterAll(async () => {
  await Promise.all(streams.map((s) => s.stop()));
  await stack?.stop();
  if (stateDir && !process.env.KUBEGATE_KEEP_STATE) fs.rmSync(stateDir, { recursive: true, force: true });
});

const kubectl = (user: string, cluster: string, args: readonly string[]): Promise<CommandResult> =>
  runCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfigs[user]!, '--context', cluster, ...args], { timeoutMs: 60_000 });

/** The request itself, for one cell of the grid (dry-run where it would change something). */
function attempt(verb: string, resource: string, namespace: string): string[] {
  const ns = ['-n', namespace];
  switch (verb) {
    case 'get':
      return ['get', resource, 'probe', ...ns];
    case 'list':
      return ['get', resource, ...ns];
    case 'delete':
      return ['delete', resource, 'probe', '--dry-run=server', ...ns];
    case 'create':
      if (resource === 'pods') return ['run', 'probe', '--image=registry.invalid/probe:1', '--restart=Never', '--dry-run=server', ...ns];
      if (resource === 'secrets') return ['create', 'secret', 'generic', 'probe', '--dry-run=server', ...ns];
      return ['create', 'configmap', 'probe', '--dry-run=server', ...ns];
    default:
      throw new Error(`no attempt for ${verb}`);
  }
}

/** Runs `work` over `items`, `limit` at a time (kubectl processes on two cores). */
async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(work))));
  return out;
}

describe('kubectl auth can-i tells the truth about both layers', () => {
  test.each([DIRECT, TUNNELLED])('on %s: for every user, verb, resource and namespace, can-i agrees with what the request gets', async (cluster) => {
    const cells = ['alice', 'bob'].flatMap((user) =>
      ['get', 'list', 'create', 'delete'].flatMap((verb) => ['pods', 'configmaps', 'secrets'].flatMap((resource) => ['default', 'kube-system'].map((namespace) => ({ user, verb, resource, namespace })))),
    );
    const results = await inBatches(cells, 6, async (cell) => {
      const canI = await kubectl(cell.user, cluster, ['auth', 'can-i', cell.verb, cell.resource, '-n', cell.namespace]);
      const real = await kubectl(cell.user, cluster, attempt(cell.verb, cell.resource, cell.namespace));
      expect([cell, canI.stderr]).toEqual([cell, expect.not.stringMatching(/error|Forbidden/i)]);
      // "yes", "no", or "no - <reason>" where the answer says why.
      const said = canI.stdout.trim().split(' ')[0]!;
      // A refusal by the cluster says "forbidden"; one by the edge starts "kubegate:" (kubectl
      // words some errors its own way, e.g. "failed to create configmap: <message>").
      const forbidden = /forbidden|kubegate:/i.test(real.stderr);
      // Anything but a refusal means the request was let through (NotFound for a probe that
      // does not exist is the cluster answering an allowed request).
      if (!forbidden) expect([cell, real.stderr]).toEqual([cell, expect.not.stringMatching(/Unauthorized|ServiceUnavailable|connection/i)]);
      return { ...cell, said, allowed: !forbidden, real: (real.stderr || real.stdout).trim() };
    });
    for (const r of results) {
      expect(`${r.user} ${r.verb} ${r.resource} -n ${r.namespace}: can-i says ${r.said} (the request got: ${r.real})`).toBe(`${r.user} ${r.verb} ${r.resource} -n ${r.namespace}: can-i says ${r.allowed ? 'yes' : 'no'} (the request got: ${r.real})`);
    }
    const said = (user: string, verb: string, resource: string, namespace: string) => results.find((r) => r.user === user && r.verb === verb && r.resource === resource && r.namespace === namespace)!.said;
    // The grid is not trivially one-sided: each layer refuses something the other allows.
    expect(said('alice', 'list', 'pods', 'default')).toBe('yes');
    expect(said('alice', 'get', 'secrets', 'default')).toBe('no'); // the edge: the cluster's role would allow it
    expect(said('bob', 'get', 'secrets', 'default')).toBe('yes');
    expect(said('bob', 'delete', 'pods', 'default')).toBe('no'); // the cluster: the edge admits bob
  });

  test('the reason says which layer said no', async () => {
    const edge = await kubectl('alice', DIRECT, ['auth', 'can-i', 'get', 'secrets', '-n', 'default']);
    // kubectl prints the reason of a definite no itself.
    expect(edge.stdout.trim()).toMatch(/^no - kubegate: .*secrets.*refused by kubegate's policy at the edge; the cluster's RBAC alone would allow it/);
    const cluster = await kubectl('bob', DIRECT, ['auth', 'can-i', 'delete', 'pods', '-n', 'default']);
    expect(cluster.stdout.trim()).toBe("no - kubegate's policy at the edge allows it, but the cluster's RBAC does not allow it");
  });

  test.each([DIRECT, TUNNELLED])('on %s: can-i --list shows what both layers allow, and whoami who kubegate and the cluster see', async (cluster) => {
    const list = await kubectl('alice', cluster, ['auth', 'can-i', '--list', '-n', 'default']);
    expect(list.code).toBe(0);
    const lines = list.stdout.split('\n');
    const row = (resource: string) => lines.find((l) => l.trim().split(/\s+/)[0] === resource);
    expect([row('pods'), list.stdout]).toEqual([expect.stringMatching(/\[get list watch\]/), list.stdout]);
    expect(row('configmaps')).toMatch(/create/);
    // The cluster's role grants secrets; the edge does not, so can-i --list does not either.
    expect(row('secrets')).toBeUndefined();
    expect(row('selfsubjectaccessreviews.authorization.k8s.io')).toMatch(/create/);

    const whoami = await kubectl('alice', cluster, ['auth', 'whoami', '-o', 'json']);
    expect(whoami.stderr).toBe('');
    const userInfo = JSON.parse(whoami.stdout).status.userInfo;
    expect(userInfo.extra).toMatchObject({ 'kubegate.io/user': ['alice'], 'kubegate.io/groups': ['dev'], 'kubegate.io/cluster': [cluster] });
    // What the cluster sees: the impersonated user on a direct cluster, the user's ServiceAccount behind a tunnel.
    if (cluster === DIRECT) expect(userInfo.username).toBe('alice');
    else expect(userInfo.username).toMatch(/^system:serviceaccount:kubegate-users:/);
  });

  test('asking about impersonation says no: kubegate removes Impersonate-* headers', async () => {
    const r = await kubectl('bob', DIRECT, ['auth', 'can-i', 'impersonate', 'users']);
    expect(r.stdout.trim()).toMatch(/^no - kubegate: impersonation is not possible through kubegate/);
  });
});

describe('tools that set the server URL themselves', () => {
  const edgeServer = (cluster: string) => `${stack.edgeUrl}/clusters/${cluster}`;

  test.each([DIRECT, TUNNELLED])('kubectl --server pointing at the edge works on %s (no tls-server-name reaches the edge)', async (cluster) => {
    const r = await kubectl('alice', cluster, ['--server', edgeServer(cluster), 'get', 'pods', '-n', 'default']);
    expect(r.stderr).not.toMatch(/error|Forbidden|Unauthorized/i);
    expect(r.code).toBe(0);
    const refused = await kubectl('alice', cluster, ['--server', edgeServer(cluster), 'get', 'secrets', '-n', 'default']);
    expect(refused.stderr).toContain('kubegate:');
  });

  test.each([DIRECT, TUNNELLED])('a client-go program that overrides the host works on %s', async (cluster) => {
    const admin = cluster === DIRECT ? stack.clusters.find((c) => c.name === DIRECT)! : stack.tunnelSite(TUNNELLED).cluster;
    expect((await admin.kubectl(['create', 'configmap', `seen-by-client-go-${cluster}`, '-n', 'default'])).code).toBe(0);
    const r = await runCommand(stack.toolchain.hostOverride, ['--kubeconfig', kubeconfigs.alice!, '--context', cluster, '--server', edgeServer(cluster), 'list', 'configmaps', 'default'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toContain(`seen-by-client-go-${cluster}`);
  });

  test("revoking a user closes their watches on the shared endpoint; another user's watch on their own carries on", async () => {
    const aliceWatch = streamCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfigs.alice!, '--context', DIRECT, '--server', edgeServer(DIRECT), 'get', 'configmaps', '-n', 'default', '-w']);
    const aliceProgram = streamCommand(stack.toolchain.hostOverride, ['--kubeconfig', kubeconfigs.alice!, '--context', DIRECT, '--server', edgeServer(DIRECT), 'watch', 'configmaps', 'default']);
    const bobWatch = streamCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfigs.bob!, '--context', DIRECT, 'get', 'configmaps', '-n', 'default', '-w']);
    streams.push(aliceWatch, aliceProgram, bobWatch);
    const admin = stack.clusters.find((c) => c.name === DIRECT)!;
    expect((await admin.kubectl(['create', 'configmap', 'before-revoke', '-n', 'default'])).code).toBe(0);
    await aliceWatch.waitFor(/before-revoke/);
    await aliceProgram.waitFor(/ADDED before-revoke/);
    await bobWatch.waitFor(/before-revoke/);

    const started = Date.now();
    await stack.store.revokeUser('alice', started, 'e2e');
    await stack.controlPlane.refresh();
    const closed = await Promise.all([aliceWatch.exited, aliceProgram.exited].map((p) => p.then(() => Date.now() - started)));
    for (const ms of closed) expect(ms).toBeLessThan(DRAINED_WITHIN_MS);
    // Closed by the server (exit 3), not failed on its own.
    expect(await aliceProgram.exited).toBe(3);
    process.stderr.write(`revocation closed the watches on the shared endpoint after ${closed.join(' and ')} ms\n`);

    expect((await admin.kubectl(['create', 'configmap', 'after-revoke', '-n', 'default'])).code).toBe(0);
    await bobWatch.waitFor(/after-revoke/);
    const again = await kubectl('alice', DIRECT, ['--server', edgeServer(DIRECT), 'get', 'pods', '-n', 'default']);
    expect(again.stderr).toMatch(/revoked|Unauthorized/);
  });
});
