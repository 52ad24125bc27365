/**
 * The local cluster harness against the real toolchain: a real etcd and kube-apiserver on
 * loopback, driven over real mutual TLS and with the real kubectl.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../control-plane/pki/certificates';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import type { LocalClusterProps } from '../../dev/local-cluster/local-cluster-props';
import {
  BinaryMissingError,
  LocalClusterConfigError,
  PortInUseError,
  ProcessExitedError,
  ReadinessTimeoutError,
  StateDirInUseError,
} from '../../dev/local-cluster/errors';
import { assertPortFree, getFreePorts } from '../../dev/process/free-port';
import { httpsGet } from '../../dev/process/https-probe';
import { runKubectl } from '../../dev/local-cluster/kubectl-runner';
import { silentLogger } from '../../control-plane/log/logger';
import { loadToolchain, type Toolchain } from '../../dev/toolchain/tools';
import { isRunning, runningProcessesMentioning, waitUntil } from '../support/process-table';

jest.setTimeout(120_000);

const tempDirs: string[] = [];
function tempStateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-local-cluster-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

let toolchain: Toolchain;
beforeAll(() => {
  toolchain = loadToolchain();
});

function start(overrides: Partial<LocalClusterProps> = {}): Promise<LocalCluster> {
  return startLocalCluster({ name: 'test', stateDir: tempStateDir(), toolchain, logger: silentLogger, ...overrides });
}

/** Runs `fn`, expecting it to reject, and returns what it rejected with. */
async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but it resolved');
}

