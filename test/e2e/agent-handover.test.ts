/**
 * An agent pod replaced the way a rolling update replaces it, under load, loses no request.
 * On the local stack's firewalled cluster: a second agent pod (its own agent process and
 * in-cluster Envoy, a node of its own, the same certificate) starts beside the first; the hub
 * keeps both agents' sessions and the edge both Envoys' tunnels. The new pod reports ready
 * (/readyz: a session, and tunnels held) before the old one goes; the old pod's agent, stopped
 * with SIGTERM as the kubelet stops it, drains its Envoy (the edge moves new requests to the
 * other pod's tunnels) and waits for what is in flight, then the Envoy stops. Throughout, reads
 * and creates run without pause: none may fail, and every create lands exactly once. An open
 * watch through the old pod ends when its Envoy stops, and a new one works (counted).
 * Figures go to .cache/agent-handover.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalStack, type LocalStack } from '../../dev/stack/local-stack';
import type { SitePod } from '../../dev/stack/site-pod';
import { getFreePorts } from '../../dev/process/free-port';
import { silentLogger } from '../../control-plane/log/logger';
import { tlsRequest } from '../support/tls-request';
import { kubeconfigUser, type KubeconfigUser } from '../support/kubeconfig-client';
import { eventually, streamCommand, type Streaming } from '../support/streaming-command';

jest.setTimeout(300_000);

const CLUSTER = 'handover';
let stack: LocalStack;
let stateDir: string;
let kubeconfig: string;
let user: KubeconfigUser;
const pods: SitePod[] = [];
const figures: Record<string, unknown> = {};

const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: writers}
spec:
  subjects: {groups: [writers]}
  clusters: {all: true}
  rules:
    - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch, create]}
  clusterRoles: [{name: edit}]
`;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-handover-e2e-'));
  stack = await startLocalStack({ stateDir, clusters: [], tunnelClusters: [CLUSTER], logger: silentLogger });
  const beacon = await stack.tunnelSite(CLUSTER).cluster.kubectl(['create', 'configmap', 'beacon', '-n', 'default', '--from-literal=n=0']);
  expect(beacon.code).toBe(0);
  await stack.createUser('hana', ['writers']);
  const current = await stack.store.getPolicySet();
  await stack.applyPolicies([...current.files, { fileName: 'writers.yaml', text: POLICY }]);
  kubeconfig = await stack.writeKubeconfig({ user: 'hana' });
  user = kubeconfigUser(kubeconfig);
});

afterAll(async () => {
  for (const pod of pods) await pod.retire().catch(() => undefined);
  await stack?.stop();
  const file = path.join(__dirname, '..', '..', '.cache', 'agent-handover.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(figures, null, 2));
  if (stateDir && !process.env.KUBEGATE_KEEP_STATE) fs.rmSync(stateDir, { recursive: true, force: true });
});

type Outcome = number | string;

let lastBody = '';
async function call(method: 'GET' | 'POST', p: string, body?: unknown): Promise<Outcome> {
  try {
    const r = await tlsRequest({
      url: `${user.server}${p}`,
      method,
      ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
      servername: user.servername,
      caPem: user.caPem,
      certPem: user.certPem,
      keyPem: user.keyPem,
    });
    if (r.status >= 300) lastBody = r.body.slice(0, 120);
    return r.status;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

interface Load {
  stop(): Promise<{ requests: number; failures: { kind: string; outcome: Outcome; at: number }[]; created: string[] }>;
}

/** Reads and creates back to back from `workers` loops, until stopped. */
function startLoad(tag: string, workers = 4): Load {
  let running = true;
  const outcomes: { kind: string; outcome: Outcome; at: number }[] = [];
  const created: string[] = [];
  let n = 0;
  const loops = Array.from({ length: workers }, async (_, w) => {
    while (running) {
      if (w % 2 === 0) {
        const at = Date.now();
        outcomes.push({ kind: 'get', outcome: await call('GET', '/api/v1/namespaces/default/configmaps/beacon'), at });
      } else {
        const name = `${tag}-${w}-${n++}`;
        const at = Date.now();
        const outcome = await call('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } });
        outcomes.push({ kind: 'create', outcome, at });
        if (outcome === 201) created.push(name);
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { requests: outcomes.length, failures: outcomes.filter((o) => o.outcome !== 200 && o.outcome !== 201), created };
    },
  };
}

/** Names of the configmaps in the cluster that start with `prefix`, asked of kube-apiserver directly. */
async function configmapsNamed(prefix: string): Promise<string[]> {
  const r = await stack.tunnelSite(CLUSTER).cluster.kubectl(['get', 'configmaps', '-n', 'default', '-o', 'jsonpath={.items[*].metadata.name}']);
  expect(r.code).toBe(0);
  return r.stdout.split(/\s+/).filter((name) => name.startsWith(prefix));
}

/** A pod's agent answers /readyz with 200 (a session, and its Envoy holds tunnels). */
async function readiness(pod: SitePod): Promise<{ status: number; body: string }> {
  const site = stack.tunnelSite(CLUSTER);
  return site.placement.request(`http://127.0.0.1:${pod.healthPort}/readyz`, { timeoutMs: 3000 });
}

let watch: Streaming;

test('a second agent pod starts beside the first: the hub keeps both sessions, and it is ready once its Envoy holds tunnels', async () => {
  const site = stack.tunnelSite(CLUSTER);
  const [healthPort] = await getFreePorts(1);
  const pod = await site.startPod(1, { healthPort: healthPort! });
  pods.push(pod);
  await eventually('pod 1 ready', async () => ((await readiness(pod)).status === 200 ? true : undefined), 30_000);
  const hub = stack.controlPlane.agents!.hub;
  expect(hub.connectedClusters()).toEqual([CLUSTER]);
  // The first agent's session is still there: the two do not push each other out.
  await new Promise((r) => setTimeout(r, 2000));
  expect(hub.sessionCount(CLUSTER)).toBe(2);
  expect(site.agent.exit).toBeUndefined();
  // The first pod goes the old way (no drain), before any load: pod 1 carries everything after.
  await site.stopInClusterEnvoy();
  await site.stopAgent();
  expect(hub.connectedClusters()).toEqual([CLUSTER]);
  expect(hub.sessionCount(CLUSTER)).toBe(1);
  await eventually('requests through pod 1', async () => ((await call('GET', '/api/v1/namespaces/default/configmaps/beacon')) === 200 ? true : undefined), 30_000);
  watch = streamCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmap', 'beacon', '-n', 'default', '-w', '-o', 'jsonpath={.data.n}{"\\n"}']);
  await watch.waitFor(/^0$/m);
});

test('the pod that replaces it takes over under load: not one request fails, every create lands exactly once', async () => {
  const site = stack.tunnelSite(CLUSTER);
  const load = startLoad('handover');
  await new Promise((r) => setTimeout(r, 2000));
  const [healthPort] = await getFreePorts(1);
  const started = Date.now();
  const next = await site.startPod(2, { healthPort: healthPort! });
  pods.push(next);
  await eventually('pod 2 ready', async () => ((await readiness(next)).status === 200 ? true : undefined), 30_000);
  const readyMs = Date.now() - started;
  const old = pods[0]!;
  // The old pod is not ready while it drains (a rolling update would already have moved on).
  const retireAt = Date.now();
  const retiring = old.retire();
  await eventually('pod 1 to say it is draining', async () => {
    const r = await readiness(old).catch(() => ({ status: 0, body: 'gone' }));
    return r.status !== 200 ? r : undefined;
  }, 10_000);
  await retiring;
  pods.shift();
  const retiredMs = Date.now() - started - readyMs;
  await new Promise((r) => setTimeout(r, 2000));
  const { requests, failures, created } = await load.stop();
  const span = failures.length ? [failures[0]!.at - retireAt, failures.at(-1)!.at - retireAt] : [];
  const kinds = [...new Set(failures.map((f) => `${f.kind} ${f.outcome}`))];
  figures.handover = { requests, failed: failures.length, failureKinds: kinds, failedFromToMsAfterRetire: span, lastFailureBody: lastBody, newPodReadyMs: readyMs, oldPodRetiredMs: retiredMs };
  expect(requests).toBeGreaterThan(50);
  expect(failures).toEqual([]);
  // Exactly once: every 201 is there, and nothing else was made.
  expect((await configmapsNamed('handover-')).sort()).toEqual([...created].sort());
  // The old pod's agent told the hub it was leaving, then drained its Envoy: every request in
  // flight there finished but the open watch, which ends with the pod.
  const log = fs.readFileSync(path.join(stack.tunnelSite(CLUSTER).props.stateDir, 'logs', 'agent-1.log'), 'utf8');
  const leaving = log.indexOf('"leaving":true');
  const drained = log.match(/"msg":"in-cluster Envoy drained","fields":(\{[^}]*\})/);
  expect(leaving).toBeGreaterThan(0);
  expect(drained).not.toBeNull();
  expect(log.indexOf('in-cluster Envoy drained')).toBeGreaterThan(leaving);
  expect(JSON.parse(drained![1]!).activeLeft).toBeLessThanOrEqual(1);
});

test('a watch through the retired pod ended with it; a new one works through the new pod', async () => {
  await eventually('the old watch to end', async () => (watch.child.exitCode !== null || watch.child.signalCode !== null ? true : undefined), 30_000);
  figures.watchReconnects = 1;
  watch = streamCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmap', 'beacon', '-n', 'default', '-w', '-o', 'jsonpath={.data.n}{"\\n"}']);
  await watch.waitFor(/^0$/m);
  const patched = await stack.tunnelSite(CLUSTER).cluster.kubectl(['patch', 'configmap', 'beacon', '-n', 'default', '-p', JSON.stringify({ data: { n: 'after' } })]);
  expect(patched.code).toBe(0);
  await watch.waitFor(/^after$/m);
  await watch.stop();
});
