/**
 * The tunnelled path heals itself. With a user's requests running all the time and a watch
 * open, the agent, the in-cluster Envoy, the edge Envoy and the control plane are restarted
 * one at a time; after each, requests succeed again without anyone touching anything. A
 * restart off the data path (agent, control plane) leaves the open watch alone; a restart on
 * it (either Envoy) ends the watch, and a new one works. How long each took to recover is
 * written to the run's report (figures, not assertions: see bench/ for performance).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalStack, type LocalStack } from '../../dev/stack/local-stack';
import { silentLogger } from '../../control-plane/log/logger';
import { tlsRequest } from '../support/tls-request';
import { kubeconfigUser, type KubeconfigUser } from '../support/kubeconfig-client';
import { eventually, streamCommand, type Streaming } from '../support/streaming-command';

jest.setTimeout(300_000);

const CLUSTER = 'resilient';
let stack: LocalStack;
let stateDir: string;
let kubeconfig: string;
let user: KubeconfigUser;
const report: Record<string, unknown> = {};

const READER_POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: readers}
spec:
  subjects: {groups: [readers]}
  clusters: {all: true}
  rules:
    - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}
  clusterRoles: [{name: view}]
`;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-resilience-e2e-'));
  stack = await startLocalStack({ stateDir, clusters: [], tunnelClusters: [CLUSTER], logger: silentLogger });
  const admin = await stack.tunnelSite(CLUSTER).cluster.kubectl(['create', 'configmap', 'beacon', '-n', 'default', '--from-literal=n=0']);
  expect(admin.code).toBe(0);
  await stack.createUser('rory', ['readers']);
  const current = await stack.store.getPolicySet();
  await stack.applyPolicies([...current.files, { fileName: 'readers.yaml', text: READER_POLICY }]);
  kubeconfig = await stack.writeKubeconfig({ user: 'rory' });
  user = kubeconfigUser(kubeconfig);
});

afterAll(async () => {
  await stack?.stop();
  const file = path.join(__dirname, '..', '..', '.cache', 'tunnel-resilience.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(report, null, 2));
  if (stateDir && !process.env.KUBEGATE_KEEP_STATE) fs.rmSync(stateDir, { recursive: true, force: true });
});

/** One of the user's requests, as kubectl would send it; never throws. */
/** The Retry-After of every 503 seen, in order ('' when there was none). */
const retryAfterOn503: string[] = [];

async function probe(): Promise<{ ok: boolean; status: number | string; body: string }> {
  try {
    const r = await tlsRequest({ url: `${user.server}/api/v1/namespaces/default/configmaps/beacon`, servername: user.servername, caPem: user.caPem, certPem: user.certPem, keyPem: user.keyPem });
    // A 503 that never reached the cluster asks the client to try again (client-go does).
    if (r.status === 503) retryAfterOn503.push(String(r.headers['retry-after'] ?? ''));
    return { ok: r.status === 200, status: r.status, body: r.body };
  } catch (err) {
    return { ok: false, status: (err as NodeJS.ErrnoException).code ?? (err as Error).message, body: '' };
  }
}

/**
 * Restarts one component while requests keep going every 100 ms, and returns how long the
 * path was broken: from the restart's start to the first success after the first failure
 * (0 when no request failed at all).
 */
async function restartUnderLoad(name: string, restart: () => Promise<void>): Promise<{ brokenMs: number; failures: (number | string)[] }> {
  const samples: { at: number; ok: boolean; status: number | string }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const r = await probe();
      samples.push({ at: started, ok: r.ok, status: r.status });
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  const begin = Date.now();
  await restart();
  // Recovered: a success after the restart is done.
  const restartedAt = Date.now();
  await eventually(`requests succeeding again after restarting the ${name}`, async () => (samples.some((s) => s.at >= restartedAt && s.ok) ? true : undefined), 90_000);
  running = false;
  await loop;
  const during = samples.filter((s) => s.at >= begin);
  const firstFailure = during.find((s) => !s.ok);
  const recovered = firstFailure ? during.find((s) => s.at > firstFailure.at && s.ok) : undefined;
  const brokenMs = firstFailure && recovered ? recovered.at - begin : 0;
  const failures = during.filter((s) => !s.ok).map((s) => s.status);
  report[name] = { restartMs: restartedAt - begin, brokenMs, requests: during.length, failed: failures.length, failureKinds: [...new Set(failures)] };
  return { brokenMs, failures };
}

let watch: Streaming;
let generation = 0;

async function bumpBeacon(): Promise<string> {
  generation += 1;
  const value = `v${generation}`;
  const r = await stack.tunnelSite(CLUSTER).cluster.kubectl(['patch', 'configmap', 'beacon', '-n', 'default', '-p', JSON.stringify({ data: { n: value } })]);
  expect(r.code).toBe(0);
  return value;
}

function openWatch(): Streaming {
  return streamCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmap', 'beacon', '-n', 'default', '-w', '-o', 'jsonpath={.data.n}{"\\n"}']);
}

test('a watch through the tunnel receives changes', async () => {
  watch = openWatch();
  await watch.waitFor(/^0$/m);
  const v = await bumpBeacon();
  await watch.waitFor(new RegExp(`^${v}$`, 'm'));
});

test('restarting the agent does not touch the data path: requests go on and the watch stays open', async () => {
  const site = stack.tunnelSite(CLUSTER);
  const { failures } = await restartUnderLoad('agent', async () => {
    await site.stopAgent();
    await site.startAgent();
  });
  // While the agent was away, a request may have been refused as "disconnected": a clean 503
  // that tells the client to try again in a second.
  for (const f of failures) expect(f).toBe(503);
  expect(retryAfterOn503.every((v) => v === '1')).toBe(true);
  report.agentRetryAfter = { on503: retryAfterOn503.length };
  const v = await bumpBeacon();
  await watch.waitFor(new RegExp(`^${v}$`, 'm'));
  expect(watch.child.exitCode).toBeNull();
});

test('restarting the control plane: requests recover by themselves and the open watch stays open', async () => {
  const before = stack.controlPlane;
  await restartUnderLoad('control-plane', () => stack.restartControlPlane());
  expect(stack.controlPlane).not.toBe(before);
  await eventually('the agent\'s new session', async () => (stack.controlPlane.agents!.hub.session(CLUSTER) ? true : undefined));
  const v = await bumpBeacon();
  await watch.waitFor(new RegExp(`^${v}$`, 'm'));
  expect(watch.child.exitCode).toBeNull();
});

test('restarting the in-cluster Envoy: the watch through it ends, requests recover, a new watch works', async () => {
  const site = stack.tunnelSite(CLUSTER);
  await restartUnderLoad('in-cluster-envoy', async () => {
    await site.stopInClusterEnvoy();
    await site.startInClusterEnvoy();
  });
  await watch.stop();
  watch = openWatch();
  await watch.waitFor(/^v\d+$/m);
  const v = await bumpBeacon();
  await watch.waitFor(new RegExp(`^${v}$`, 'm'));
});

test('restarting the edge Envoy: requests recover once the cluster has re-dialled its tunnels, a new watch works', async () => {
  await restartUnderLoad('edge-envoy', () => stack.restartEdge());
  // The watch ran through the old edge process: it has ended.
  await eventually('the old watch to end', async () => (watch.child.exitCode !== null || watch.child.signalCode !== null ? true : undefined), 30_000);
  watch = openWatch();
  await watch.waitFor(/^v\d+$/m);
  const v = await bumpBeacon();
  await watch.waitFor(new RegExp(`^${v}$`, 'm'));
  await watch.stop();
});
