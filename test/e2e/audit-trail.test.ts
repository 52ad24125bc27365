/**
 * The audit trail end to end: real kubectl through the real edge to a cluster behind a
 * firewall. Every decision is in the store before the request goes through; open streams leave
 * progress records; every request ends with a completion record taken from the edge's own file
 * log, so requests made while the control plane was down are not lost. The cluster's
 * in-cluster Envoy reports its side of each request it was sent (reportedBy 'cluster'), and
 * nothing about requests the edge refused. The trail verifies, is queryable through the CLI,
 * and its Kubernetes-format export decodes with the real audit types.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalStack, type LocalStack } from '../../dev/stack/local-stack';
import type { StoredAuditEvent } from '../../control-plane/audit/audit-event';
import type { AuditFilter } from '../../control-plane/audit/audit-log';
import { silentLogger } from '../../control-plane/log/logger';
import { runCommand } from '../support/run-command';
import { kubeconfigUser, requestAs, type SeenRequest } from '../support/kubeconfig-client';
import { eventually, streamCommand } from '../support/streaming-command';
import { isIP } from 'node:net';

jest.setTimeout(240_000);

const CLUSTER = 'audited';
const NS = 'shop';
let stack: LocalStack;
let stateDir: string;
let kubeconfig: string;
let pod: string;
const exportFile = () => path.join(stateDir, 'exports', 'audit-k8s.jsonl');
const cli = path.resolve(__dirname, '..', '..', 'dist', 'control-plane', 'cli', 'main.js');

const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: shop-operators}
spec:
  subjects: {groups: [shop]}
  clusters: {all: true}
  rules:
    - apiGroups: [""]
      resources: [configmaps, pods, pods/exec]
      verbs: ["*"]
      namespaces: [shop]
  clusterRoles: [{name: edit, namespaces: [shop]}]
`;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-audit-e2e-'));
  stack = await startLocalStack({
    stateDir,
    clusters: [],
    tunnelClusters: [CLUSTER],
    accessLogFlushIntervalSeconds: 1,
    auditExporters: [{ type: 'jsonl-file', name: 'k8s-file', path: exportFile(), format: 'kubernetes' }],
    logger: silentLogger,
  });
  const admin = stack.tunnelSite(CLUSTER).cluster;
  for (const args of [['create', 'namespace', NS], ['create', 'deployment', 'web', '-n', NS, '--image=registry.invalid/web:1'], ['wait', '--for=condition=Available', 'deployment/web', '-n', NS, '--timeout=90s']]) {
    const r = await admin.kubectl(args);
    if (r.code !== 0) throw new Error(`admin kubectl ${args.join(' ')}: ${r.stderr}`);
  }
  pod = (await admin.kubectl(['get', 'pods', '-n', NS, '-o', 'jsonpath={.items[0].metadata.name}'])).stdout.trim();
  await stack.createUser('sam', ['shop']);
  const current = await stack.store.getPolicySet();
  await stack.applyPolicies([...current.files, { fileName: 'shop.yaml', text: POLICY }]);
  kubeconfig = await stack.writeKubeconfig({ user: 'sam' });
});

afterAll(async () => {
  await stack?.stop();
  if (stateDir && !process.env.KUBEGATE_KEEP_STATE) fs.rmSync(stateDir, { recursive: true, force: true });
});

const kubectl = (args: readonly string[]) => runCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 60_000 });

async function events(filter: AuditFilter): Promise<readonly StoredAuditEvent[]> {
  const page = await stack.audit.query(filter, { limit: 1000, order: 'asc' });
  return page.events;
}

/** The records of one kubectl command of sam's, once the edge's completion has been ingested. */
async function recordsOf(command: string, verb: string, stages: readonly string[]): Promise<readonly StoredAuditEvent[]> {
  return eventually(`audit records of "${command}" (${verb})`, async () => {
    const all = (await events({ user: 'sam', verb })).filter((e) => e.kubectlCommand.startsWith(command) && (e.resource === 'configmaps' || e.resource === 'pods'));
    // The cluster's records arrive first (over gRPC); the edge's come from its file.
    return stages.every((s) => all.some((e) => e.stage === s && e.reportedBy === undefined)) ? all : undefined;
  });
}

