/**
 * The central access policy, enforced at the edge: the real kubectl → the real Envoy edge →
 * the real kube-apiserver. Inside the clusters every test group is bound to cluster-admin, so
 * whatever is refused here is refused by kubegate at the edge, before the cluster sees it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { parse } from 'yaml';
import { startLocalStack, type LocalStack } from '../../dev/stack/local-stack';
import { silentLogger } from '../../control-plane/log/logger';
import { issueUserCertificate } from '../../control-plane/credentials/user-certificate';
import { NoKubectlAccessError } from '../../control-plane/credentials/kubeconfig-issuer';
import { userServerName, userUri, DEFAULT_USER_SERVER_NAME_SUFFIX } from '../../control-plane/identity/user-identity';
import { buildKubeconfig } from '../../control-plane/credentials/kubeconfig';
import { createCertificateAuthority, issueCertificate } from '../../control-plane/pki/certificates';
import type { PolicyFileRecord } from '../../control-plane/store/store';
import { runCommand } from '../support/run-command';
import { tlsRequest } from '../support/tls-request';
import { openWebSocket } from '../support/websocket-upgrade';

jest.setTimeout(180_000);

/** A drained stream closes after Envoy's 1 s drain time; this only rules out any other cause. */
const DRAINED_WITHIN_MS = 15_000;

let stack: LocalStack;
let stateDir: string;
let baseFiles: PolicyFileRecord[];

const TEST_GROUPS = ['dev', 'ops', 'contractors', 'oncall', 'sessioned', 'windowed'];

const POLICIES = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: dev-team-a}
spec:
  subjects: {groups: [dev]}
  clusters: {selector: {matchLabels: {env: dev}}}
  rules:
    - {apiGroups: [""], resources: [pods, configmaps], verbs: [get, list, watch, create, delete], namespaces: [team-a]}
---
apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: ops-read-everywhere}
spec:
  subjects: {groups: [ops]}
  clusters: {all: true}
  rules:
    - {apiGroups: [""], resources: [pods, configmaps, namespaces], verbs: [get, list, watch]}
---
apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: contractors-console}
spec:
  subjects: {groups: [contractors]}
  clusters: {names: [alpha]}
  accessMode: console-only
  rules:
    - {apiGroups: [""], resources: [pods], verbs: [get, list], namespaces: [team-a]}
---
apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: sessioned-readers}
spec:
  subjects: {groups: [sessioned]}
  clusters: {names: [alpha]}
  requireActiveSession: {within: 5m}
  rules:
    - {apiGroups: [""], resources: [namespaces], verbs: [get, list]}
---
apiVersion: kubegate.dev/v1alpha1
kind: BreakGlassPolicy
metadata: {name: oncall-prod}
spec:
  subjects: {groups: [oncall]}
  clusters: {names: [prod]}
  rules:
    - {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
  maxDuration: 1h
  approval: {required: true, approvers: {users: [erin]}}
`;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-policy-e2e-'));
  stack = await startLocalStack({
    stateDir,
    clusters: [
      { name: 'alpha', labels: { env: 'dev' } },
      { name: 'prod', labels: { env: 'prod' } },
    ],
    logger: silentLogger,
  });
  for (const cluster of stack.clusters) {
    const subjects = TEST_GROUPS.map((g) => `  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: ${g}}`).join('\n');
    const rbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-groups-are-admins}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
${subjects}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
`;
    const applied = await cluster.kubectl(['apply', '-f', '-'], rbac);
    expect(applied.code).toBe(0);
  }
  for (const [name, groups] of [
    ['alice', ['dev']],
    ['bob', ['ops']],
    ['carol', ['contractors']],
    ['dave', ['oncall']],
    ['erin', []],
    ['frank', ['dev']],
    ['gina', ['sessioned']],
    ['hank', ['windowed']],
  ] as const) {
    await stack.createUser(name, groups);
  }
  baseFiles = [...(await stack.store.getPolicySet()).files, { fileName: 'e2e.yaml', text: POLICIES }];
  await stack.applyPolicies(baseFiles);
});

