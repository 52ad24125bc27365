/**
 * The hub's Helm chart on a real cluster (a real kubelet, containerd and kube-proxy, images
 * pulled from the local registry): `helm install` of the chart `kubegate chart hub` writes
 * gives a hub that serves its admin API and edge from the host, on SQLite in a
 * PersistentVolume, with two edge replicas each reachable on its own tunnel NodePort;
 * `helm upgrade` to a new controller image rolls the controller (SQLite: the old pod gone
 * before the new one starts), and the hub comes back with its CAs, its credentials and its
 * store as they were.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { startLocalRegistry, type LocalRegistry } from '../../dev/images/local-registry';
import { buildImages, type BuiltImage } from '../../dev/images/build-images';
import { RealNode } from '../../dev/real-node/real-node';
import { installClusterDns } from '../../dev/cluster-dns/cluster-dns';
import { loadToolchain } from '../../dev/toolchain/tools';
import { projectRoot } from '../../control-plane/proto/project-root';
import { silentLogger } from '../../control-plane/log/logger';
import { ADMIN_KUBECONFIG_KEY, ADMIN_KUBECONFIG_SECRET } from '../../control-plane/hub-secrets/hub-secrets';
import { hubChartSource } from '../../constructs/helm/hub-chart-source';
import { runCommand } from '../support/run-command';
import { eventually } from '../support/streaming-command';
import { writtenChart, type WrittenChart } from '../helm/written-chart-fixture';
import { HOSTPATH_STORAGE_CLASS, hostPathStoreManifests } from './support/hostpath-store';

jest.setTimeout(900_000);

const tools = loadToolchain();
const root = projectRoot();
const cli = path.join(root, 'dist', 'dev', 'cli', 'main.js');
const NS = 'kubegate-system';
// Edge replica i's tunnel Service takes nodePorts.tunnel + i: clear of the others.
const NODE_PORTS = { https: 31443, tunnel: 31450, agent: 31445, api: 31446 };
const EDGE_REPLICAS = 2;

let dir: string;
let registry: LocalRegistry;
let images: Record<string, BuiltImage>;
let cluster: LocalCluster;
let node: RealNode;
let chart: WrittenChart;
let values: Record<string, unknown>;
let adminKubeconfig: string;
let apiUrl: string;

const kubectl = async (args: readonly string[], input?: string): Promise<string> => {
  const r = await cluster.kubectl(args, { ...(input !== undefined ? { input } : {}), timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};
const api = async (args: readonly string[]) => {
  const r = await runCommand(process.execPath, [cli, ...args, '--server', apiUrl, '--kubeconfig', adminKubeconfig], { timeoutMs: 60_000 });
  return { ...r, ok: r.code === 0 };
};
const secretData = async (name: string) => (JSON.parse(await kubectl(['-n', NS, 'get', 'secret', name, '-o', 'json'])) as { data: Record<string, string> }).data;
const controllerPods = async () =>
  JSON.parse(await kubectl(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/component=controller', '-o', 'json'])) as { items: { metadata: { name: string }; status: { containerStatuses?: { imageID: string; ready: boolean }[] } }[] };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-hub-helm-'));
  const built = await runCommand(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.json')], { timeoutMs: 300_000 });
  expect(built.stdout + built.stderr).toBe('');
  registry = await startLocalRegistry({ crane: tools.crane, dir: path.join(dir, 'registry'), logger: silentLogger });
  const list = await buildImages({ crane: tools.crane, registry: registry.address, projectRoot: root, node: process.execPath, envoy: tools.envoy, workDir: path.join(dir, 'images'), logger: silentLogger, only: ['controller', 'envoy'] });
  images = Object.fromEntries(list.map((i) => [i.name, i]));
  cluster = await startLocalCluster({ name: 'helm-hub', stateDir: path.join(dir, 'cluster'), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0 });
  node = await RealNode.join(cluster, { name: 'helm-hub-node', stateDir: path.join(dir, 'node'), registry: registry.address, toolchain: tools, logger: silentLogger });
  await installClusterDns(cluster, { crane: tools.crane, coredns: tools.coredns, registry: registry.address, workDir: path.join(dir, 'dns') });
  chart = writtenChart(hubChartSource, cluster.adminKubeconfigPath);
  values = {
    images: { controller: images.controller!.reference, envoy: images.envoy!.reference },
    edgeUrl: `https://${node.address}:${NODE_PORTS.https}`,
    edgeTunnelAddress: `${node.address}:${NODE_PORTS.tunnel}`,
    serviceType: 'NodePort',
    nodePorts: NODE_PORTS,
    edge: { replicas: EDGE_REPLICAS },
    apiServerNames: [node.address],
    store: { sqliteStorageClass: HOSTPATH_STORAGE_CLASS },
  };
});

afterAll(async () => {
  chart?.stop();
  await node?.stop().catch(() => undefined);
  await cluster?.stop();
  await registry?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('helm install of the generated chart gives a working hub: its API and edge answer from the host, each edge replica on its tunnel NodePort', async () => {
  await kubectl(['apply', '-f', '-'], hostPathStoreManifests(path.join(dir, 'store')));
  const install = await chart.helm.run(['install', 'kubegate-hub', chart.chartDir, '-f', chart.valuesFile(values), '--namespace', 'default']);
  expect(install.stderr).toBe('');
  expect(install.code).toBe(0);
  await kubectl(['-n', NS, 'wait', '--for=condition=Available', 'deployment/kubegate-controller', '--timeout=300s']);
  await kubectl(['-n', NS, 'rollout', 'status', 'statefulset/kubegate-edge', '--timeout=300s']);

  const b64 = await eventually('the admin kubeconfig Secret', async () => (await secretData(ADMIN_KUBECONFIG_SECRET).catch(() => undefined))?.[ADMIN_KUBECONFIG_KEY], 120_000);
  adminKubeconfig = path.join(dir, 'admin.kubeconfig');
  fs.writeFileSync(adminKubeconfig, Buffer.from(b64, 'base64'), { mode: 0o600 });
  apiUrl = `https://${node.address}:${NODE_PORTS.api}`;
  const who = await eventually('the API installed by helm to answer', async () => {
    const r = await api(['whoami']);
    return r.ok ? r.stdout : undefined;
  }, 120_000);
  expect(who).toContain('admin');
  expect((await api(['user', 'create', 'before-upgrade'])).stderr).toBe('');
  // The edge serves TLS on its NodePort, with the edge's serving certificate.
  const edge = await runCommand('bash', ['-c', `echo | openssl s_client -connect ${node.address}:${NODE_PORTS.https} -servername kubegate 2>/dev/null | openssl x509 -noout -issuer`], { timeoutMs: 30_000 });
  expect(edge.stdout).toMatch(/issuer=.*kubegate serving CA/);
  // Replica i's tunnel Service selects its pod alone, on nodePorts.tunnel + i: each accepts a connection.
  for (let i = 0; i < EDGE_REPLICAS; i++) {
    const slices = JSON.parse(await kubectl(['-n', NS, 'get', 'endpointslices', '-l', `kubernetes.io/service-name=kubegate-edge-tunnel-${i}`, '-o', 'json'])) as { items: { endpoints?: { targetRef?: { name: string } }[] }[] };
    expect(slices.items.flatMap((e) => (e.endpoints ?? []).map((x) => x.targetRef?.name))).toEqual([`kubegate-edge-${i}`]);
    const port = NODE_PORTS.tunnel + i;
    const open = await eventually(`edge replica ${i}'s tunnel on ${port}`, async () => {
      const r = await runCommand('bash', ['-c', `exec 3<>/dev/tcp/${node.address}/${port}`], { timeoutMs: 10_000 });
      return r.code === 0 ? true : undefined;
    }, 60_000);
    expect(open).toBe(true);
  }
});

test('helm upgrade to a new controller image rolls the controller, and the hub keeps its CAs, credentials and store', async () => {
  const pki = await secretData('kubegate-pki');
  const [before] = (await controllerPods()).items;
  // A new image: the same content with one more label, so a new digest.
  const repo = images.controller!.reference.split('@')[0]!;
  const mutated = await runCommand(tools.crane, ['--insecure', 'mutate', images.controller!.reference, '--label', 'kubegate.test/upgrade=1', '-t', `${repo}:upgrade`], { timeoutMs: 120_000 });
  expect(mutated.code).toBe(0);
  const digest = (await runCommand(tools.crane, ['--insecure', 'digest', `${repo}:upgrade`], { timeoutMs: 60_000 })).stdout.trim();
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(digest).not.toBe(images.controller!.digest);
  const upgraded = `${repo}@${digest}`;

  const upgrade = await chart.helm.run(['upgrade', 'kubegate-hub', chart.chartDir, '-f', chart.valuesFile(values), '--set', `images.controller=${upgraded}`, '--namespace', 'default']);
  expect(upgrade.stderr).toBe('');
  expect(upgrade.code).toBe(0);
  await kubectl(['-n', NS, 'rollout', 'status', 'deployment/kubegate-controller', '--timeout=300s']);
  const after = await eventually('one controller pod, of the new image, ready', async () => {
    const pods = (await controllerPods()).items;
    return pods.length === 1 && pods[0]!.metadata.name !== before!.metadata.name && pods[0]!.status.containerStatuses?.[0]?.ready ? pods[0] : undefined;
  }, 180_000);
  expect(after.status.containerStatuses![0]!.imageID).toContain(digest);

  // The same hub: its CAs untouched, the operator's kubeconfig still valid, the store's user still there.
  expect(await secretData('kubegate-pki')).toEqual(pki);
  const users = await eventually('the upgraded API to answer', async () => {
    const r = await api(['user', 'list', '-o', 'json']);
    return r.ok ? r.stdout : undefined;
  }, 120_000);
  expect(users).toContain('before-upgrade');
});
