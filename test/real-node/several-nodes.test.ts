/**
 * Several real nodes on one machine at once, as the hub-and-member tests need them: cluster
 * `one` with two nodes and cluster `two` with one. Each node has its own namespace, cgroup root,
 * pod range and containerd, so they do not meet: the two nodes of `one` carry one replica each,
 * and a pod on one node reaches the pod on the other by its address (through the host) and
 * through the Service; cluster `two` serves alongside. Stopping `two`'s node leaves `one`
 * working (the host's sysctls stay as the kubelets need them while any node runs); once
 * everything has stopped, the host is as it was.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { startLocalRegistry, type LocalRegistry } from '../../dev/images/local-registry';
import { buildImages, type BuiltImage } from '../../dev/images/build-images';
import { RealNode } from '../../dev/real-node/real-node';
import { loadToolchain } from '../../dev/toolchain/tools';
import { projectRoot } from '../../control-plane/proto/project-root';
import { silentLogger } from '../../control-plane/log/logger';
import { eventually } from '../support/streaming-command';
import { expectHostAsBefore, hostSnapshot, type HostSnapshot } from './host-snapshot';
import { HTTP_GET, webManifests, WEB_PORT } from './web-deployment';

jest.setTimeout(600_000);

const tools = loadToolchain();
const NS = 'several';
let dir: string;
let registry: LocalRegistry;
let agent: BuiltImage;
let one: LocalCluster;
let two: LocalCluster;
let nodes: { a: RealNode; b: RealNode; c: RealNode };
let before: HostSnapshot;

beforeAll(async () => {
  before = hostSnapshot(tools);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-real-node-several-'));
  registry = await startLocalRegistry({ crane: tools.crane, dir: path.join(dir, 'registry'), logger: silentLogger });
  [agent] = await buildImages({ crane: tools.crane, registry: registry.address, projectRoot: projectRoot(), node: process.execPath, envoy: tools.envoy, workDir: path.join(dir, 'images'), logger: silentLogger, only: ['agent'] });
  const cluster = (name: string) => startLocalCluster({ name, stateDir: path.join(dir, name), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0 });
  [one, two] = await Promise.all([cluster('one'), cluster('two')]);
  const join = (c: LocalCluster, name: string) => RealNode.join(c, { name, stateDir: path.join(dir, name), registry: registry.address, toolchain: tools, logger: silentLogger });
  const [a, b, c] = await Promise.all([join(one, 'one-a'), join(one, 'one-b'), join(two, 'two-a')]);
  nodes = { a: a!, b: b!, c: c! };
});

afterAll(async () => {
  await Promise.all(Object.values(nodes ?? {}).map((n) => n.stop().catch(() => undefined)));
  await Promise.all([one?.stop(), two?.stop()]);
  await registry?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const kubectl = async (cluster: LocalCluster, args: readonly string[], input?: string) => {
  const r = await cluster.kubectl(args, { input, timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};

type Pod = { metadata: { name: string }; spec: { nodeName: string }; status: { podIP: string } };
const webPods = async (cluster: LocalCluster) => (JSON.parse(await kubectl(cluster, ['get', 'pods', '-n', NS, '-l', 'app=web', '-o', 'json'])) as { items: Pod[] }).items;
const nodeGet = (cluster: LocalCluster, pod: string, url: string) => kubectl(cluster, ['exec', '-n', NS, pod, '--', '/usr/local/bin/node', '-e', HTTP_GET(url)]);

test('each node has its own address, pod range, namespace and cgroup root', () => {
  const all = Object.values(nodes);
  for (const key of ['address', 'podCidr', 'netns', 'cgroupRoot'] as const) expect(new Set(all.map((n) => n[key])).size).toBe(3);
});

test("two replicas on cluster one's two nodes reach each other by pod address and through the Service", async () => {
  await kubectl(one, ['apply', '-f', '-'], webManifests(NS, agent.reference, { replicas: 2, onePerNode: true }));
  await kubectl(one, ['wait', '--for=condition=Available', 'deployment/web', '-n', NS, '--timeout=240s']);
  const pods = await webPods(one);
  expect(pods.map((p) => p.spec.nodeName).sort()).toEqual(['one-a', 'one-b']);
  const [p, q] = pods as [Pod, Pod];
  const across = JSON.parse((await nodeGet(one, p.metadata.name, `http://${q.status.podIP}:${WEB_PORT}/`)).replace(/^200 /, '')) as { pod: string };
  expect(across.pod).toBe(q.metadata.name);
  const back = JSON.parse((await nodeGet(one, q.metadata.name, `http://${p.status.podIP}:${WEB_PORT}/`)).replace(/^200 /, '')) as { pod: string };
  expect(back.pod).toBe(p.metadata.name);
  // Through the Service, from one pod, until both replicas have answered (kube-proxy takes the
  // second endpoint a moment after the Deployment is Available).
  const clusterIp = (await kubectl(one, ['get', 'service', 'web', '-n', NS, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  const seen = new Set<string>();
  await eventually('both replicas answering through the Service', async () => {
    const out = await nodeGet(one, p.metadata.name, `http://${clusterIp}/`);
    if (out.startsWith('200 ')) seen.add((JSON.parse(out.slice(4)) as { pod: string }).pod);
    return seen.size === 2 ? true : undefined;
  });
  expect([...seen].sort()).toEqual(pods.map((x) => x.metadata.name).sort());
});

test('cluster two serves alongside, and keeps serving cluster one after its own node has stopped', async () => {
  await kubectl(two, ['apply', '-f', '-'], webManifests(NS, agent.reference));
  await kubectl(two, ['wait', '--for=condition=Available', 'deployment/web', '-n', NS, '--timeout=240s']);
  const [pod] = await webPods(two);
  expect(pod!.spec.nodeName).toBe('two-a');
  expect(await nodeGet(two, pod!.metadata.name, `http://127.0.0.1:${WEB_PORT}/healthz`)).toBe('200 ok');

  await nodes.c.stop();
  const during = hostSnapshot(tools);
  // The other kubelets still run: what they set stays set.
  expect(during.sysctls['vm.overcommit_memory']).toBe('1');
  expect(during.namespaces).toEqual(expect.arrayContaining([nodes.a.netns, nodes.b.netns]));
  expect(during.namespaces).not.toContain(nodes.c.netns);
  const [p] = await webPods(one);
  const clusterIp = (await kubectl(one, ['get', 'service', 'web', '-n', NS, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  expect(await nodeGet(one, p!.metadata.name, `http://${clusterIp}/healthz`)).toBe('200 ok');
});

test('once every node and both clusters have stopped, the host is as it was', async () => {
  await Promise.all([nodes.a.stop(), nodes.b.stop()]);
  await Promise.all([one.stop(), two.stop()]);
  expectHostAsBefore(before, hostSnapshot(tools));
});