afterAll(async () => {
  await stack?.stop();
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
});

const kubectl = (kubeconfig: string, args: string[], input?: string) =>
  runCommand(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, ...args], input === undefined ? {} : { input });

/** A raw request as `user` through their own endpoint at the edge. */
function asUser(user: string, urlPath: string, opts: { method?: string; headers?: Record<string, string | string[]>; body?: string } = {}) {
  const cert = issueUserCertificate(stack.pki.userCa, { user, ttlMs: 600_000, now: new Date() });
  return tlsRequest({ url: `${stack.edgeUrl}${urlPath}`, caPem: stack.pki.servingCa.certPem, certPem: cert.certPem, keyPem: cert.keyPem, servername: userServerName(user), ...opts });
}

async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A `kubectl get -w` that keeps running until the edge closes it or the test stops it. */
function startWatch(kubeconfig: string, args: string[]): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(stack.toolchain.kubectl, ['--kubeconfig', kubeconfig, 'get', '-w', ...args]);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

describe('rules are enforced at the edge', () => {
  let alice: string;
  beforeAll(async () => {
    alice = await stack.writeKubeconfig({ user: 'alice' });
  });

  test("a user's kubeconfig has one context per cluster they may use with kubectl", () => {
    const config = parse(fs.readFileSync(alice, 'utf8'));
    expect(config.contexts.map((c: { name: string }) => c.name)).toEqual(['alpha']);
    expect(config.clusters[0].cluster['tls-server-name']).toBe(userServerName('alice'));
  });

  test('a user with no kubectl access anywhere gets a clear error, not an empty kubeconfig', async () => {
    await expect(stack.writeKubeconfig({ user: 'carol' })).rejects.toThrow(NoKubectlAccessError);
    await expect(stack.writeKubeconfig({ user: 'hank' })).rejects.toThrow(/has no kubectl access to any cluster/);
  });

  test('allowed: list and watch pods in the granted namespace, create and delete a ConfigMap there', async () => {
    const list = await kubectl(alice, ['get', 'pods', '-n', 'team-a']);
    expect(list.code).toBe(0);
    const created = await kubectl(alice, ['create', 'configmap', 'from-alice', '-n', 'team-a']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const deleted = await kubectl(alice, ['delete', 'configmap', 'from-alice', '-n', 'team-a']);
    expect(deleted.code).toBe(0);
  });

  test.each([
    ['another namespace', ['get', 'pods', '-n', 'team-b'], 'list pods in namespace "team-b"'],
    ['all namespaces', ['get', 'pods', '-A'], 'list pods'],
    ['a resource the rule does not name', ['get', 'secrets', '-n', 'team-a'], 'secrets'],
    ['a cluster-scoped resource', ['get', 'namespaces'], 'namespaces'],
  ])('refused: %s, with a Kubernetes Forbidden that names kubegate and why', async (_what, args, mention) => {
    const r = await kubectl(alice, args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Forbidden');
    expect(r.stderr).toContain('kubegate:');
    expect(r.stderr).toContain(mention);
  });

  test('a verb the rule does not name is refused even on an object the user may read', async () => {
    expect((await kubectl(alice, ['create', 'configmap', 'patch-me', '-n', 'team-a'])).code).toBe(0);
    const r = await kubectl(alice, ['patch', 'configmap', 'patch-me', '-n', 'team-a', '-p', '{"data":{"a":"b"}}']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Forbidden');
    expect(r.stderr).toContain('kubegate:');
    expect(r.stderr).toContain('patch');
  });

  test('exec is the privileged subresource it is, not a "get pods"', async () => {
    const r = await asUser('alice', '/clusters/alpha/api/v1/namespaces/team-a/pods/web/exec?command=sh&stdin=true', { method: 'POST' });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect(JSON.parse(r.body).message).toContain('pods/exec');
  });

  test('a denial is in the access log with the decision, the reason and the Kubernetes attributes', async () => {
    const r = await kubectl(alice, ['get', 'configmaps', '-n', 'team-b']);
    expect(r.code).not.toBe(0);
    const record = await stack.controlPlane.accessLog.waitFor((x) => x.user === 'alice' && x.path.includes('/namespaces/team-b/configmaps'));
    expect(record).toMatchObject({ decision: 'deny', status: 403, cluster: 'alpha', verb: 'list', resource: 'configmaps', namespace: 'team-b', breakGlassId: '' });
    expect(record.reason).toMatch(/not-permitted/);
  });

  test('group membership comes from kubegate, and the apiserver sees those groups', async () => {
    const r = await asUser('alice', '/clusters/alpha/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    });
    // Not in alice's rules, but every kubectl user may ask who they are (kubectl auth whoami).
    expect(r.status).toBe(201);
    const info = JSON.parse(r.body).status.userInfo;
    expect(info.username).toBe('alice');
    expect(info.groups).toEqual(expect.arrayContaining(['dev', 'system:authenticated']));
    expect(info.extra['kubegate.io/groups']).toEqual(['dev']);
    const bob = await stack.writeKubeconfig({ user: 'bob' });
    const who = await kubectl(bob, ['get', 'pods', '-n', 'team-b']);
    expect(who.code).toBe(0);
  });
});

describe('certificates kubegate must refuse, with the reason kubectl shows', () => {
  const kubeconfigWith = (cert: { certPem: string; keyPem: string }) => {
    const file = path.join(stateDir, `bad-cert-${Math.random().toString(36).slice(2)}.kubeconfig`);
    const text = buildKubeconfig({
      edgeUrl: stack.edgeUrl,
      edgeCaPem: stack.pki.servingCa.certPem,
      user: 'alice',
      clientCertPem: cert.certPem,
      clientKeyPem: cert.keyPem,
      clusters: ['alpha'],
      userServerNameSuffix: DEFAULT_USER_SERVER_NAME_SUFFIX,
    });
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  };

  /**
   * The edge's TLS alert names the reason. Over TLS 1.3 (kubectl's default) the server checks
   * the client certificate after the client already considers the handshake done, so whether
   * kubectl reads the alert or first hits a broken pipe is a race; over TLS 1.2 the alert
   * arrives inside the handshake, which makes the reason checkable every time.
   */
  async function handshakeRefusal(cert: { certPem: string; keyPem: string }): Promise<string> {
    const tls = await import('node:tls');
    const url = new URL(stack.edgeUrl);
    return new Promise((resolve) => {
      const socket = tls.connect(
        { host: url.hostname, port: Number(url.port), ca: stack.pki.servingCa.certPem, cert: cert.certPem, key: cert.keyPem, servername: userServerName('alice'), maxVersion: 'TLSv1.2' },
        () => {
          socket.destroy();
          resolve('handshake completed');
        },
      );
      socket.on('error', (err) => resolve(err.message));
    });
  }
  /**
   * What kubectl prints for a refused handshake. Besides the alert's text, a broken pipe, a reset
   * or an EOF, Go's HTTP/2 client has one more ending of the same race: when its read loop
   * consumes the alert before the server's SETTINGS frame, it reports only that the client
   * connection "could not be established". The reason itself is pinned by handshakeRefusal.
   */
  const REFUSED = /expired certificate|unknown certificate authority|broken pipe|connection reset|EOF|client conn could not be established/;

  test('an expired certificate is refused in the handshake with the reason "certificate expired"', async () => {
    const now = Date.now();
    const expired = issueCertificate(stack.pki.userCa, { commonName: 'alice', uris: [userUri('alice')], usage: 'client', notBefore: new Date(now - 7_200_000), notAfter: new Date(now - 3_600_000) });
    expect(await handshakeRefusal(expired)).toMatch(/certificate expired/i);
    const r = await kubectl(kubeconfigWith(expired), ['get', 'pods', '-n', 'team-a']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(REFUSED);
  });

  test('a certificate from another CA is refused in the handshake with the reason "unknown ca"', async () => {
    const now = Date.now();
    const otherCa = createCertificateAuthority({ commonName: 'impostor', notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) });
    const foreign = issueCertificate(otherCa, { commonName: 'alice', uris: [userUri('alice')], usage: 'client', notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) });
    expect(await handshakeRefusal(foreign)).toMatch(/unknown ca/i);
    const r = await kubectl(kubeconfigWith(foreign), ['get', 'pods', '-n', 'team-a']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(REFUSED);
  });

  test('an unknown user: a Kubernetes Unauthorized Status naming the user', async () => {
    const r = await asUser('nobody-at-all', '/clusters/alpha/api/v1/namespaces/team-a/pods');
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).message).toContain('"nobody-at-all" is not known to kubegate');
    const record = await stack.controlPlane.accessLog.waitFor((x) => x.user === 'nobody-at-all');
    expect(record).toMatchObject({ decision: 'deny', reason: 'unknown-user', status: 401 });
  });
});

describe('header smuggling and path tricks do not get past a rule', () => {
  test('Impersonate-*, Authorization and duplicated headers do not change who the edge decides for', async () => {
    const r = await asUser('alice', '/clusters/alpha/api/v1/namespaces/team-b/pods', {
      headers: { 'Impersonate-User': ['bob', 'admin'], 'Impersonate-Group': ['ops', 'kubegate:admins'], Authorization: 'Bearer x', 'Impersonate-Extra-Scopes': 'all' },
    });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).message).toContain('alice');
  });

  test.each([
    ['a dot-dot segment', '/clusters/alpha/api/v1/namespaces/team-a/../team-b/pods'],
    ['dot-dot after a name', '/clusters/alpha/api/v1/namespaces/team-a/pods/x/../../../team-b/pods'],
    ['an encoded slash', '/clusters/alpha/api/v1/namespaces/team-a%2F..%2Fteam-b/pods'],
    ['encoded dots', '/clusters/alpha/api/v1/namespaces/team-a/%2e%2e/team-b/pods'],
    ['a double slash', '/clusters/alpha/api/v1/namespaces//team-b/pods'],
    ['a trailing dot', '/clusters/alpha/api/v1/namespaces/team-a./pods'],
    ['a trailing dot on the resource', '/clusters/alpha/api/v1/namespaces/team-b/pods.'],
    ['a backslash', '/clusters/alpha/api/v1/namespaces/team-a\\..\\team-b/pods'],
    ['a cluster switch by dot-dot', '/clusters/alpha/../prod/api/v1/namespaces/team-a/pods'],
  ])('%s is refused, never served', async (_what, urlPath) => {
    const r = await asUser('alice', urlPath).catch((e: Error) => ({ status: 0, body: e.message }));
    expect(r.status === 0 || r.status >= 400).toBe(true);
    expect(r.status).not.toBe(200);
    expect(r.body).not.toContain('"kind":"PodList"');
  });
});