test('get, list, create and delete each leave a decision before and a completion after, joined by request id', async () => {
  expect((await kubectl(['create', 'configmap', 'receipt', '-n', NS, '--from-literal=total=42'])).stderr).toBe('');
  expect((await kubectl(['get', 'configmap', 'receipt', '-n', NS, '-o', 'name'])).stdout.trim()).toBe('configmap/receipt');
  expect((await kubectl(['get', 'configmaps', '-n', NS])).code).toBe(0);
  expect((await kubectl(['delete', 'configmap', 'receipt', '-n', NS])).code).toBe(0);
  for (const [command, verb, status] of [['kubectl create', 'create', 201], ['kubectl get', 'get', 200], ['kubectl get', 'list', 200], ['kubectl delete', 'delete', 200]] as const) {
    const records = await recordsOf(command, verb, ['decision', 'completion']);
    const decision = records.find((e) => e.stage === 'decision')!;
    const completion = records.find((e) => e.stage === 'completion' && e.requestId === decision.requestId && e.reportedBy === undefined)!;
    expect(decision).toMatchObject({ user: 'sam', groups: ['shop'], cluster: CLUSTER, namespace: NS, resource: 'configmaps', decision: 'allow', policy: 'shop-operators', kubectlCommand: expect.stringMatching(new RegExp(`^${command}`)) });
    expect(decision.kubectlSession).not.toBe('');
    expect(decision.sourceAddress).toMatch(/^127\.0\.0\.1/);
    expect(completion).toMatchObject({ status, decision: 'allow', verb, kubectlSession: decision.kubectlSession });
    expect(completion.bytesSent).toBeGreaterThan(0);
    // Written before the request went through: the decision comes first in the chain.
    expect(decision.seq).toBeLessThan(completion.seq);
  }
});

