/**
 * A fleet cluster behind a firewall: its control plane and its real node run inside a
 * firewalled site (dev/netns), so the node, like everything there, only dials out, and only
 * where the site may. A Deployment of kubegate's agent image starts and serves; a pod reaches
 * the hub stand-in on the host (an allowed destination) and is refused anything else; the host
 * cannot connect in, not to the kubelet and not to a NodePort; kubectl (from inside the site,
 * as the cluster's admin would) gets logs and exec. When the node stops, the site's firewall is
 * exactly what it was; once the site is gone, so is everything else.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { startLocalRegistry, type LocalRegistry } from '../../dev/images/local-registry';
import { buildImages, type BuiltImage } from '../../dev/images/build-images';
import { FirewalledSite } from '../../dev/netns/firewalled-site';
import { cleanupStaleSites } from '../../dev/netns/stale-site-cleanup';
import { getFreePorts } from '../../dev/process/free-port';
import { RealNode } from '../../dev/real-node/real-node';
import { loadToolchain } from '../../dev/toolchain/tools';
import { projectRoot } from '../../control-plane/proto/project-root';
import { silentLogger } from '../../control-plane/log/logger';
import { eventually } from '../support/streaming-command';
import { expectHostAsBefore, hostSnapshot, type HostSnapshot } from './host-snapshot';
import { HTTP_GET, webManifests, WEB_PORT } from './web-deployment';

jest.setTimeout(600_000);

const tools = loadToolchain();
const NS = 'fleet';
let dir: string;
let registry: LocalRegistry;
let agent: BuiltImage;
let site: FirewalledSite;
let cluster: LocalCluster;
let node: RealNode;
let before: HostSnapshot;
let siteRulesBefore: string;
let hubPort: number;
let otherPort: number;
const servers: http.Server[] = [];

/** iptables-save inside the site, without counters. */
const siteRules = async () => {
  const out = (await site.exec('iptables-save', [])).stdout + (await site.exec('ip6tables-save', [])).stdout;
  return out.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/, '')).join('\n');
};

beforeAll(async () => {
  await cleanupStaleSites();
  before = hostSnapshot(tools);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-real-node-site-'));
  registry = await startLocalRegistry({ crane: tools.crane, dir: path.join(dir, 'registry'), logger: silentLogger });
  [agent] = await buildImages({ crane: tools.crane, registry: registry.address, projectRoot: projectRoot(), node: process.execPath, envoy: tools.envoy, workDir: path.join(dir, 'images'), logger: silentLogger, only: ['agent'] });
  [hubPort, otherPort] = await getFreePorts(2);
  site = await new FirewalledSite({ name: 'fleet', allowOutboundTo: [{ port: hubPort! }] }).create();
  // The hub stand-in and a server the site may not reach, both on the host's end of the site's link.
  for (const [port, body] of [[hubPort!, 'hub'], [otherPort!, 'other']] as const) {
    const server = http.createServer((_req, res) => res.end(body));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(port, site.hostAddress, resolve));
  }
  siteRulesBefore = await siteRules();
  cluster = await startLocalCluster({ name: 'fleet', stateDir: path.join(dir, 'cluster'), toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0, placement: site.placement });
  node = await RealNode.join(cluster, { name: 'fleet-0', stateDir: path.join(dir, 'fleet-0'), registry: registry.address, toolchain: tools, logger: silentLogger, site });
});

afterAll(async () => {
  await node?.stop().catch(() => undefined);
  await cluster?.stop();
  await site?.destroy();
  await registry?.stop();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const kubectl = async (args: readonly string[], input?: string) => {
  const r = await cluster.kubectl(args, { input, timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};
const inPod = (program: string) => kubectl(['exec', '-n', NS, 'deployment/web', '--', '/usr/local/bin/node', '-e', program]);

/** 'connected', 'refused' or 'timeout' for a TCP connection from the host. */
function dialFromHost(host: string, port: number, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done('timeout'));
    socket.once('connect', () => done('connected'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : (err.code ?? err.message)));
  });
}

test('the node in the site is Ready at the site address, and a Deployment of the agent image becomes Available', async () => {
  const addresses = JSON.parse(await kubectl(['get', 'node', 'fleet-0', '-o', 'jsonpath={.status.addresses}'])) as Array<{ type: string; address: string }>;
  expect(addresses).toContainEqual({ type: 'InternalIP', address: site.siteAddress });
  await kubectl(['apply', '-f', '-'], webManifests(NS, agent.reference));
  await kubectl(['wait', '--for=condition=Available', 'deployment/web', '-n', NS, '--timeout=240s']);
  expect(await kubectl(['logs', 'deployment/web', '-n', NS])).toBe(`test server serving on ${WEB_PORT}\n`);
});

test('a pod dials the hub (an allowed destination) and is refused any other port of the host', async () => {
  expect(await inPod(HTTP_GET(`http://${site.hostAddress}:${hubPort}/`))).toBe('200 hub');
  expect(await inPod(HTTP_GET(`http://${site.hostAddress}:${otherPort}/`))).toMatch(/^error .*EHOSTUNREACH/);
});

test('a pod reaches the apiserver of its cluster at the kubernetes Service', async () => {
  const out = await inPod(`require('node:https').get({ host: process.env.KUBERNETES_SERVICE_HOST, port: 443, path: '/version', ca: require('node:fs').readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/ca.crt') }, (r) => { r.resume(); process.stdout.write(String(r.statusCode)); }).on('error', (e) => process.stdout.write('error ' + e.message));`);
  expect(out).toBe('200');
});

test('the host cannot connect in: not to the kubelet, not to a NodePort, which answers inside the site', async () => {
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-nodeport', namespace: NS }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: WEB_PORT }] } }));
  const nodePort = Number(await kubectl(['get', 'service', 'web-nodeport', '-n', NS, '-o', 'jsonpath={.spec.ports[0].nodePort}']));
  const inside = await eventually('the NodePort on the site\'s loopback', async () => {
    const r = await site.exec(process.execPath, ['-e', HTTP_GET(`http://127.0.0.1:${nodePort}/healthz`)]);
    return r.stdout === '200 ok' ? r.stdout : undefined;
  });
  expect(inside).toBe('200 ok');
  expect(await dialFromHost(site.siteAddress, nodePort)).toBe('timeout');
  expect(await dialFromHost(site.siteAddress, 10250)).toBe('timeout');
});

test('when the node stops, the site firewall is as it was; once the site is gone, the host is as it was', async () => {
  await node.stop();
  expect(await siteRules()).toBe(siteRulesBefore);
  await cluster.stop();
  await site.destroy();
  expectHostAsBefore(before, hostSnapshot(tools));
});