describe('access modes, kill switch, active sessions', () => {
  test('console-only subjects cannot use kubectl', async () => {
    const r = await asUser('carol', '/clusters/alpha/api/v1/namespaces/team-a/pods');
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).message).toMatch(/console/);
  });

  test('a cluster kill switch refuses kubectl on that cluster only, closes open streams there, and lifting it restores access', async () => {
    expect((await asUser('bob', '/clusters/prod/api/v1/namespaces/team-a/pods')).status).toBe(200);
    const bob = await stack.writeKubeconfig({ user: 'bob' });
    const watch = startWatch(bob, ['--context', 'prod', 'configmaps', '-n', 'team-a']);
    const killSwitch = `apiVersion: kubegate.dev/v1alpha1
kind: ClusterSettings
metadata: {name: prod-kill-switch}
spec:
  description: e2e incident
  clusters: {names: [prod]}
  kubectl: disabled
`;
    try {
      const prodCluster = stack.clusters.find((c) => c.name === 'prod')!;
      expect((await prodCluster.kubectl(['create', 'configmap', 'before-kill-switch', '-n', 'team-a'])).code).toBe(0);
      await waitFor(() => watch.output().includes('before-kill-switch'), 15_000, 'watch established');
      await stack.applyPolicies([...baseFiles, { fileName: 'kill.yaml', text: killSwitch }]);
      await watch.exited;
      const refused = await asUser('bob', '/clusters/prod/api/v1/namespaces/team-a/pods');
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body).message).toMatch(/kubectl/);
      expect((await asUser('bob', '/clusters/alpha/api/v1/namespaces/team-a/pods')).status).toBe(200);
    } finally {
      watch.proc.kill('SIGKILL');
      await stack.applyPolicies(baseFiles);
    }
    expect((await asUser('bob', '/clusters/prod/api/v1/namespaces/team-a/pods')).status).toBe(200);
  });

  test('requireActiveSession: kubectl works only while a console session is active', async () => {
    const before = await asUser('gina', '/clusters/alpha/api/v1/namespaces');
    expect(before.status).toBe(403);
    expect(JSON.parse(before.body).message).toMatch(/session/);
    const session = await stack.store.createSession({ id: 'e2e-session-gina', user: 'gina', now: Date.now() });
    await stack.controlPlane.refresh();
    expect((await asUser('gina', '/clusters/alpha/api/v1/namespaces')).status).toBe(200);
    await stack.store.endSession(session.id, Date.now());
    await stack.controlPlane.refresh();
    expect((await asUser('gina', '/clusters/alpha/api/v1/namespaces')).status).toBe(403);
  });
});