test('a denial is recorded with the reason the user saw, and its 403', async () => {
  const r = await kubectl(['get', 'secrets', '-n', NS]);
  expect(r.stderr).toContain('kubegate');
  const records = await eventually('the denial', async () => {
    const all = (await events({ user: 'sam', decision: 'deny' })).filter((e) => e.resource === 'secrets');
    return all.some((e) => e.stage === 'decision') && all.some((e) => e.stage === 'completion') ? all : undefined;
  });
  expect(records.find((e) => e.stage === 'decision')).toMatchObject({ verb: 'list', status: 403, reason: expect.stringContaining('kubegate: user "sam" cannot list secrets') });
  expect(records.find((e) => e.stage === 'completion')).toMatchObject({ status: 403 });

  // The cluster never saw it, so it reports nothing about it: once a request made after the
  // denial has its cluster record, the denial still has none.
  expect((await kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', NS, '-o', 'name'])).code).toBe(0);
  await eventually("the cluster's record of a later request", async () => {
    const later = (await events({ user: 'sam', verb: 'get', reportedBy: 'cluster', stage: 'completion' })).filter((e) => e.name === 'kube-root-ca.crt' && e.seq > records[0]!.seq);
    return later.length > 0 ? later : undefined;
  });
  const denied = new Set(records.map((e) => e.requestId));
  const fromCluster = await events({ user: 'sam', reportedBy: 'cluster' });
  expect(fromCluster.filter((e) => denied.has(e.requestId) || e.decision === 'deny')).toEqual([]);
});

test('a watch and an exec leave progress records while open, then their completion', async () => {
  const watch = streamCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmaps', '-n', NS, '-w']);
  await watch.waitFor(/kube-root-ca/);
  const progress = await eventually('a progress record of the open watch', async () => {
    const open = (await events({ user: 'sam', verb: 'watch', stage: 'progress' })).filter((e) => e.resource === 'configmaps');
    return open.length > 0 ? open : undefined;
  });
  expect(progress[0]).toMatchObject({ decision: 'allow', cluster: CLUSTER });
  await watch.stop();

  const exec = await kubectl(['exec', '-n', NS, pod, '--', 'sh', '-c', 'sleep 2; echo done']);
  expect(exec.stdout).toBe('done\n');
  // kubectl's WebSocket exec is a GET, which Kubernetes calls verb get (SPDY's POST: create).
  const execRecords = await eventually('the exec\'s records', async () => {
    const all = (await events({ user: 'sam' })).filter((e) => e.subresource === 'exec');
    return ['decision', 'progress', 'completion'].every((s) => all.some((e) => e.stage === s && !e.reportedBy)) ? all : undefined;
  });
  expect(execRecords.find((e) => e.stage === 'decision')).toMatchObject({ resource: 'pods', subresource: 'exec', name: pod });
  expect(execRecords.find((e) => e.stage === 'progress' && !e.reportedBy)).toMatchObject({ status: 101, upgrade: expect.stringMatching(/websocket|SPDY/i) });
  expect(execRecords.find((e) => e.stage === 'completion' && !e.reportedBy)!.durationMs).toBeGreaterThanOrEqual(2000);
});

test("the cluster reports its side of a request the edge sent it: the edge's request id, kube-apiserver's status and address", async () => {
  expect((await kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', NS, '-o', 'name'])).stdout.trim()).toBe('configmap/kube-root-ca.crt');
  const decision = await eventually('the get\'s decision', async () =>
    (await events({ user: 'sam', verb: 'get', stage: 'decision' })).filter((e) => e.name === 'kube-root-ca.crt').pop(),
  );
  const reported = await eventually("the cluster's completion of the get", async () => (await events({ requestId: decision.requestId, reportedBy: 'cluster' })).find((e) => e.stage === 'completion'));
  expect(reported).toMatchObject({
    requestId: decision.requestId,
    reportedBy: 'cluster',
    status: 200,
    // Who and what come from the decision, not from the cluster.
    user: 'sam',
    groups: ['shop'],
    cluster: CLUSTER,
    verb: 'get',
    resource: 'configmaps',
    namespace: NS,
    name: 'kube-root-ca.crt',
    decision: 'allow',
    policy: 'shop-operators',
    path: decision.path,
    kubectlSession: decision.kubectlSession,
  });
  expect(reported.bytesSent).toBeGreaterThan(0);
  // The kube-apiserver the in-cluster Envoy reached: the address its agent registered.
  const hello = stack.controlPlane.agents!.hub.session(CLUSTER)!.hello;
  if (isIP(hello.apiserver_host!)) expect(reported.upstreamAddress).toBe(`${hello.apiserver_host}:${hello.apiserver_port}`);
  else expect(reported.upstreamAddress).toMatch(new RegExp(`:${hello.apiserver_port}$`));
  // The edge's own completion stands beside it, from the edge's file.
  const edge = await eventually("the edge's completion of the get", async () => (await events({ requestId: decision.requestId, reportedBy: 'edge', stage: 'completion' }))[0]);
  expect(edge).toMatchObject({ status: 200, user: 'sam' });
  expect(edge.upstreamAddress).not.toBe(reported.upstreamAddress);
});

test('an open watch leaves progress records from the cluster too, at the edge\'s interval', async () => {
  const watch = streamCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmaps', '-n', NS, '-w', '--field-selector', 'metadata.name=kube-root-ca.crt']);
  await watch.waitFor(/kube-root-ca/);
  const progress = await eventually("the cluster's progress record of the open watch", async () =>
    (await events({ user: 'sam', verb: 'watch', stage: 'progress', reportedBy: 'cluster' })).find((e) => e.path.includes('fieldSelector')),
  );
  expect(progress).toMatchObject({ decision: 'allow', cluster: CLUSTER, status: 200 });
  await watch.stop();
});

test('restarting the control plane under load loses nothing: every allowed request has its decision, every request its completion', async () => {
  const user = kubeconfigUser(kubeconfig);
  const seen: SeenRequest[] = [];
  let running = true;
  const load = (async () => {
    while (running) seen.push(await requestAs(user, `/api/v1/namespaces/${NS}/configmaps`));
  })();
  await eventually('some load before the restart', async () => (seen.length >= 20 ? true : undefined));
  await stack.restartControlPlane();
  await eventually('requests succeeding after the restart', async () => (seen.slice(-5).every((s) => s.status === 200) && seen.length > 40 ? true : undefined), 90_000);
  running = false;
  await load;

  const allowed = seen.filter((s) => s.status === 200);
  const refused = seen.filter((s) => s.status !== 200);
  expect(allowed.length).toBeGreaterThan(20);
  // While the control plane was away the edge refused (fail closed); it still answered them.
  expect(refused.length).toBeGreaterThan(0);
  expect(refused.every((s) => s.requestId !== '')).toBe(true);

  // Envoy flushes its file log every second; the ingester reads it every half second.
  let byRequest = new Map<string, StoredAuditEvent[]>();
  const completed = (s: { requestId: string; status: number | string }) => byRequest.get(s.requestId)?.some((e) => e.stage === 'completion' && e.status === s.status);
  await eventually('every request\'s completion ingested', async () => {
    await stack.controlPlane.catchUpEdgeLog();
    byRequest = new Map();
    for (const e of await allEvents()) byRequest.set(e.requestId, [...(byRequest.get(e.requestId) ?? []), e]);
    return seen.every(completed) ? true : undefined;
  }, 30_000).catch(() => undefined);
  const missingDecision = allowed.filter((s) => !byRequest.get(s.requestId)?.some((e) => e.stage === 'decision' && e.decision === 'allow'));
  expect(missingDecision).toEqual([]);
  // Completions of requests that ended while the control plane was down came from the edge's file.
  const missingCompletion = seen.filter((s) => !completed(s));
  expect(missingCompletion).toEqual([]);
  // A refused request has an allow decision only if the control plane stopped between writing
  // it and answering (the edge then refused, fail-closed): at most the one request in flight,
  // and its completion above says it was refused.
  expect(refused.filter((s) => byRequest.get(s.requestId)!.some((e) => e.decision === 'allow')).length).toBeLessThanOrEqual(1);
  // And the trail's own report agrees: no allowed request without its outcome.
  expect((await stack.audit.incomplete({ olderThanMs: 0, now: Date.now() })).events).toEqual([]);
});

async function allEvents(): Promise<StoredAuditEvent[]> {
  const out: StoredAuditEvent[] = [];
  let after = 0;
  for (;;) {
    const batch = await stack.audit.readFrom(after, 1000);
    if (batch.length === 0) return out;
    out.push(...batch);
    after = batch[batch.length - 1]!.seq;
  }
}

test('the trail verifies, the CLI finds sam\'s deletes, and the Kubernetes-format export decodes with the real audit types', async () => {
  const env = { ...process.env, KUBECONFIG: stack.adminKubeconfigPath };
  const verify = await runCommand(process.execPath, [cli, 'audit', 'verify', '--server', stack.apiUrl], { env });
  expect(verify.code).toBe(0);
  const query = await runCommand(process.execPath, [cli, 'audit', '--user', 'sam', '--verb', 'delete', '-o', 'json', '--server', stack.apiUrl], { env });
  expect(query.code).toBe(0);
  const lines = query.stdout.trim().split('\n').map((l) => JSON.parse(l) as StoredAuditEvent);
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.every((e) => e.user === 'sam' && e.verb === 'delete')).toBe(true);

  const exported = await eventually('the export to catch up', async () => {
    const text = fs.existsSync(exportFile()) ? fs.readFileSync(exportFile(), 'utf8') : '';
    const head = (await stack.audit.head()).seq;
    const items = text.trim() ? text.trim().split('\n').map((l) => JSON.parse(l) as { annotations: Record<string, string> }) : [];
    return items.length > 0 && Number(items[items.length - 1]!.annotations['kubegate.dev/seq']) === head ? items : undefined;
  });
  const decoded = await runCommand(stack.toolchain.auditDecode, [], { input: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: exported }) });
  expect(decoded.stderr).toBe('');
  expect(decoded.code).toBe(0);
  // The exporter's progress is on the controller's /metrics with everything else.
  const metrics = await (await fetch(`http://127.0.0.1:${stack.controlPlane.statusPort}/metrics`)).text();
  expect(metrics).toMatch(/^kubegate_audit_export_events_total\{exporter="k8s-file",kind="jsonl-file"\} [1-9]\d*$/m);
  expect(metrics).toMatch(/^kubegate_audit_export_lag_events\{exporter="k8s-file",kind="jsonl-file"\} \d+$/m);
});
