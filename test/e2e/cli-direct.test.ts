/**
 * `kubegate dev up --direct` as a user runs it: the clusters the edge reaches directly are the
 * same whole clusters as the tunnelled ones (scheduler, controller manager, a kwok node). Why:
 * they once ran kube-apiserver alone, so a Deployment never got Pods and a deleted namespace
 * stayed Terminating for ever. Everything here goes through the edge with the admin kubeconfig
 * `dev up` writes, and `dev status` and `cluster list` say how the cluster is reached.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCommand } from '../support/run-command';
import { loadToolchain } from '../../dev/toolchain/tools';
import { readStackDescriptor } from '../../control-plane/cli/stack-descriptor';
import { runningProcessesMentioning, waitUntil } from '../support/process-table';

jest.setTimeout(300_000);

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'dev', 'cli', 'main.js');
const kubegate = (args: string[]) => runCommand(process.execPath, [cli, ...args], { timeoutMs: 280_000 });
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-direct-'));
const DEPLOYMENT = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example.invalid/web:1' }] } },
  },
};

beforeAll(async () => {
  // The CLI runs from the compiled output; make sure it matches the sources under test.
  const built = await runCommand(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.json')], { timeoutMs: 240_000 });
  expect(built.stdout + built.stderr).toBe('');
});

afterAll(async () => {
  await kubegate(['dev', 'down', '--state-dir', stateDir]);
  fs.rmSync(stateDir, { recursive: true, force: true });
});

test('a Deployment gets Running Pods, a deleted namespace goes away, and status says "direct"', async () => {
  const up = await kubegate(['dev', 'up', '--direct', '--detach', '--state-dir', stateDir]);
  expect(up.stderr).not.toContain('level":"error');
  expect(up.code).toBe(0);
  expect(up.stdout.endsWith('\n')).toBe(true);
  // Progress while it starts, if it took long enough to print any, counts up from zero.
  for (const line of up.stderr.split('\n').filter((l) => l.startsWith('still starting'))) {
    expect(line).toMatch(/^still starting \(\d+ s so far, giving up after \d+ s\)\.\.\.$/);
  }
  const d = readStackDescriptor(stateDir);
  expect(d.clusters).toEqual([{ name: 'dev', apiserverUrl: expect.any(String), connection: 'direct' }]);
  const kubectl = (args: string[], input?: string) => runCommand(loadToolchain().kubectl, ['--kubeconfig', d.adminKubeconfig, ...args], input === undefined ? {} : { input });

  expect((await kubectl(['create', 'namespace', 'shop'])).code).toBe(0);
  expect((await kubectl(['apply', '-f', '-'], JSON.stringify(DEPLOYMENT))).stdout).toBe('deployment.apps/web created\n');
  const available = await kubectl(['wait', '--for=condition=Available', 'deployment/web', '-n', 'shop', '--timeout=120s']);
  expect(available.stdout).toContain('condition met');
  const pods = await kubectl(['get', 'pods', '-n', 'shop', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{"\\n"}{end}']);
  expect(pods.stdout).toBe('kwok-node-0 Running\nkwok-node-0 Running\n');

  // The namespace controller (kube-controller-manager) empties and removes a deleted namespace.
  const deleted = await kubectl(['delete', 'namespace', 'shop', '--timeout=120s']);
  expect(deleted.stdout).toBe('namespace "shop" deleted\n');
  const gone = await kubectl(['get', 'namespace', 'shop']);
  expect(gone.code).not.toBe(0);
  expect(gone.stderr).toContain('namespaces "shop" not found');

  const status = await kubegate(['dev', 'status', '--state-dir', stateDir]);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/^clusters:\s+dev \(direct\)$/m);
  expect(status.stdout).toMatch(new RegExp(`^edge:\\s+${d.edgeUrl}$`, 'm'));
  const clusters = await kubegate(['cluster', 'list', '--state-dir', stateDir]);
  expect(clusters.stdout).toMatch(/^dev\s+direct\s/m);

  const down = await kubegate(['dev', 'down', '--state-dir', stateDir]);
  expect(down.stdout).toBe(`local stack stopped (pid ${d.pid})\n`);
  // etcd, kube-apiserver, the scheduler, the controller manager, kwok and Envoy all name the
  // state directory on their command lines.
  expect(await waitUntil(() => runningProcessesMentioning(stateDir).length === 0, 20_000)).toBe(true);
});
