/**
 * The walking skeleton end to end: the real kubectl → the real Envoy edge (programmed over
 * xDS by kubegate's control plane, mTLS) → a real kube-apiserver, impersonating the user.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { startLocalStack, type LocalStack } from '../../dev/stack/local-stack';
import { silentLogger } from '../../control-plane/log/logger';
import { createCertificateAuthority, issueCertificate } from '../../control-plane/pki/certificates';
import { issueUserCertificate } from '../../control-plane/credentials/user-certificate';
import { userServerName, userUri } from '../../control-plane/identity/user-identity';
import { runCommand } from '../support/run-command';
import { tlsRequest } from '../support/tls-request';
import { openWebSocket } from '../support/websocket-upgrade';

jest.setTimeout(120_000);

const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

let stack: LocalStack;
let stateDir: string;
let adminKubeconfig: string;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-e2e-'));
  stack = await startLocalStack({ stateDir, clusters: ['alpha'], logger: silentLogger });
  adminKubeconfig = stack.adminKubeconfigPath;
  // Interns pass the edge (a policy with clusterRoles and no rules lets the cluster's RBAC
  // decide), and the cluster's RBAC grants them nothing: what they get is the apiserver's own
  // Forbidden, which is what these tests are about.
  await stack.createUser('nobody', ['interns']);
  await stack.createUser('mallory', ['interns']);
  const current = await stack.store.getPolicySet();
  await stack.applyPolicies([...current.files, { fileName: 'interns.yaml', text: INTERNS_POLICY }]);
});

const INTERNS_POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: interns}
spec:
  subjects: {groups: [interns]}
  clusters: {all: true}
  clusterRoles: [{name: view, namespaces: [interns-sandbox]}]
`;

afterAll(async () => {
  await stack?.stop();
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
});

const kubectl = (kubeconfig: string, args: string[], input?: string) =>
  runCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, ...args], input === undefined ? {} : { input });

const selfSubjectReview = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });

/** A certificate as kubegate issues it, for requests kubectl cannot make. */
function userCertificate(user: string) {
  return issueUserCertificate(stack.pki.userCa, { user, ttlMs: 3_600_000, now: new Date() });
}

