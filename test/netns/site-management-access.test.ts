/**
 * Host processes reach the kube-apiserver of a cluster inside a firewalled site through
 * startSiteManagementAccess (a Unix-socket relay): the real kubectl on the host, with the
 * cluster's admin kubeconfig pointed at the relay, gets /version, while the site still drops a
 * direct inbound connection and its firewall is unchanged; a relay that dies makes connections
 * fail at once and is logged; stop() leaves no process and no socket behind.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FirewalledSite } from '../../dev/netns/firewalled-site';
import { checkFirewalledSiteSupport } from '../../dev/netns/site-support-check';
import { cleanupStaleSites } from '../../dev/netns/stale-site-cleanup';
import { defaultSearchPath } from '../../dev/netns/commands';
import { kubeconfigThroughAccess, startSiteManagementAccess, type SiteManagementAccess } from '../../dev/netns/site-management-access';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { loadToolchain, type Toolchain } from '../../dev/toolchain/tools';
import { createLogger, silentLogger } from '../../control-plane/log/logger';
import { isRunning, waitUntil } from '../support/process-table';
import { connectFromHost, inboundDrops } from './probes';

jest.setTimeout(120_000);

let dir: string;
let tools: Toolchain;
let site: FirewalledSite;
let cluster: LocalCluster;
let access: SiteManagementAccess | undefined;
const logLines: Array<Record<string, unknown>> = [];
const logger = createLogger('site-management-access-test', { level: 'debug', sink: (line) => logLines.push(JSON.parse(line) as Record<string, unknown>) });

beforeAll(async () => {
  process.env.PATH = defaultSearchPath();
  await checkFirewalledSiteSupport();
  await cleanupStaleSites();
  tools = loadToolchain();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-site-access-test-'));
  // No outbound destination at all: the cluster and the relay need nothing beyond the site's loopback.
  site = await new FirewalledSite({ name: 'mgmt', logger: silentLogger }).create();
  cluster = await startLocalCluster({ name: 'mgmt', stateDir: path.join(dir, 'cluster'), toolchain: tools, logger: silentLogger, placement: site.placement });
}, 240_000);

afterAll(async () => {
  await access?.stop();
  await cluster?.stop();
  await site?.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function kubectl(kubeconfig: string, args: readonly string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(tools.kubectl, ['--kubeconfig', kubeconfig, ...args], { timeout: timeoutMs, env: { ...process.env, KUBECONFIG: '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, ms: Date.now() - started }),
    );
  });
}

function writeKubeconfig(name: string, a: SiteManagementAccess): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, kubeconfigThroughAccess(cluster, a), { mode: 0o600 });
  return file;
}

async function sitePids(): Promise<number[]> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile('ip', ['netns', 'pids', site.netns], (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  return out.split(/\s+/).filter(Boolean).map(Number).sort();
}

async function unixSocketsMentioning(text: string): Promise<string[]> {
  const host = fs.readFileSync('/proc/net/unix', 'utf8');
  const inside = (await site.exec('cat', ['/proc/net/unix'])).stdout;
  return [...host.split('\n'), ...inside.split('\n')].filter((l) => l.includes(text));
}

test('the real kubectl on the host gets /version from the apiserver inside the site through the relay', async () => {
  const rulesBefore = (await site.exec('iptables', ['-w', '-S'])).stdout;
  access = await startSiteManagementAccess({ site, target: { host: '127.0.0.1', port: cluster.ports.apiserver }, logger });
  expect(access.url).toBe(`https://127.0.0.1:${access.port}`);
  expect(access.port).not.toBe(cluster.ports.apiserver);

  const kubeconfig = writeKubeconfig('through-relay.kubeconfig', access);
  expect(fs.readFileSync(kubeconfig, 'utf8')).toContain(`server: ${access.url}`);
  expect(fs.readFileSync(cluster.adminKubeconfigPath, 'utf8')).toContain(`server: ${cluster.apiserverUrl}`);

  const version = await kubectl(kubeconfig, ['get', '--raw', '/version']);
  expect(version.stderr).toBe('');
  expect(version.code).toBe(0);
  expect((JSON.parse(version.stdout) as { gitVersion: string }).gitVersion).toBe(`v${tools.versions.kubernetes}`);
  // Several connections at once, and a write: a real client, not one request.
  const results = await Promise.all([1, 2, 3, 4].map(() => kubectl(kubeconfig, ['get', 'namespaces', '-o', 'name'])));
  for (const r of results) expect(r.stdout).toContain('namespace/default');
  const created = await kubectl(kubeconfig, ['create', 'namespace', 'through-relay']);
  expect(created.stderr).toBe('');
  expect(created.stdout).toMatch(/namespace\/through-relay created/);

  // The relay runs inside the site; the firewall is exactly as it was.
  expect(await sitePids()).toContain(access.relay.pid);
  expect((await site.exec('iptables', ['-w', '-S'])).stdout).toBe(rulesBefore);
});

test('the site still drops a direct inbound connection to the apiserver', async () => {
  const drops = await inboundDrops(site);
  expect(await connectFromHost(site.siteAddress, cluster.ports.apiserver)).toEqual({ outcome: 'timeout' });
  expect(await inboundDrops(site)).toBeGreaterThan(drops);
});

test('a relay that dies is logged and its connections fail at once instead of hanging', async () => {
  const second = await startSiteManagementAccess({ site, target: { host: '127.0.0.1', port: cluster.ports.apiserver }, logger });
  const kubeconfig = writeKubeconfig('second.kubeconfig', second);
  expect((await kubectl(kubeconfig, ['get', '--raw', '/version'])).code).toBe(0);

  process.kill(second.relay.pid!, 'SIGKILL');
  await second.relay.exited;
  expect(await waitUntil(() => logLines.some((l) => l.msg === 'site management relay exited; connections to the site are refused' && l.signal === 'SIGKILL'), 5_000)).toBe(true);

  const failed = await kubectl(kubeconfig, ['get', '--raw', '/version', '--request-timeout=20s']);
  expect(failed.code).not.toBe(0);
  expect(failed.stderr).toMatch(/connection reset by peer|EOF/);
  expect(failed.ms).toBeLessThan(10_000);
  expect(logLines.some((l) => l.msg === 'connection refused: the site management relay is gone')).toBe(true);

  await second.stop();
  expect(fs.existsSync(path.dirname(second.socketPath))).toBe(false);
  // The first access is untouched.
  expect((await kubectl(writeKubeconfig('first-again.kubeconfig', access!), ['get', '--raw', '/version'])).code).toBe(0);
});

test('stop() leaves no process, no socket and no listener behind, and is idempotent', async () => {
  const a = access!;
  const pid = a.relay.pid!;
  const socketDir = path.dirname(a.socketPath);
  expect(await unixSocketsMentioning(a.socketPath)).not.toEqual([]);
  const before = await sitePids();

  await a.stop();
  await a.stop();
  access = undefined;

  expect(isRunning(pid)).toBe(false);
  expect(await sitePids()).toEqual(before.filter((p) => p !== pid));
  expect(fs.existsSync(socketDir)).toBe(false);
  expect(await unixSocketsMentioning(a.socketPath)).toEqual([]);
  expect(await connectFromHost('127.0.0.1', a.port)).toEqual({ outcome: 'error', code: 'ECONNREFUSED' });
  // The cluster itself is still fine from inside the site.
  const inside = await site.exec(tools.kubectl, ['--kubeconfig', cluster.adminKubeconfigPath, 'get', '--raw', '/version']);
  expect(inside.code).toBe(0);
});