describe('time-bound access', () => {
  test('a validity window a few seconds long opens and closes on time', async () => {
    const opens = Date.now() + 4000;
    const closes = opens + 4000;
    const windowed = `apiVersion: kubegate.dev/v1alpha1
kind: AccessPolicy
metadata: {name: hank-briefly}
spec:
  subjects: {users: [hank]}
  clusters: {names: [alpha]}
  rules:
    - {apiGroups: [""], resources: [pods], verbs: [list], namespaces: [team-a]}
  validity:
    notBefore: ${new Date(opens).toISOString()}
    notAfter: ${new Date(closes).toISOString()}
`;
    await stack.applyPolicies([...baseFiles, { fileName: 'hank.yaml', text: windowed }]);
    try {
      const probe = () => asUser('hank', '/clusters/alpha/api/v1/namespaces/team-a/pods').then((r) => { if (process.env.DBG) process.stderr.write(r.status + ' ' + r.body + '\n'); return r.status; });
      expect(await probe()).toBe(403);
      await waitFor(async () => Date.now() >= opens && (await probe()) === 200, 10_000, 'window opens');
      expect(Date.now()).toBeGreaterThanOrEqual(opens);
      await waitFor(async () => Date.now() >= closes && (await probe()) === 403, 10_000, 'window closes');
    } finally {
      await stack.applyPolicies(baseFiles);
    }
  });
});