describe('a running local cluster', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await start({ name: 'alpha' });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  const admin = () => ({ caPem: cluster.caPem, ...cluster.adminCredentials });

  test('serves /readyz over TLS to the admin client certificate', async () => {
    expect(cluster.apiserverUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpsGet(`${cluster.apiserverUrl}/readyz`, admin());
    expect(res).toEqual({ status: 200, body: 'ok' });
  });

  test('runs the pinned Kubernetes version', async () => {
    const res = await httpsGet(`${cluster.apiserverUrl}/version`, admin());
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as { gitVersion: string }).gitVersion).toBe(`v${toolchain.versions.kubernetes}`);
  });

  test('the real kubectl with the admin kubeconfig lists the built-in namespaces', async () => {
    const direct = await runKubectl(toolchain.kubectl, cluster.adminKubeconfigPath, ['get', 'namespaces', '-o', 'json']);
    expect(direct.stderr).toBe('');
    expect(direct.code).toBe(0);
    const names = (JSON.parse(direct.stdout) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system']));

    const context = await cluster.kubectl(['config', 'current-context']);
    expect(context.stdout.trim()).toBe('alpha');
  });

  test('the admin kubeconfig is self-contained and readable only by its owner', () => {
    const text = fs.readFileSync(cluster.adminKubeconfigPath, 'utf8');
    expect(text).toContain('client-key-data');
    expect(text).not.toContain(cluster.stateDir);
    expect(fs.statSync(cluster.adminKubeconfigPath).mode & 0o077).toBe(0);
  });

  test('kubectl() passes a string as stdin, so manifests can be applied', async () => {
    const manifest = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: from-stdin\n';
    const applied = await cluster.kubectl(['apply', '-f', '-'], manifest);
    expect(applied).toMatchObject({ code: 0, stdout: 'namespace/from-stdin created\n' });
    const got = await cluster.kubectl(['get', 'namespace', 'from-stdin', '-o', 'jsonpath={.status.phase}']);
    expect(got.stdout).toBe('Active');
  });

  test('a certificate from issueClientCertificate authenticates as that user, and RBAC forbids what it was not granted', async () => {
    const bob = cluster.issueClientCertificate('bob', []);
    const res = await httpsGet(`${cluster.apiserverUrl}/api/v1/namespaces`, { caPem: cluster.caPem, ...bob });
    expect(res.status).toBe(403);
    const status = JSON.parse(res.body) as { reason: string; message: string };
    expect(status.reason).toBe('Forbidden');
    expect(status.message).toContain('User "bob" cannot list resource "namespaces"');
  });

  test('groups of an issued certificate are honoured', async () => {
    const carol = cluster.issueClientCertificate('carol', ['system:masters']);
    const res = await httpsGet(`${cluster.apiserverUrl}/api/v1/namespaces`, { caPem: cluster.caPem, ...carol });
    expect(res.status).toBe(200);
  });

  test('a client certificate from another CA is not accepted', async () => {
    const now = new Date();
    const otherCa = createCertificateAuthority({ commonName: 'someone-else', notBefore: now, notAfter: new Date(now.getTime() + 3_600_000) });
    const mallory = issueCertificate(otherCa, { commonName: 'mallory', organizations: ['system:masters'], usage: 'client', notBefore: now, notAfter: new Date(now.getTime() + 3_600_000) });
    const res = await httpsGet(`${cluster.apiserverUrl}/api/v1/namespaces`, { caPem: cluster.caPem, ...mallory });
    expect(res.status).toBe(401);
  });

  test('etcd speaks only mutual TLS, and only to certificates from the etcd CA', async () => {
    const pki = path.join(cluster.stateDir, 'pki');
    const read = (f: string) => fs.readFileSync(path.join(pki, f), 'utf8');
    const etcdCaPem = read('etcd/ca.crt');
    const apiserverClient = { caPem: etcdCaPem, certPem: read('apiserver-etcd-client.crt'), keyPem: read('apiserver-etcd-client.key') };
    const healthy = await httpsGet(`${cluster.etcdUrl}/health`, apiserverClient);
    expect(JSON.parse(healthy.body)).toMatchObject({ health: 'true' });

    // The cluster admin is trusted by the apiserver, not by etcd.
    await expect(httpsGet(`${cluster.etcdUrl}/health`, { caPem: etcdCaPem, ...cluster.adminCredentials })).rejects.toThrow();
    // Plain HTTP gets a refusal (or a 400 telling it to use TLS), never the health answer.
    const plain = await fetch(`http://127.0.0.1:${cluster.ports.etcdClient}/health`).then(
      (r) => r.text(),
      (e: Error) => e.message,
    );
    expect(plain).not.toContain('"health"');
  });

  test('the audit log records who the apiserver saw', async () => {
    const dave = cluster.issueClientCertificate('dave', ['team-a']);
    await httpsGet(`${cluster.apiserverUrl}/api/v1/namespaces/default/pods`, { caPem: cluster.caPem, ...dave });
    const logFile = cluster.auditLogPath!;
    type AuditEvent = { user: { username: string; groups: string[] }; requestURI: string; responseStatus: { code: number } };
    const daveEvents = () =>
      fs.existsSync(logFile)
        ? fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent).filter((e) => e.user.username === 'dave')
        : [];
    expect(await waitUntil(() => daveEvents().length > 0, 10_000)).toBe(true);
    expect(daveEvents()[0]).toMatchObject({ requestURI: '/api/v1/namespaces/default/pods', responseStatus: { code: 403 } });
    expect(daveEvents()[0]!.user.groups).toContain('team-a');
  });

  test('a second cluster in the same state directory is refused, and the running one is untouched', async () => {
    const err = await rejection(() => startLocalCluster({ name: 'beta', stateDir: cluster.stateDir, toolchain, logger: silentLogger }));
    expect(err).toBeInstanceOf(StateDirInUseError);
    expect(err).toMatchObject({ code: 'ERR_STATE_DIR_IN_USE', ownerPid: process.pid });
    const still = await cluster.kubectl(['get', 'namespace', 'from-stdin', '-o', 'name']);
    expect(still.stdout.trim()).toBe('namespace/from-stdin');
  });

  // Last: it ends the cluster the tests above share.
  test('stop() ends etcd and kube-apiserver, frees their ports, and may be called again', async () => {
    const { pids, ports } = cluster;
    expect(isRunning(pids.etcd)).toBe(true);
    expect(isRunning(pids.apiserver)).toBe(true);
    await cluster.stop();
    expect(isRunning(pids.apiserver)).toBe(false);
    expect(isRunning(pids.etcd)).toBe(false);
    await assertPortFree(ports.apiserver, 'test');
    await assertPortFree(ports.etcdClient, 'test');
    await assertPortFree(ports.etcdPeer, 'test');
    await expect(cluster.stop()).resolves.toBeUndefined();
    expect(fs.existsSync(path.join(cluster.stateDir, 'local-cluster.lock'))).toBe(false);
  });
});

