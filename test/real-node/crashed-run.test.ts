/**
 * A test run that is SIGKILLed cannot take its real node apart: its kubelet's sysctls, its
 * pods' mounts, its cgroups and its network namespace stay. cleanupStaleNodes() (which
 * RealNode.join() also runs first) finds them by the node's record and puts the host back as it
 * was before that run, without touching a node of a live process.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanupStaleNodes } from '../../dev/real-node/stale-node-cleanup';
import { readNodeRecords } from '../../dev/real-node/node-records';
import { loadToolchain } from '../../dev/toolchain/tools';
import { runningProcessesMentioning, waitUntil } from '../support/process-table';
import { spawn, type ChildProcess } from 'node:child_process';
import { tsChildScript } from '../netns/ts-child';
import { projectRoot } from '../../dev/toolchain/tools';
import { expectHostAsBefore, hostSnapshot } from './host-snapshot';

jest.setTimeout(300_000);

const tools = loadToolchain();
let dir: string;
let child: ChildProcess | undefined;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-real-node-crash-'));
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
  }
  // Whatever the test got to, the host is put back (a no-op when the test did it).
  await cleanupStaleNodes();
  // The crashed run's own cluster and registry are not the node's business: they are ended here.
  for (const pid of runningProcessesMentioning(dir)) process.kill(pid, 'SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a SIGKILLed run's node (with a running pod) is removed and the host put back by cleanupStaleNodes()", async () => {
  const before = hostSnapshot(tools);
  // Another process starts a registry, a cluster and a real node, runs a pod, reports, and is killed.
  const script = tsChildScript(
    `
      const { startLocalRegistry } = load('dev/images/local-registry.ts');
      const { startLocalCluster } = load('dev/local-cluster/local-cluster.ts');
      const { RealNode } = load('dev/real-node/real-node.ts');
      const { silentLogger } = load('control-plane/log/logger.ts');
      const dir = ${JSON.stringify(dir)};
      (async () => {
        const tools = load('dev/toolchain/tools.ts').loadToolchain();
        const registry = await startLocalRegistry({ crane: tools.crane, dir: dir + '/registry', logger: silentLogger });
        const cluster = await startLocalCluster({ name: 'crash', stateDir: dir + '/cluster', toolchain: tools, logger: silentLogger, controlPlane: 'full', nodes: 0 });
        const node = await RealNode.join(cluster, { name: 'doomed', stateDir: dir + '/node', registry: registry.address, toolchain: tools, logger: silentLogger });
        // A pod of the pause image (the one image this registry has) so there are sandbox mounts too.
        const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'p', image: 'PAUSE' }] } };
        const pause = require('node:fs').readFileSync(dir + '/node/containerd/config.toml', 'utf8').match(/sandbox_image = "([^"]+)"/)[1];
        pod.spec.containers[0].image = pause;
        await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(pod));
        const r = await cluster.kubectl(['wait', '--for=condition=Ready', 'pod/p', '--timeout=120s']);
        if (r.code !== 0) throw new Error(r.stderr);
        console.log(JSON.stringify({ netns: node.netns, cgroupRoot: node.cgroupRoot, kubelet: node.pids.kubelet }));
        setInterval(() => {}, 1000);
      })().catch((e) => { console.error(e); process.exit(2); });
    `,
    ['dev/images/local-registry.ts', 'dev/local-cluster/local-cluster.ts', 'dev/real-node/real-node.ts', 'control-plane/log/logger.ts', 'dev/toolchain/tools.ts'],
  );
  // Run from the checkout, where the npm packages the modules load are.
  const proc = spawn(process.execPath, ['-'], { cwd: projectRoot(), stdio: ['pipe', 'pipe', 'pipe'] });
  child = proc;
  proc.stdin.end(script);
  let out = '';
  let errOut = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (errOut += d.toString()));
  const reported = await waitUntil(() => out.includes('\n') || proc.exitCode !== null, 240_000);
  expect({ reported, errOut: errOut.split('\n').filter((l) => !l.includes('"level"')).join('\n').trim() }).toEqual({ reported: true, errOut: '' });
  const left = JSON.parse(out.trim()) as { netns: string; cgroupRoot: string; kubelet: number };
  proc.kill('SIGKILL');
  await new Promise((resolve) => proc.once('exit', resolve));

  // Left behind: the node's namespace, cgroups, mounts, its record, and the kubelet's sysctls.
  const crashed = hostSnapshot(tools);
  expect(crashed.namespaces).toContain(left.netns);
  expect(crashed.sysctls['vm.overcommit_memory']).toBe('1');
  expect(crashed.mounts.some((m) => m.startsWith(dir))).toBe(true);
  expect(crashed.cgroups.some((c) => c.endsWith(left.cgroupRoot))).toBe(true);
  expect(readNodeRecords().map((r) => r.node)).toContain('doomed');
  expect(fs.existsSync(`/proc/${left.kubelet}`)).toBe(true);

  // (A crashed run of someone else's on this machine would be removed too.)
  expect(await cleanupStaleNodes()).toContainEqual(expect.stringMatching(new RegExp(`^${proc.pid}-[0-9a-z]+/doomed$`)));
  for (const pid of runningProcessesMentioning(dir)) process.kill(pid, 'SIGKILL');
  expect(await waitUntil(() => runningProcessesMentioning(dir).length === 0, 10_000)).toBe(true);
  expectHostAsBefore(before, hostSnapshot(tools));
  expect(await cleanupStaleNodes()).not.toContainEqual(expect.stringMatching(/\/doomed$/));
});
