/**
 * kubegate deployed as a platform team would deploy it: the images the project builds, pushed
 * to a local registry and pulled by digest; the hub installed into a real cluster (a real
 * kubelet, containerd and kube-proxy) from `kubegate manifests hub`; a second real cluster
 * whose agent is installed from `kubegate manifests agent` and joins with a one-time token;
 * then an operator on the host creates a user through the deployed API, downloads a
 * kubeconfig from it, and runs kubectl get, watch and exec through the deployed edge into the
 * member cluster. The figures (seconds to a serving hub, to the first proxied request, the
 * pods' memory and CPU at idle and under load) go to .cache/hub-in-cluster.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { startLocalRegistry, type LocalRegistry } from '../../dev/images/local-registry';
import { buildImages, writeBuildResults } from '../../dev/images/build-images';
import { RealNode } from '../../dev/real-node/real-node';
import { installClusterDns } from '../../dev/cluster-dns/cluster-dns';
import { loadToolchain } from '../../dev/toolchain/tools';
import { projectRoot } from '../../control-plane/proto/project-root';
import { silentLogger } from '../../control-plane/log/logger';
import { ADMIN_KUBECONFIG_KEY, ADMIN_KUBECONFIG_SECRET, EDGE_XDS_CLIENT_KEYS, EDGE_XDS_CLIENT_SECRET } from '../../control-plane/hub-secrets/hub-secrets';
import { defaultPolicyText } from '../../control-plane/server/default-policies';
import { runCommand, type CommandResult } from '../support/run-command';
import { eventually, streamCommand, type Streaming } from '../support/streaming-command';
import { podStats, type PodStats } from './support/pod-stats';
import { loadAgainstEdge } from './support/edge-load';

jest.setTimeout(900_000);

const tools = loadToolchain();
const root = projectRoot();
const cli = path.join(root, 'dist', 'dev', 'cli', 'main.js');
const HUB_NS = 'kubegate-system';
/** NodePorts of the hub's public Services, fixed so the URLs are known before the install. */
const NODE_PORTS = { https: 30443, tunnel: 30444, agent: 30445, api: 30446 };
const STORAGE_CLASS = 'kubegate-test-local';

let dir: string;
let registry: LocalRegistry;
let imagesFile: string;
let hub: LocalCluster;
let hubNode: RealNode;
let member: LocalCluster;
let memberNode: RealNode;
const streams: Streaming[] = [];
const figures: Record<string, unknown> = {};
let adminKubeconfig: string;
let apiUrl: string;