describe('kubectl through the edge', () => {
  test('lists namespaces', async () => {
    const r = await kubectl(adminKubeconfig, ['get', 'namespaces', '-o', 'name']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('namespace/default');
    expect(r.stdout).toContain('namespace/kube-system');
  });

  test('applies a ConfigMap and reads it back', async () => {
    const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\n  namespace: default\ndata:\n  text: hello through kubegate\n';
    const applied = await kubectl(adminKubeconfig, ['apply', '-f', '-'], manifest);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('configmap/greeting');
    const read = await kubectl(adminKubeconfig, ['get', 'configmap', 'greeting', '-n', 'default', '-o', 'jsonpath={.data.text}']);
    expect(read.code).toBe(0);
    expect(read.stdout).toBe('hello through kubegate');
  });

  test('a watch outlives the 15 s default route timeout and still receives events', async () => {
    const watcher = spawn(stack.toolchain.kubectl, ['--kubeconfig', adminKubeconfig, 'get', 'configmaps', '-n', 'default', '--watch-only', '-o', 'name']);
    let output = '';
    watcher.stdout.on('data', (d: Buffer) => (output += d.toString()));
    try {
      // Longer than Envoy's default route timeout (15 s): a watch must not be cut there.
      await new Promise((r) => setTimeout(r, 16_000));
      expect(watcher.exitCode).toBeNull();
      const created = await kubectl(adminKubeconfig, ['create', 'configmap', 'seen-by-watch', '-n', 'default']);
      expect(created.code).toBe(0);
      await waitFor(() => output.includes('configmap/seen-by-watch'), 10_000);
      expect(output).toContain('configmap/seen-by-watch');
      expect(watcher.exitCode).toBeNull();
    } finally {
      watcher.kill('SIGTERM');
    }
  });

  test('a WebSocket upgrade passes through the edge (a watch over WebSocket)', async () => {
    const ws = await openWebSocket({
      url: `${stack.edgeUrl}/clusters/alpha/api/v1/namespaces/default/configmaps?watch=true`,
      caPem: stack.pki.servingCa.certPem,
      servername: userServerName('admin'),
      ...pemPair(userCertificate('admin')),
    });
    try {
      expect(ws.status).toBe(101);
      const created = await kubectl(adminKubeconfig, ['create', 'configmap', 'seen-over-websocket', '-n', 'default']);
      expect(created.code).toBe(0);
      await waitFor(() => ws.received().includes('seen-over-websocket'), 10_000);
      expect(ws.received()).toContain('"type":"ADDED"');
    } finally {
      ws.close();
    }
  });

  test("the apiserver sees the user and the groups kubegate's records give them (impersonation)", async () => {
    const r = await kubectl(adminKubeconfig, ['auth', 'whoami', '-o', 'json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout).status.userInfo;
    expect(info.username).toBe('admin');
    expect(info.groups).toEqual(expect.arrayContaining(['kubegate:admins', 'system:authenticated']));
    expect(info.groups).not.toContain('system:masters');
  });

  test("a user whom the cluster's RBAC allows nothing gets the apiserver's Forbidden", async () => {
    const kubeconfig = await stack.writeKubeconfig({ user: 'nobody' });
    const r = await kubectl(kubeconfig, ['get', 'namespaces']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Forbidden');
    expect(r.stderr).toContain('User "nobody" cannot list resource "namespaces"');
  });

  test('every request is logged with the user, cluster and status', async () => {
    const r = await kubectl(adminKubeconfig, ['get', 'namespace', 'kube-public', '-o', 'name']);
    expect(r.code).toBe(0);
    const record = await stack.controlPlane.accessLog.waitFor(
      (x) => x.user === 'admin' && x.path === '/clusters/alpha/api/v1/namespaces/kube-public' && x.status === 200,
    );
    expect(record.cluster).toBe('alpha');
    expect(record.decision).toBe('allow');
    expect(record.method).toBe('GET');
    expect(record.upstreamCluster).toBe('kube-apiserver/alpha');
    expect(record.bytesSent).toBeGreaterThan(0);
    expect(record.userAgent).toContain('kubectl');
    expect(record.kubectlCommand).toBe('kubectl get');
    expect(record.requestId).not.toBe('');
    const lines = fs.readFileSync(stack.accessLogPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.requestId === record.requestId)).toBe(true);
  });

  test('a path naming no registered cluster gets a Kubernetes 404 Status from kubegate', async () => {
    const cert = userCertificate('admin');
    const r = await tlsRequest({ url: `${stack.edgeUrl}/clusters/nope/api`, caPem: stack.pki.servingCa.certPem, servername: userServerName('admin'), ...pemPair(cert) });
    expect(r.status).toBe(404);
    const status = JSON.parse(r.body);
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    expect(status.message).toContain('kubegate: no cluster "nope"');
  });
});

const pemPair = (p: { certPem: string; keyPem: string }) => ({ certPem: p.certPem, keyPem: p.keyPem });

describe('the edge refuses connections without a valid client certificate', () => {
  const url = () => `${stack.edgeUrl}/clusters/alpha/api`;

  test('no client certificate', async () => {
    await expect(tlsRequest({ url: url(), caPem: stack.pki.servingCa.certPem })).rejects.toThrow(/certificate|alert|hang up|reset|EPIPE/i);
  });

  test('a certificate from another CA', async () => {
    const now = new Date();
    const otherCa = createCertificateAuthority({ commonName: 'not kubegate', notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 3_600_000) });
    const cert = issueCertificate(otherCa, { commonName: 'admin', uris: [userUri('admin')], usage: 'client', notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 3_600_000) });
    await expect(tlsRequest({ url: url(), caPem: stack.pki.servingCa.certPem, servername: userServerName('admin'), ...pemPair(cert) })).rejects.toThrow(/certificate|alert|hang up|reset|EPIPE/i);
    await expect(tlsRequest({ url: url(), caPem: stack.pki.servingCa.certPem, ...pemPair(cert) })).rejects.toThrow(/certificate|alert|hang up|reset|EPIPE/i);
  });

  test('an expired certificate from the right CA', async () => {
    const now = Date.now();
    const cert = issueCertificate(stack.pki.userCa, { commonName: 'admin', uris: [userUri('admin')], usage: 'client', notBefore: new Date(now - 7_200_000), notAfter: new Date(now - 3_600_000) });
    await expect(tlsRequest({ url: url(), caPem: stack.pki.servingCa.certPem, servername: userServerName('admin'), ...pemPair(cert) })).rejects.toThrow(/certificate|alert|hang up|reset|expired|EPIPE/i);
  });

  test('a valid certificate is accepted (the refusals above are about the certificate)', async () => {
    const r = await tlsRequest({ url: url(), caPem: stack.pki.servingCa.certPem, servername: userServerName('admin'), ...pemPair(userCertificate('admin')) });
    expect(r.status).toBe(200);
  });

  test("another user's certificate cannot complete a handshake on a user's endpoint", async () => {
    const r = tlsRequest({ url: url(), caPem: stack.pki.servingCa.certPem, servername: userServerName('admin'), ...pemPair(userCertificate('mallory')) });
    await expect(r).rejects.toThrow(/certificate|alert|hang up|reset|EPIPE/i);
  });
});

describe('identity headers from the client are ignored', () => {
  const review = (headers: Record<string, string>, user: string) =>
    tlsRequest({
      url: `${stack.edgeUrl}/clusters/alpha/apis/authentication.k8s.io/v1/selfsubjectreviews`,
      method: 'POST',
      caPem: stack.pki.servingCa.certPem,
      servername: userServerName(user),
      ...pemPair(userCertificate(user)),
      headers: { 'content-type': 'application/json', ...headers },
      body: selfSubjectReview,
    });

  test('Impersonate-User, Impersonate-Group, Impersonate-Extra-* and Authorization do not change who the apiserver sees', async () => {
    const r = await review(
      {
        'Impersonate-User': 'system:admin',
        'Impersonate-Group': 'system:masters',
        'Impersonate-Uid': '1234',
        'Impersonate-Extra-Scopes': 'everything',
        Authorization: 'Bearer not-a-real-token',
      },
      'mallory',
    );
    expect(r.status).toBe(201);
    const info = JSON.parse(r.body).status.userInfo;
    expect(info.username).toBe('mallory');
    expect(info.groups).toEqual(expect.arrayContaining(['interns', 'system:authenticated']));
    expect(info.groups).not.toContain('system:masters');
    expect(info.uid).toBeUndefined();
    // Only what kubegate itself adds to a whoami answer (self-review/); nothing smuggled.
    expect(info.extra).toEqual({ 'kubegate.io/user': ['mallory'], 'kubegate.io/groups': ['interns'], 'kubegate.io/cluster': ['alpha'] });
  });

  test('smuggled groups do not grant access the user lacks', async () => {
    const kubeconfig = await stack.writeKubeconfig({ user: 'mallory' });
    const r = await runCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, '--as', 'admin', '--as-group', 'system:masters', 'get', 'namespaces']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('User "mallory" cannot list resource "namespaces"');
  });
});