describe('break-glass', () => {
  test('requested, approved, in force on every request it covers, and expiring by itself', async () => {
    const url = '/clusters/prod/api/v1/namespaces/team-b/configmaps';
    expect((await asUser('dave', url)).status).toBe(403);
    const now = Date.now();
    await stack.store.createBreakGlass({
      id: 'bg-e2e-1',
      policy: 'oncall-prod',
      user: 'dave',
      cluster: 'prod',
      justification: 'INC-1: payments down',
      durationMs: 6000,
      requestedAt: now,
      approvals: [],
      state: 'pending',
    });
    await stack.controlPlane.refresh();
    expect((await asUser('dave', url)).status).toBe(403);
    const pending = (await stack.store.getBreakGlass('bg-e2e-1'))!;
    const activatedAt = Date.now();
    await stack.store.updateBreakGlass({ ...pending, approvals: [{ approver: 'erin', at: activatedAt }], state: 'active', activatedAt, expiresAt: activatedAt + 6000 });
    await stack.controlPlane.refresh();
    const allowed = await asUser('dave', url);
    expect(allowed.status).toBe(200);
    // A watch opened under the grant closes when the grant expires, without anyone acting.
    const cert = issueUserCertificate(stack.pki.userCa, { user: 'dave', ttlMs: 600_000, now: new Date() });
    const watch = await openWebSocket({
      url: `${stack.edgeUrl}/clusters/prod/api/v1/namespaces/team-b/configmaps?watch=true`,
      caPem: stack.pki.servingCa.certPem,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      servername: userServerName('dave'),
    });
    expect(watch.status).toBe(101);
    const record = await stack.controlPlane.accessLog.waitFor((x) => x.user === 'dave' && x.status === 200 && x.cluster === 'prod');
    expect(record).toMatchObject({ decision: 'allow', breakGlassId: 'bg-e2e-1', policy: 'oncall-prod', verb: 'list', resource: 'configmaps', namespace: 'team-b' });
    await waitFor(async () => (await asUser('dave', url)).status === 403, 15_000, 'grant expires');
    expect(Date.now()).toBeGreaterThanOrEqual(activatedAt + 6000);
    await watch.ended;
    expect(Date.now()).toBeGreaterThanOrEqual(activatedAt + 6000);
  });
});

