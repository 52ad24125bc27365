/**
 * A 'full' local cluster with a real node: containerd and runc from Debian, the kubelet and
 * kube-proxy from the toolchain, the CNI bridge, in a network namespace of the node's own.
 * kubegate's agent image, built by the project's build and pulled by digest from the local
 * registry, runs a Deployment (the image's Node.js serving HTTP) that becomes Available;
 * kubectl logs, exec (a node program: the image has no shell) and port-forward reach it through
 * the apiserver and the kubelet; a Service reaches it through kube-proxy from the node and from
 * a pod; a pod reaches the apiserver at the `kubernetes` Service; and once the node and the
 * cluster have stopped, the host is exactly as it was before (sysctls, iptables, links, routes,
 * mounts, cgroups, host directories, processes).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { startLocalRegistry, type LocalRegistry } from '../../dev/images/local-registry';
import { buildImages, type BuiltImage } from '../../dev/images/build-images';
import { RealNode } from '../../dev/real-node/real-node';
import { RealNodeConfigError } from '../../dev/real-node/errors';
import { loadToolchain } from '../../dev/toolchain/tools';
import { projectRoot } from '../../control-plane/proto/project-root';
import { silentLogger } from '../../control-plane/log/logger';
import { eventually, streamCommand, type Streaming } from '../support/streaming-command';
import { expectHostAsBefore, hostSnapshot, type HostSnapshot } from './host-snapshot';
import { HTTP_GET, webManifests, WEB_PORT } from './web-deployment';

jest.setTimeout(600_000);
const run = promisify(execFile);

const tools = loadToolchain();
const NS = 'real-node-test';
const PORT = WEB_PORT;
let dir: string;
let registry: LocalRegistry;
let agent: BuiltImage;
let cluster: LocalCluster;
let node: RealNode;
let before: HostSnapshot;
const streams: Streaming[] = [];
const figures: Record<string, number> = {};

beforeAll(async () => {
  before = hostSnapshot(tools);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-real-node-'));
  registry = await startLocalRegistry({ crane: tools.crane, dir: path.join(dir, 'registry'), logger: silentLogger });
  [agent] = await buildImages({ crane: tools.crane, registry: registry.address, projectRoot: projectRoot(), node: process.execPath, envoy: tools.envoy, workDir: path.join(dir, 'images'), logger: silentLogger, only: ['agent'] });
  cluster = await startLocalCluster({ name: 'real', stateDir: path.join(dir, 'cluster'), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0 });
  const started = Date.now();
  node = await RealNode.join(cluster, { name: 'node-0', stateDir: path.join(dir, 'node-0'), registry: registry.address, toolchain: tools, logger: silentLogger });
  figures.nodeReadySeconds = (Date.now() - started) / 1000;
});

afterAll(async () => {
  await Promise.all(streams.map((s) => s.stop()));
  await node?.stop().catch(() => undefined);
  await cluster?.stop();
  await registry?.stop();
  // eslint-disable-next-line no-console
  console.log(`real-node figures: ${JSON.stringify(figures)}`);
  if (dir && !process.env.KEEP_REAL_NODE_DIR) fs.rmSync(dir, { recursive: true, force: true });
});

const kubectl = async (args: readonly string[], input?: string) => {
  const r = await cluster.kubectl(args, { input, timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};

/** Runs a Node.js program inside the node's network namespace (where ClusterIPs are served). */
const nodeJsInNode = async (program: string) => {
  const c = node.command(process.execPath, ['-e', program]);
  return (await run(c.binary, c.args, { timeout: 30_000 })).stdout;
};

test('a node of an apiserver-only cluster is refused before anything starts', async () => {
  const bare = await startLocalCluster({ name: 'bare', stateDir: path.join(dir, 'bare'), toolchain: tools, logger: silentLogger });
  try {
    await expect(RealNode.join(bare, { name: 'node-x', stateDir: path.join(dir, 'node-x'), registry: registry.address, toolchain: tools, logger: silentLogger })).rejects.toThrow(RealNodeConfigError);
    expect(fs.existsSync(path.join(dir, 'node-x'))).toBe(false);
  } finally {
    await bare.stop();
  }
});

test('the node is Ready, named by its own address, with the kubelet version of the toolchain and containerd as runtime', async () => {
  type Node = { status: { conditions: { type: string; status: string }[]; addresses: { type: string; address: string }[]; nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string; kubeProxyVersion?: string } } };
  const n = JSON.parse(await kubectl(['get', 'node', 'node-0', '-o', 'json'])) as Node;
  expect(n.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  expect(n.status.addresses).toContainEqual({ type: 'InternalIP', address: node.address });
  expect(n.status.nodeInfo.kubeletVersion).toBe(`v${tools.versions.kubernetes}`);
  expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/1\.6\./);
});

test("kubegate's agent image, pulled by digest from the local registry, becomes an Available Deployment", async () => {
  const started = Date.now();
  await kubectl(['apply', '-f', '-'], webManifests(NS, agent.reference));
  await kubectl(['wait', '--for=condition=Available', 'deployment/web', '-n', NS, '--timeout=240s']);
  figures.deploymentAvailableSeconds = (Date.now() - started) / 1000;
  type Pod = { spec: { nodeName: string }; status: { podIP: string; containerStatuses: { imageID: string; ready: boolean }[] } };
  const pods = JSON.parse(await kubectl(['get', 'pods', '-n', NS, '-l', 'app=web', '-o', 'json'])) as { items: Pod[] };
  expect(pods.items).toHaveLength(1);
  const pod = pods.items[0]!;
  expect(pod.spec.nodeName).toBe('node-0');
  expect(pod.status.containerStatuses[0]!.ready).toBe(true);
  expect(pod.status.containerStatuses[0]!.imageID).toContain(agent.digest);
  // The pod's address is from the node's own range.
  expect(pod.status.podIP.split('.').slice(0, 3).join('.')).toBe(node.podCidr.split('.').slice(0, 3).join('.'));
});