describe('starting fails clearly and leaves nothing behind', () => {
  /** No process of the failed start may still run, and the state dir must be unlocked. */
  function expectNothingLeft(stateDir: string): void {
    expect(runningProcessesMentioning(stateDir)).toEqual([]);
    expect(fs.existsSync(path.join(stateDir, 'local-cluster.lock'))).toBe(false);
  }

  test('PortInUseError when the requested apiserver port is taken', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const stateDir = tempStateDir();
    try {
      const err = await rejection(() => start({ stateDir, ports: { apiserver: port } }));
      expect(err).toBeInstanceOf(PortInUseError);
      expect(err).toMatchObject({ code: 'ERR_PORT_IN_USE', port, component: 'kube-apiserver' });
      expect((err as Error).message).toContain(`127.0.0.1:${port}`);
      // The port check comes before anything is started or written.
      expect(fs.existsSync(path.join(stateDir, 'logs'))).toBe(false);
      expectNothingLeft(stateDir);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('BinaryMissingError when the toolchain points at a missing kube-apiserver', async () => {
    const stateDir = tempStateDir();
    const bogus = path.join(stateDir, 'no-such-kube-apiserver');
    const err = await rejection(() => start({ stateDir, toolchain: { ...toolchain, kubeApiserver: bogus } }));
    expect(err).toBeInstanceOf(BinaryMissingError);
    expect(err).toMatchObject({ code: 'ERR_BINARY_MISSING', path: bogus, component: 'kube-apiserver' });
    expect((err as Error).message).toContain('toolchain/install.sh');
    expect(fs.existsSync(path.join(stateDir, 'logs'))).toBe(false);
  });

  test('BinaryMissingError when the etcd binary is not executable', async () => {
    const stateDir = tempStateDir();
    const notExecutable = path.join(stateDir, 'etcd');
    fs.writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    const err = await rejection(() => start({ stateDir, toolchain: { ...toolchain, etcd: notExecutable } }));
    expect(err).toBeInstanceOf(BinaryMissingError);
    expect((err as Error).message).toContain(`etcd binary ${notExecutable} is not executable`);
  });

  test('ProcessExitedError with the log tail when kube-apiserver exits during startup; etcd is stopped', async () => {
    const stateDir = tempStateDir();
    const [etcdClient, etcdPeer] = await getFreePorts(2);
    const err = await rejection(() => start({ stateDir, ports: { etcdClient, etcdPeer }, extraApiserverArgs: ['--no-such-flag'] }));
    expect(err).toBeInstanceOf(ProcessExitedError);
    const exited = err as ProcessExitedError;
    expect(exited).toMatchObject({ code: 'ERR_PROCESS_EXITED', component: 'kube-apiserver', exitCode: 1, signal: null });
    expect(exited.logFile).toBe(path.join(stateDir, 'logs', 'kube-apiserver.log'));
    expect(exited.logTail).toContain('unknown flag: --no-such-flag');
    expect(exited.message).toContain('unknown flag: --no-such-flag');
    expectNothingLeft(stateDir);
    await assertPortFree(etcdClient!, 'test');
    await assertPortFree(etcdPeer!, 'test');
  });

  test('ProcessExitedError when etcd exits during startup', async () => {
    const stateDir = tempStateDir();
    const err = await rejection(() => start({ stateDir, extraEtcdArgs: ['--no-such-flag'] }));
    expect(err).toBeInstanceOf(ProcessExitedError);
    expect(err).toMatchObject({ component: 'etcd', logFile: path.join(stateDir, 'logs', 'etcd.log') });
    expect((err as ProcessExitedError).exitCode).not.toBe(0);
    expect((err as ProcessExitedError).logTail).toContain('no-such-flag');
    // kube-apiserver was never started.
    expect(fs.existsSync(path.join(stateDir, 'logs', 'kube-apiserver.log'))).toBe(false);
    expectNothingLeft(stateDir);
  });

  test('ReadinessTimeoutError when kube-apiserver is not ready in time; both processes are stopped', async () => {
    const stateDir = tempStateDir();
    // A lock left by a process that is gone (a crashed run) must not block the start.
    fs.writeFileSync(path.join(stateDir, 'local-cluster.lock'), '2147483646\n');
    const err = await rejection(() => start({ stateDir, timeouts: { apiserverReadyMs: 1 } }));
    expect(err).toBeInstanceOf(ReadinessTimeoutError);
    const timeout = err as ReadinessTimeoutError;
    expect(timeout).toMatchObject({ code: 'ERR_READINESS_TIMEOUT', component: 'kube-apiserver', timeoutMs: 1 });
    expect(timeout.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/readyz$/);
    expect(timeout.message).toContain(timeout.logFile);
    expectNothingLeft(stateDir);
  });

  test('LocalClusterConfigError for props that cannot work', async () => {
    await expect(start({ name: '' })).rejects.toBeInstanceOf(LocalClusterConfigError);
    await expect(start({ ports: { apiserver: 70000 } })).rejects.toThrow('ports.apiserver must be a TCP port (1-65535), got 70000');
    await expect(start({ ports: { apiserver: 40001, etcdClient: 40001 } })).rejects.toThrow('ports.apiserver and ports.etcdClient are both 40001');
  });
});