describe('instant revocation', () => {
  test("revoking a user closes their open watch and upgraded stream within seconds; another user's watch survives", async () => {
    const frank = await stack.writeKubeconfig({ user: 'frank' });
    const bob = await stack.writeKubeconfig({ user: 'bob' });
    const frankWatch = startWatch(frank, ['configmaps', '-n', 'team-a']);
    const bobWatch = startWatch(bob, ['configmaps', '-n', 'team-a']);
    const cert = issueUserCertificate(stack.pki.userCa, { user: 'frank', ttlMs: 600_000, now: new Date() });
    await stack.store.recordCertificate({ serial: cert.serial, user: 'frank', notBefore: cert.notBefore.getTime(), notAfter: cert.notAfter.getTime(), issuedAt: Date.now() });
    const upgraded = await openWebSocket({
      url: `${stack.edgeUrl}/clusters/alpha/api/v1/namespaces/team-a/configmaps?watch=true`,
      caPem: stack.pki.servingCa.certPem,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      servername: userServerName('frank'),
    });
    try {
      expect(upgraded.status).toBe(101);
      // Both watches are established: each sees a ConfigMap created now.
      const admin = stack.adminKubeconfigPath;
      expect((await kubectl(admin, ['create', 'configmap', 'before-revoke', '-n', 'team-a'])).code).toBe(0);
      await waitFor(() => frankWatch.output().includes('before-revoke') && bobWatch.output().includes('before-revoke'), 15_000, 'watches see the event');

      const started = Date.now();
      const result = await stack.store.revokeUser('frank', started, 'e2e');
      expect(result.revokedCertificates).toBeGreaterThanOrEqual(2);
      await stack.controlPlane.refresh();
      await frankWatch.exited;
      await upgraded.ended;
      const closedAfterMs = Date.now() - started;
      // Functional, not a performance figure (bench/revocation.ts measures that): closed by
      // the drain of the user's filter chain (1 s), not by the 4 h stream backstop.
      expect(closedAfterMs).toBeLessThan(DRAINED_WITHIN_MS);
      process.stderr.write(`revocation closed the watch and the upgraded stream after ${closedAfterMs} ms\n`);

      expect(bobWatch.proc.exitCode).toBeNull();
      expect((await kubectl(admin, ['create', 'configmap', 'after-revoke', '-n', 'team-a'])).code).toBe(0);
      await waitFor(() => bobWatch.output().includes('after-revoke'), 15_000, "bob's watch still receives events");

      const again = await kubectl(frank, ['get', 'configmaps', '-n', 'team-a']);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/revoked|Unauthorized/);
      // A new kubeconfig works: revocation ends credentials, not the user.
      const renewed = await stack.writeKubeconfig({ user: 'frank' });
      expect((await kubectl(renewed, ['get', 'configmaps', '-n', 'team-a'])).code).toBe(0);
    } finally {
      upgraded.close();
      frankWatch.proc.kill('SIGKILL');
      bobWatch.proc.kill('SIGKILL');
    }
  });

  test("losing a group's access closes the user's open watch; disabling a user does too", async () => {
    const alice = await stack.writeKubeconfig({ user: 'alice' });
    const bob = await stack.writeKubeconfig({ user: 'bob' });
    const aliceWatch = startWatch(alice, ['configmaps', '-n', 'team-a']);
    const bobWatch = startWatch(bob, ['configmaps', '-n', 'team-a']);
    try {
      expect((await kubectl(stack.adminKubeconfigPath, ['create', 'configmap', 'before-group-change', '-n', 'team-a'])).code).toBe(0);
      await waitFor(() => aliceWatch.output().includes('before-group-change') && bobWatch.output().includes('before-group-change'), 15_000, 'watches established');
      const started = Date.now();
      await stack.store.setUserGroups('alice', [], started);
      await stack.controlPlane.refresh();
      await aliceWatch.exited;
      expect(Date.now() - started).toBeLessThan(DRAINED_WITHIN_MS);
      expect(bobWatch.proc.exitCode).toBeNull();

      await stack.store.setUserDisabled('bob', true, Date.now());
      await stack.controlPlane.refresh();
      await bobWatch.exited;
      const refused = await asUser('bob', '/clusters/alpha/api/v1/namespaces/team-a/pods');
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body).message).toContain('disabled');
    } finally {
      aliceWatch.proc.kill('SIGKILL');
      bobWatch.proc.kill('SIGKILL');
      await stack.store.setUserGroups('alice', ['dev'], Date.now());
      await stack.store.setUserDisabled('bob', false, Date.now());
      await stack.controlPlane.refresh();
    }
  });
});

