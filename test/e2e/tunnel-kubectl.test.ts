/**
 * Clusters behind a firewall, end to end on real components: kubectl → the edge Envoy → a
 * reverse tunnel opened by the cluster's in-cluster Envoy → kube-apiserver, impersonating the
 * user's per-user ServiceAccount that the cluster's agent created on the first request.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalStack, type LocalStack } from '../../dev/stack/local-stack';
import { silentLogger } from '../../control-plane/log/logger';
import { runCommand } from '../support/run-command';
import { USERS_NAMESPACE } from '../../agent/protocol/identities';
import { serviceAccountName } from '../../agent/service-accounts/service-account-names';
import { AssertionSigner } from '../../control-plane/agent-gateway/identity-assertion';
import { translateAgent } from '../../control-plane/in-cluster-translator/translate-agent';
import { Snapshot } from '../../control-plane/xds/snapshot';

jest.setTimeout(180_000);

let stack: LocalStack;
let stateDir: string;

const READER_POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: readers}
spec:
  subjects: {groups: [readers]}
  clusters: {all: true}
  rules:
    - {apiGroups: [""], resources: [configmaps, namespaces], verbs: [get, list, watch]}
  clusterRoles: [{name: kubegate-e2e-reader}]
`;

const READER_ROLE = JSON.stringify({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'kubegate-e2e-reader' },
  rules: [{ apiGroups: [''], resources: ['configmaps', 'namespaces'], verbs: ['get', 'list', 'watch'] }],
});

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-tunnel-e2e-'));
  stack = await startLocalStack({ stateDir, clusters: [], tunnelClusters: ['prod-a'], logger: silentLogger });
  const site = stack.tunnelSite('prod-a');
  const role = await site.cluster.kubectl(['apply', '-f', '-'], READER_ROLE);
  expect(role.code).toBe(0);
  await stack.createUser('rita', ['readers']);
  const current = await stack.store.getPolicySet();
  await stack.applyPolicies([...current.files, { fileName: 'readers.yaml', text: READER_POLICY }]);
});

afterAll(async () => {
  await stack?.stop();
  if (stateDir && !process.env.KUBEGATE_KEEP_STATE) fs.rmSync(stateDir, { recursive: true, force: true });
});

const kubectl = (kubeconfig: string, args: string[]) => runCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, ...args]);

test('the agent joined and registered its cluster with version and CA', async () => {
  const record = await stack.store.getCluster('prod-a');
  expect(record?.kubernetesVersion).toMatch(/^v1\.\d+\.\d+/);
  expect(record?.apiserverCaPem).toContain('BEGIN CERTIFICATE');
  expect(record?.lastSeenAt).toBeGreaterThan(0);
  expect(stack.controlPlane.agents!.hub.connectedClusters()).toEqual(['prod-a']);
  // The join token is used up.
  const tokens = await stack.store.listJoinTokens({ cluster: 'prod-a' });
  expect(tokens.every((t) => t.usedAt !== undefined)).toBe(true);
});

test('kubectl reaches the tunnelled cluster as the user\'s ServiceAccount, created on the first request', async () => {
  const site = stack.tunnelSite('prod-a');
  const sa = serviceAccountName('rita');
  const before = await site.cluster.kubectl(['get', 'serviceaccount', '-n', USERS_NAMESPACE, sa, '-o', 'name']);
  expect(before.code).not.toBe(0);

  const kubeconfig = await stack.writeKubeconfig({ user: 'rita' });
  const created = await site.cluster.kubectl(['create', 'configmap', 'greeting', '-n', 'default', '--from-literal=hello=world']);
  expect(created.code).toBe(0);
  const r = await kubectl(kubeconfig, ['get', 'configmap', 'greeting', '-n', 'default', '-o', 'jsonpath={.data.hello}']);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('world');

  const after = await site.cluster.kubectl(['get', 'serviceaccount', '-n', USERS_NAMESPACE, sa, '-o', 'jsonpath={.metadata.annotations.kubegate\\.io/user}']);
  expect(after.stdout).toBe('rita');
  // The cluster sees the ServiceAccount, not kubegate's proxy: its own RBAC and audit name the user.
  const whoami = await kubectl(kubeconfig, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
  expect(whoami.stderr).toBe('');
  expect(whoami.stdout).toBe(`system:serviceaccount:${USERS_NAMESPACE}:${sa}`);
});

test('the in-cluster Envoy takes its configuration over delta xDS and has accepted all of it', () => {
  const status = stack.controlPlane.cache.status().nodes['prod-a-envoy-0'];
  expect(status).toMatchObject({ connectedStreams: 1, streamProtocols: { delta: 1 } });
  // Its listeners and clusters are all it has (secrets come from files, endpoints inline).
  const types = Object.values(status!.types).filter((t) => t.type === 'LDS' || t.type === 'CDS');
  expect(types).toHaveLength(2);
  for (const type of types) expect(type.ackedVersion).toBe(type.snapshotVersion);
});

test('the edge still enforces the policy before the tunnel, and the cluster RBAC after it', async () => {
  const kubeconfig = await stack.writeKubeconfig({ user: 'rita' });
  const edgeDenied = await kubectl(kubeconfig, ['delete', 'configmap', 'greeting', '-n', 'default']);
  expect(edgeDenied.code).not.toBe(0);
  expect(edgeDenied.stderr).toContain('kubegate');
});

test('a cluster whose agent is gone fails fast with a clear error, and recovers when it returns', async () => {
  const site = stack.tunnelSite('prod-a');
  const kubeconfig = await stack.writeKubeconfig({ user: 'rita' });
  await site.stopAgent();
  await waitFor(() => stack.controlPlane.agents!.hub.session('prod-a') === undefined);
  const down = await kubectl(kubeconfig, ['get', 'configmap', 'greeting', '-n', 'default', '--request-timeout=20s']);
  expect(down.code).not.toBe(0);
  expect(down.stderr).toContain('kubegate: cluster "prod-a" is disconnected');

  // Restarted from its stored certificate: no new join token.
  await site.startAgent();
  await waitFor(() => stack.controlPlane.agents!.hub.session('prod-a') !== undefined);
  const up = await kubectl(kubeconfig, ['get', 'configmap', 'greeting', '-n', 'default', '-o', 'jsonpath={.data.hello}']);
  expect(up.stdout).toBe('world');
});

test('the in-cluster Envoy refuses requests whose assertion it cannot verify (the tunnel alone is not trusted)', async () => {
  const site = stack.tunnelSite('prod-a');
  const kubeconfig = await stack.writeKubeconfig({ user: 'rita' });
  // Give the in-cluster Envoy another key to verify with: the edge's assertions no longer verify.
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger = await AssertionSigner.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const hello = stack.controlPlane.agents!.hub.session('prod-a')!.hello;
  const nodeId = 'prod-a-envoy-0';
  stack.controlPlane.cache.setSnapshot(
    nodeId,
    new Snapshot(
      translateAgent({
        nodeId,
        cluster: 'prod-a',
        edgeTunnels: [{ ...stack.controlPlane.agents!.edgeTunnel, host: site.hostAddress }],
        apiserver: { host: hello.apiserver_host!, port: hello.apiserver_port!, caPem: hello.apiserver_ca_pem! },
        edgeCaPem: stack.pki.internalCa.certPem,
        assertionJwks: stranger.jwks(),
        secretsDirectory: site.secretsDirectory,
      }),
    ),
  );
  let refused = '';
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const r = await kubectl(kubeconfig, ['get', 'configmap', 'greeting', '-n', 'default']);
    // While the in-cluster Envoy swaps its listener, its tunnels are re-dialled and a request
    // may meet none (503); what matters is the refusal once the new key is in force.
    refused = r.stderr;
    if (r.code !== 0 && !/ServiceUnavailable/.test(r.stderr)) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  // kubectl's words for the 401 the in-cluster Envoy's JWT filter answers with.
  expect(refused).toMatch(/must be logged in|Unauthorized/);
  // The control plane's own configuration comes back with the agent's next session.
  await site.stopAgent();
  await site.startAgent();
  await waitFor(() => stack.controlPlane.agents!.hub.session('prod-a') !== undefined);
  let restored = '';
  const again = Date.now() + 20_000;
  while (Date.now() < again && restored !== 'world') {
    restored = (await kubectl(kubeconfig, ['get', 'configmap', 'greeting', '-n', 'default', '-o', 'jsonpath={.data.hello}'])).stdout;
    if (restored !== 'world') await new Promise((res) => setTimeout(res, 200));
  }
  expect(restored).toBe('world');
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