const kubegate = async (args: readonly string[], input?: string): Promise<string> => {
  const r = await runCommand(process.execPath, [cli, ...args], { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
  if (r.code !== 0) throw new Error(`kubegate ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};
const api = (args: readonly string[]) => kubegate([...args, '--server', apiUrl, '--kubeconfig', adminKubeconfig]);
const kubectlIn = async (cluster: LocalCluster, args: readonly string[], input?: string): Promise<string> => {
  const r = await cluster.kubectl(args, { ...(input !== undefined ? { input } : {}), timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};
/** kubectl as a kubegate user, through the deployed edge. */
const kubectlVia = (kubeconfig: string, args: readonly string[]): Promise<CommandResult> => runCommand(tools.kubectl, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 60_000 });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-e2e-'));
  // The images run dist/: build it from the sources under test.
  const built = await runCommand(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.json')], { timeoutMs: 300_000 });
  expect(built.stdout + built.stderr).toBe('');
  registry = await startLocalRegistry({ crane: tools.crane, dir: path.join(dir, 'registry'), logger: silentLogger });
  const images = await buildImages({ crane: tools.crane, registry: registry.address, projectRoot: root, node: process.execPath, envoy: tools.envoy, workDir: path.join(dir, 'images'), logger: silentLogger });
  imagesFile = path.join(dir, 'images.json');
  writeBuildResults(imagesFile, images);
  [hub, member] = await Promise.all([
    startLocalCluster({ name: 'hub', stateDir: path.join(dir, 'hub'), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0 }),
    startLocalCluster({ name: 'member', stateDir: path.join(dir, 'member'), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0 }),
  ]);
  hubNode = await RealNode.join(hub, { name: 'hub-node', stateDir: path.join(dir, 'hub-node'), registry: registry.address, toolchain: tools, logger: silentLogger });
  memberNode = await RealNode.join(member, { name: 'member-node', stateDir: path.join(dir, 'member-node'), registry: registry.address, toolchain: tools, logger: silentLogger });
  // Cluster DNS, as every conformant cluster has: the edge finds the controller by its Service's name.
  const dns = { crane: tools.crane, coredns: tools.coredns, registry: registry.address, workDir: path.join(dir, 'dns') };
  await Promise.all([installClusterDns(hub, dns), installClusterDns(member, dns)]);
});

afterAll(async () => {
  await Promise.all(streams.map((s) => s.stop()));
  await memberNode?.stop().catch(() => undefined);
  await hubNode?.stop().catch(() => undefined);
  await member?.stop();
  await hub?.stop();
  await registry?.stop();
  fs.mkdirSync(path.join(root, '.cache'), { recursive: true });
  fs.writeFileSync(path.join(root, '.cache', 'hub-in-cluster.json'), JSON.stringify(figures, null, 2));
  // eslint-disable-next-line no-console
  console.log(`hub-in-cluster figures: ${JSON.stringify(figures)}`);
  if (dir && !process.env.KEEP_HUB_E2E_DIR) fs.rmSync(dir, { recursive: true, force: true });
});

/** SQLite's volume: a hostPath PersistentVolume the claim binds to (no provisioner runs here). */
function storageManifests(volumeDir: string): string {
  return [
    { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: STORAGE_CLASS }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer' },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'kubegate-store' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: STORAGE_CLASS, hostPath: { path: volumeDir, type: 'Directory' } },
    },
  ]
    .map((o) => stringify(o))
    .join('---\n');
}

test('the hub installs into a real cluster from kubegate manifests hub and serves its API and edge from the host', async () => {
  const volumeDir = path.join(dir, 'hub-store');
  fs.mkdirSync(volumeDir, { mode: 0o770 });
  // The images run as 65532; a hostPath volume is not handed to the pod's fsGroup.
  fs.chownSync(volumeDir, 65532, 65532);
  await kubectlIn(hub, ['apply', '-f', '-'], storageManifests(volumeDir));

  const edgeUrl = `https://${hubNode.address}:${NODE_PORTS.https}`;
  const yaml = await kubegate([
    'manifests', 'hub', '--images', imagesFile,
    '--set', `edgeUrl=${edgeUrl}`,
    '--set', 'serviceType=NodePort',
    ...Object.entries(NODE_PORTS).flatMap(([k, v]) => ['--set', `nodePorts.${k}=${v}`]),
    '--set', `store.sqliteStorageClass=${STORAGE_CLASS}`,
    '--set', `apiServerNames={${hubNode.address}}`,
  ]);
  const started = Date.now();
  await kubectlIn(hub, ['apply', '-f', '-'], yaml);
  await kubectlIn(hub, ['-n', HUB_NS, 'wait', '--for=condition=Available', 'deployment/kubegate-controller', 'deployment/kubegate-edge', '--timeout=300s']);
  figures.hubAvailableSeconds = (Date.now() - started) / 1000;

  // The operator's first credential, from the Secret the controller created on first start.
  const b64 = await eventually('the admin kubeconfig Secret', async () => {
    const r = await hub.kubectl(['-n', HUB_NS, 'get', 'secret', ADMIN_KUBECONFIG_SECRET, '-o', `jsonpath={.data.${ADMIN_KUBECONFIG_KEY}}`]);
    return r.code === 0 && r.stdout ? r.stdout : undefined;
  }, 120_000);
  adminKubeconfig = path.join(dir, 'admin.kubeconfig');
  fs.writeFileSync(adminKubeconfig, Buffer.from(b64, 'base64'), { mode: 0o600 });
  expect(fs.readFileSync(adminKubeconfig, 'utf8')).toContain(`server: ${edgeUrl}`);

  // The admin API through the controller's public Service: its certificate names the address.
  apiUrl = `https://${hubNode.address}:${NODE_PORTS.api}`;
  const who = await eventually('the deployed API to answer', async () => {
    const r = await runCommand(process.execPath, [cli, 'whoami', '--server', apiUrl, '--kubeconfig', adminKubeconfig], { timeoutMs: 30_000 });
    return r.code === 0 ? r.stdout : undefined;
  }, 120_000);
  expect(who).toContain('admin');
  figures.hubServingSeconds = (Date.now() - started) / 1000;

  // Nothing secret was in the manifests: the CAs exist only as the Secret the controller made.
  expect(yaml).not.toMatch(/PRIVATE KEY/);
  const pki = JSON.parse(await kubectlIn(hub, ['-n', HUB_NS, 'get', 'secret', 'kubegate-pki', '-o', 'json'])) as { data: Record<string, string> };
  expect(Object.keys(pki.data)).toEqual(expect.arrayContaining(['user-ca.key', 'internal-ca.key']));
});

test('a member cluster joins with KubegateAgent and its token; kubectl get, watch and exec reach it through the deployed edge', async () => {
  const caB64 = await kubectlIn(hub, ['-n', HUB_NS, 'get', 'secret', EDGE_XDS_CLIENT_SECRET, '-o', `jsonpath={.data.${EDGE_XDS_CLIENT_KEYS.ca.replace('.', '\\.')}}`]);
  const hubCa = path.join(dir, 'hub-internal-ca.crt');
  fs.writeFileSync(hubCa, Buffer.from(caB64, 'base64'));
  const token = JSON.parse(await api(['cluster', 'join-token', 'member', '-o', 'json'])) as { token: string };
  const agentYaml = await kubegate([
    'manifests', 'agent', '--images', imagesFile,
    '--set', 'cluster=member',
    '--set', 'labels.env=test',
    '--set', `hubAgentEndpoint=${hubNode.address}:${NODE_PORTS.agent}`,
    '--set-file', `hubCaPem=${hubCa}`,
    '--set', 'allowedClusterRoles={cluster-admin,view}',
    '--set', `joinToken=${token.token}`,
  ]);
  const started = Date.now();
  await kubectlIn(member, ['apply', '-f', '-'], agentYaml);
  await kubectlIn(member, ['-n', 'kubegate-system', 'wait', '--for=condition=Available', 'deployment', '--all', '--timeout=300s']);
  await eventually('the member cluster to be connected', async () => {
    const list = JSON.parse(await api(['cluster', 'list', '-o', 'json'])) as { clusters: { name: string; agent?: { status: string } }[] };
    return list.clusters.find((c) => c.name === 'member' && c.agent?.status === 'connected');
  }, 180_000);

  // An operator on the host: a user, a policy, a kubeconfig downloaded from the deployed hub.
  await api(['user', 'create', 'alice', '--group', 'team']);
  // A policy set is applied whole: the administrators' policy stays beside the team's.
  const policyDir = path.join(dir, 'policies');
  fs.mkdirSync(policyDir);
  fs.writeFileSync(path.join(policyDir, 'admins.yaml'), defaultPolicyText());
  fs.writeFileSync(
    path.join(policyDir, 'team.yaml'),
    stringify({
      apiVersion: 'kubegate.dev/v1alpha1',
      kind: 'AccessPolicy',
      metadata: { name: 'team' },
      spec: { subjects: { groups: ['team'] }, clusters: { names: ['member'] }, rules: [{ apiGroups: ['', 'apps'], resources: ['pods', 'pods/exec', 'configmaps', 'deployments'], verbs: ['get', 'list', 'watch', 'create'], namespaces: ['kubegate-system'] }], clusterRoles: [{ name: 'cluster-admin', namespaces: ['kubegate-system'] }] },
    }),
  );
  await api(['policy', 'apply', policyDir]);
  const aliceKubeconfig = path.join(dir, 'alice.kubeconfig');
  await api(['kubeconfig', '--user', 'alice', '--cluster', 'member', '-o', aliceKubeconfig]);

  const pods = await eventually('alice to list pods through the edge', async () => {
    const r = await kubectlVia(aliceKubeconfig, ['get', 'pods', '-n', 'kubegate-system', '-o', 'name']);
    return r.code === 0 && r.stdout.includes('pod/') ? r.stdout : undefined;
  }, 120_000);
  figures.joinToFirstRequestSeconds = (Date.now() - started) / 1000;
  const agentPod = pods.trim().split('\n')[0]!.replace('pod/', '');

  // watch: a ConfigMap created in the member cluster shows up on alice's open watch.
  const watch = streamCommand(tools.kubectl, ['--kubeconfig', aliceKubeconfig, 'get', 'configmaps', '-n', 'kubegate-system', '--watch', '-o', 'name']);
  streams.push(watch);
  await eventually('the watch to list what exists', async () => (watch.output().includes('configmap/') ? true : undefined), 60_000);
  await kubectlIn(member, ['-n', 'kubegate-system', 'create', 'configmap', 'seen-through-the-edge', '--from-literal=k=v']);
  await eventually('the new ConfigMap on the watch', async () => (watch.output().includes('configmap/seen-through-the-edge') ? true : undefined), 60_000);

  // exec into the agent's pod (no shell in the image: its Node.js).
  const exec = await kubectlVia(aliceKubeconfig, ['exec', '-n', 'kubegate-system', agentPod, '-c', 'agent', '--', '/usr/local/bin/node', '-e', 'process.stdout.write("exec through kubegate")']);
  expect(exec.stderr).toBe('');
  expect(exec.stdout).toBe('exec through kubegate');

  // Outside the policy: refused at the edge, with kubectl's usual Forbidden.
  const refused = await kubectlVia(aliceKubeconfig, ['get', 'secrets', '-n', 'default']);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/forbidden/i);

  // Every one of those requests is in the deployed hub's audit trail.
  const audit = await api(['audit', '--user', 'alice', '-o', 'json']);
  expect(audit).toContain('pods/exec');
});

test("the pods' memory and CPU at idle and under load through the edge", async () => {
  const all = async () => ({ ...(await podStats(hub, 'hub-node', HUB_NS)), ...(await podStats(member, 'member-node', 'kubegate-system')) });
  // The kubelet reports a pod once its housekeeping has measured it (about every 10 s).
  const idle: Record<string, PodStats> = await eventually('the kubelets to have measured every pod', async () => {
    const stats = await all();
    return Object.keys(stats).length === 3 && Object.values(stats).every((p) => p.memoryBytes > 0) ? stats : undefined;
  }, 60_000);
  const aliceKubeconfig = path.join(dir, 'alice.kubeconfig');
  const load = await loadAgainstEdge({ kubeconfig: aliceKubeconfig, path: '/api/v1/namespaces/kubegate-system/configmaps', concurrency: 8, durationMs: 40_000, during: all });
  figures.pods = { idle, underLoad: load.sampled, load: { requests: load.requests, failures: load.failures, requestsPerSecond: load.requests / 40 } };
  expect(load.failures).toBe(0);
  expect(load.requests).toBeGreaterThan(50);
  for (const name of Object.keys(idle)) expect(idle[name]!.memoryBytes).toBeGreaterThan(0);
});