test('kubectl logs shows what the container wrote', async () => {
  const logs = await eventually('the server line in the logs', async () => {
    const out = await kubectl(['logs', 'deployment/web', '-n', NS]);
    return out.includes('test server serving') ? out : undefined;
  });
  expect(logs).toBe(`test server serving on ${PORT}\n`);
});

test("kubectl exec runs the image's programs (node: there is no shell), as the image user, on a read-only root", async () => {
  const out = await kubectl(['exec', '-n', NS, 'deployment/web', '--', '/usr/local/bin/node', '-e', "const fs = require('node:fs'); let ro = false; try { fs.writeFileSync('/x', 'x'); } catch (e) { ro = e.code === 'EROFS'; } process.stdout.write(JSON.stringify({ uid: process.getuid(), ro, version: process.version }))"]);
  expect(JSON.parse(out)).toEqual({ uid: 65532, ro: true, version: process.version });
  // The image's own program starts there too.
  const usage = await kubectl(['exec', '-n', NS, 'deployment/web', '--', '/usr/local/bin/node', '/app/dist/agent/main.js', '--help']);
  expect(usage).toContain('--control-plane HOST:PORT');
});

test('kubectl port-forward reaches the pod from the host', async () => {
  const pf = streamCommand(tools.kubectl, ['--kubeconfig', cluster.adminKubeconfigPath, 'port-forward', '-n', NS, 'deployment/web', `:${PORT}`, '--address', '127.0.0.1']);
  streams.push(pf);
  const [, port] = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+)/, 60_000);
  const res = await fetch(`http://127.0.0.1:${port}/`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ pod: expect.stringMatching(/^web-/), agentInImage: true });
  await pf.stop();
});

test('the Service reaches the pod through kube-proxy, from the node and from inside a pod', async () => {
  const clusterIp = (await kubectl(['get', 'service', 'web', '-n', NS, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  expect(clusterIp).toMatch(/^10\.0\.0\.\d+$/);
  const fromNode = await eventually('GET /healthz through the ClusterIP from the node', async () => {
    const out = await nodeJsInNode(HTTP_GET(`http://${clusterIp}/healthz`));
    return out.startsWith('200') ? out : undefined;
  });
  expect(fromNode).toBe('200 ok');
  // From the pod to its own Service: the hairpin case.
  const fromPod = await kubectl(['exec', '-n', NS, 'deployment/web', '--', '/usr/local/bin/node', '-e', HTTP_GET(`http://${clusterIp}/healthz`)]);
  expect(fromPod).toBe('200 ok');
});

test('a pod reaches the apiserver at the kubernetes Service with its ServiceAccount token', async () => {
  const program = `const fs = require('node:fs'); const sa = '/var/run/secrets/kubernetes.io/serviceaccount/';
require('node:https').get({ host: process.env.KUBERNETES_SERVICE_HOST, port: Number(process.env.KUBERNETES_SERVICE_PORT), path: '/api/v1/namespaces/${NS}/pods', ca: fs.readFileSync(sa + 'ca.crt'), headers: { Authorization: 'Bearer ' + fs.readFileSync(sa + 'token', 'utf8') } }, (r) => { r.resume(); process.stdout.write(process.env.KUBERNETES_SERVICE_HOST + ' ' + r.statusCode); }).on('error', (e) => process.stdout.write('error ' + e.message));`;
  const out = await kubectl(['exec', '-n', NS, 'deployment/web', '--', '/usr/local/bin/node', '-e', program]);
  // 403: the apiserver answered over TLS it verified, and authenticated the pod's default ServiceAccount (which may not list pods).
  expect(out).toBe('10.0.0.1 403');
});

test('figures: the kubelet and containerd at idle', async () => {
  const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  figures.kubeletRssMiB = Math.round(rssMiB(node.pids.kubelet));
  figures.containerdRssMiB = Math.round(rssMiB(node.pids.containerd));
  figures.kubeProxyRssMiB = Math.round(rssMiB(node.pids.kubeProxy));
  expect(figures.kubeletRssMiB).toBeGreaterThan(10);
});

test('while it runs, the kubelet has changed the host as the research found (so the last test checks something), and nothing of iptables', async () => {
  const during = hostSnapshot(tools);
  expect(during.sysctls['vm.overcommit_memory']).toBe('1');
  expect(during.sysctls['kernel.panic_on_oops']).toBe('1');
  expect(during.hostDirs['/var/lib/kubelet']).toContain('device-plugins');
  expect(during.processes.length).toBeGreaterThan(3);
  expect(during.cgroups.length).toBeGreaterThan(0);
  // The kubelet's and kube-proxy's chains are in the node's namespace, not the host's.
  expect(during.iptables).toEqual(before.iptables);
});

test('after the node and the cluster have stopped, the host is as it was before', async () => {
  const pids = node.pids;
  await node.stop();
  await cluster.stop();
  const after = hostSnapshot(tools);
  expectHostAsBefore(before, after);
  for (const pid of [pids.kubelet, pids.containerd, pids.kubeProxy, ...pids.relays]) expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
  const nodeDirMounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));
  expect(nodeDirMounts).toEqual([]);
});