describe("the edge's own certificate", () => {
  test('rotates over SDS without restarting Envoy or dropping an open watch', async () => {
    const bob = await stack.writeKubeconfig({ user: 'bob' });
    const watch = startWatch(bob, ['configmaps', '-n', 'team-b']);
    const pid = stack.envoy.pid;
    try {
      const admin = stack.adminKubeconfigPath;
      expect((await kubectl(admin, ['create', 'configmap', 'before-rotation', '-n', 'team-b'])).code).toBe(0);
      await waitFor(() => watch.output().includes('before-rotation'), 15_000, 'watch established');
      const servedBefore = await servedCertificate();
      const rotated = stack.rotateEdgeCertificate();
      const { X509Certificate } = await import('node:crypto');
      const newSerial = new X509Certificate(rotated).serialNumber;
      expect(newSerial).not.toBe(servedBefore);
      await waitFor(async () => (await servedCertificate()) === newSerial, 15_000, 'new handshakes get the new certificate');
      expect(stack.envoy.pid).toBe(pid);
      expect((await kubectl(admin, ['create', 'configmap', 'after-rotation', '-n', 'team-b'])).code).toBe(0);
      await waitFor(() => watch.output().includes('after-rotation'), 15_000, 'the watch opened before rotation still receives events');
      expect(watch.proc.exitCode).toBeNull();
    } finally {
      watch.proc.kill('SIGKILL');
    }
  });
});

/** The serial number of the certificate the edge presents on a new handshake. */
async function servedCertificate(): Promise<string> {
  const tls = await import('node:tls');
  const cert = issueUserCertificate(stack.pki.userCa, { user: 'bob', ttlMs: 60_000, now: new Date() });
  const url = new URL(stack.edgeUrl);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: stack.pki.servingCa.certPem, cert: cert.certPem, key: cert.keyPem, servername: userServerName('bob') }, () => {
      const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
      socket.destroy();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}