describe('xDS keeps the running edge up to date', () => {
  test('a cluster registered while Envoy runs is served without a restart', async () => {
    const pidBefore = stack.envoy.pid;
    await stack.addCluster('beta');
    const kubeconfig = await stack.writeKubeconfig({ user: 'admin' });
    const created = await kubectl(kubeconfig, ['--context', 'beta', 'create', 'configmap', 'only-in-beta', '-n', 'default']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const inBeta = await kubectl(kubeconfig, ['--context', 'beta', 'get', 'configmap', 'only-in-beta', '-n', 'default', '-o', 'name']);
    expect(inBeta.stdout.trim()).toBe('configmap/only-in-beta');
    const inAlpha = await kubectl(kubeconfig, ['--context', 'alpha', 'get', 'configmap', 'only-in-beta', '-n', 'default']);
    expect(inAlpha.code).not.toBe(0);
    expect(inAlpha.stderr).toContain('NotFound');
    expect(stack.envoy.pid).toBe(pidBefore);
  });

  test("delta xDS: a new user's certificate sends the edge one listener, their shard", async () => {
    const cache = stack.controlPlane.cache;
    const node = stack.controlPlane.nodeId;
    await stack.createUser('delta-dora', ['interns']);
    const before = cache.resourcesSent();
    const ldsBefore = cache.getSnapshot(node)!.version(LISTENER_TYPE);
    // Issuing the kubeconfig waits until the edge has accepted the user's filter chain.
    const kubeconfig = await stack.writeKubeconfig({ user: 'delta-dora' });
    const after = cache.resourcesSent();
    expect(after.LDS - before.LDS).toBe(1);
    // Clusters, endpoints and routes did not change, so nothing of them went out.
    expect(after.CDS - before.CDS).toBe(0);
    expect(after.EDS - before.EDS).toBe(0);
    const lds = cache.status().nodes[node]!.types[LISTENER_TYPE]!;
    expect(lds.ackedVersion).not.toBe(ldsBefore);
    expect(lds.ackedVersion).toBe(lds.snapshotVersion);
    const r = await kubectl(kubeconfig, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('delta-dora');
  });

  test('delta xDS: a restarted control plane sends the edge nothing it already runs', async () => {
    const pidBefore = stack.envoy.pid;
    await stack.restartControlPlane();
    const cache = stack.controlPlane.cache;
    const node = stack.controlPlane.nodeId;
    // The edge reconnects and says what it has; every type is in sync without a resource sent.
    const snapshot = cache.getSnapshot(node)!;
    await waitFor(() => {
      const types = cache.status().nodes[node]?.types;
      return [LISTENER_TYPE, CLUSTER_TYPE].every((t) => types?.[t]?.ackedVersion === snapshot.version(t as typeof LISTENER_TYPE)) || undefined;
    }, 20_000);
    expect(cache.resourcesSent()).toMatchObject({ LDS: 0, CDS: 0, EDS: 0, RDS: 0 });
    const still = await kubectl(adminKubeconfig, ['get', 'namespace', 'default', '-o', 'name']);
    expect(still.stdout.trim()).toBe('namespace/default');
    expect(stack.envoy.pid).toBe(pidBefore);
  });

  test('an invalid resource is NACKed and recorded, and the previous configuration keeps serving', async () => {
    const cache = stack.controlPlane.cache;
    const node = stack.controlPlane.nodeId;
    const clusterType = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
    const good = cache.getSnapshot(node)!;
    const resources = good.resources();
    // Envoy refuses a cluster whose connect timeout is not positive; kubegate's own checks
    // are structural and let it through, which is what this test needs.
    const broken = {
      ...resources,
      clusters: resources.clusters.map((c) => ({ ...(c as object), connect_timeout: { seconds: -5 } })),
    };
    const { Snapshot } = await import('../../control-plane/xds/snapshot');
    const bad = new Snapshot(broken);
    cache.setSnapshot(node, bad);
    const nack = await waitFor(() => cache.status().nodes[node]?.types?.[clusterType]?.lastNack, 15_000);
    // The edge speaks delta xDS: the rejected response may be one of those that send the bad
    // clusters one at a time, which say they carry part of the snapshot.
    expect(nack!.version).toMatch(new RegExp(`^${bad.version(clusterType)}(-partial)?$`));
    // Sent one at a time, every broken cluster is rejected on its own, and held back.
    const badClusters = [...bad.resourceVersions(clusterType)].map(([name, version]) => `${name}@${version}`).sort();
    await waitFor(() => [...(cache.status().nodes[node]?.types?.[clusterType]?.rejectedResources ?? [])].sort().join() === badClusters.join() || undefined, 15_000);
    expect(nack!.message).toMatch(/connect_timeout|Duration|seconds/i);
    // The same record is visible from outside, on the control plane's status endpoint.
    const status = JSON.parse(await httpGet(`http://127.0.0.1:${stack.controlPlane.statusPort}/status`));
    expect(status.xds.nodes[node].types[clusterType].lastNack.version).toBe(nack!.version);
    expect(await httpGet(`http://127.0.0.1:${stack.controlPlane.statusPort}/metrics`)).toMatch(/kubegate_xds_nacks_total\{type="CDS"\} [1-9]/);

    const still = await kubectl(adminKubeconfig, ['get', 'namespace', 'default', '-o', 'name']);
    expect(still.code).toBe(0);
    expect(still.stdout.trim()).toBe('namespace/default');

    // Put back what the reconcile loop published (nothing changed, so it would not publish again).
    const fixed = good;
    cache.setSnapshot(node, fixed);
    await waitFor(() => cache.status().nodes[node]?.types?.[clusterType]?.ackedVersion === fixed.version(clusterType) || undefined, 15_000);
  });
});

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

async function waitFor<T>(probe: () => T | undefined | null | false, timeoutMs: number): Promise<T> {
  // Polls rather than sleeping a fixed time, so a slow machine only makes the test slower.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
