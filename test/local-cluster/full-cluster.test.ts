/**
 * A 'full' local cluster against the real toolchain: etcd, kube-apiserver, kube-scheduler,
 * kube-controller-manager and a kwok node. Controllers and the scheduler do real work
 * (ReplicaSets, Pods bound to the node, ServiceAccounts, kube-root-ca.crt), and exec, logs,
 * attach and port-forward go kubectl -> apiserver -> kwok's kubelet API and do real things on
 * this machine. Straight to the apiserver with the admin kubeconfig.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster/local-cluster';
import { LocalClusterConfigError } from '../../dev/local-cluster/errors';
import { httpsGet } from '../../dev/process/https-probe';
import { assertPortFree } from '../../dev/process/free-port';
import { silentLogger } from '../../control-plane/log/logger';
import { loadToolchain, type Toolchain } from '../../dev/toolchain/tools';
import { isRunning, runningProcessesMentioning } from '../support/process-table';
import { eventually, streamCommand, type Streaming } from '../support/streaming-command';

jest.setTimeout(180_000);

const NS = 'team-a';
const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-full-cluster-'));
  tempDirs.push(dir);
  return dir;
}

/** A TCP server on loopback that answers every chunk with `pong:<chunk>`: the port-forward target. */
function startPongServer(): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('data', (d) => socket.write(`pong:${d.toString()}`));
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const streams: Streaming[] = [];
function streamKubectl(kubectl: string, kubeconfig: string, args: readonly string[]): Streaming {
  const s = streamCommand(kubectl, ['--kubeconfig', kubeconfig, ...args]);
  streams.push(s);
  return s;
}

afterAll(async () => {
  await Promise.all(streams.map((s) => s.stop()));
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

let toolchain: Toolchain;
beforeAll(() => {
  toolchain = loadToolchain();
});

describe('a full local cluster', () => {
  let cluster: LocalCluster;
  let pong: net.Server;
  let podName: string;

  beforeAll(async () => {
    pong = await startPongServer();
    cluster = await startLocalCluster({
      name: 'full',
      stateDir: tempDir(),
      toolchain,
      logger: silentLogger,
      controlPlane: 'full',
      nodes: 1,
      podIo: { portForwardTarget: (pong.address() as net.AddressInfo).port },
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    await new Promise((resolve) => pong?.close(resolve));
  });

  const admin = () => ({ caPem: cluster.caPem, ...cluster.adminCredentials });
  const kubectl = async (args: readonly string[], input?: string) => {
    const r = await cluster.kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  test('kube-scheduler, kube-controller-manager and kwok answer /healthz over TLS with certificates from the cluster CA', async () => {
    const { kubeScheduler, kubeControllerManager, kwok } = cluster.ports;
    for (const port of [kubeScheduler, kubeControllerManager, kwok]) {
      expect(port).toEqual(expect.any(Number));
      expect(await httpsGet(`https://127.0.0.1:${port!}/healthz`, admin())).toEqual({ status: 200, body: 'ok' });
    }
    expect(cluster.kwok!.url).toBe(`https://127.0.0.1:${kwok!}`);
    expect(cluster.pids).toEqual({ etcd: expect.any(Number), apiserver: expect.any(Number), kubeScheduler: expect.any(Number), kubeControllerManager: expect.any(Number), kwok: expect.any(Number) });
  });

  test('the kwok node is Ready, schedulable, and points the apiserver at kwok\'s kubelet API', async () => {
    expect(cluster.nodeNames).toEqual(['kwok-node-0']);
    type Node = {
      spec: { taints?: unknown[] };
      status: { conditions: { type: string; status: string }[]; addresses: { type: string; address: string }[]; daemonEndpoints: { kubeletEndpoint: { Port: number } }; nodeInfo: { kubeletVersion: string } };
    };
    const node = JSON.parse(await kubectl(['get', 'node', 'kwok-node-0', '-o', 'json'])) as Node;
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.spec.taints ?? []).toEqual([]);
    expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    expect(node.status.daemonEndpoints.kubeletEndpoint.Port).toBe(cluster.ports.kwok);
    expect(node.status.nodeInfo.kubeletVersion).toBe(`kwok-${toolchain.versions.kwok}`);
    // kwok renews the node's lease, which is what keeps the node lifecycle controller content.
    const lease = JSON.parse(await kubectl(['get', 'lease', 'kwok-node-0', '-n', 'kube-node-lease', '-o', 'json'])) as { spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string } };
    expect(lease.spec).toMatchObject({ holderIdentity: expect.any(String), leaseDurationSeconds: 40, renewTime: expect.any(String) });
  });

  test('a new namespace gets its default ServiceAccount and the kube-root-ca.crt ConfigMap with the cluster CA', async () => {
    await kubectl(['create', 'namespace', NS]);
    const sa = await eventually('ServiceAccount default', async () => {
      const r = await cluster.kubectl(['get', 'serviceaccount', 'default', '-n', NS, '-o', 'jsonpath={.metadata.name}']);
      return r.code === 0 ? r.stdout : undefined;
    });
    expect(sa).toBe('default');
    const ca = await eventually('ConfigMap kube-root-ca.crt', async () => {
      const r = await cluster.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', NS, '-o', 'jsonpath={.data.ca\\.crt}']);
      return r.code === 0 && r.stdout ? r.stdout : undefined;
    });
    expect(ca.trim()).toBe(cluster.caPem.trim());
  });

  test('a Deployment gets a ReplicaSet whose Pods are scheduled onto the kwok node and Running', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: NS },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1', ports: [{ containerPort: 8080 }] }] } },
      },
    };
    expect(await kubectl(['apply', '-f', '-'], JSON.stringify(deployment))).toBe('deployment.apps/web created\n');
    expect(await kubectl(['wait', '--for=condition=Available', 'deployment/web', '-n', NS, '--timeout=90s'])).toContain('condition met');

    type Owner = { kind: string; name: string };
    const rs = JSON.parse(await kubectl(['get', 'replicasets', '-n', NS, '-l', 'app=web', '-o', 'json'])) as { items: { metadata: { name: string; ownerReferences: Owner[] } }[] };
    expect(rs.items).toHaveLength(1);
    expect(rs.items[0]!.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Deployment', name: 'web' })]);

    type Pod = { metadata: { name: string; ownerReferences: Owner[] }; spec: { nodeName: string; serviceAccountName: string }; status: { phase: string; podIP: string; hostIP: string } };
    const pods = JSON.parse(await kubectl(['get', 'pods', '-n', NS, '-l', 'app=web', '-o', 'json'])) as { items: Pod[] };
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items) {
      expect(pod.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ReplicaSet', name: rs.items[0]!.metadata.name })]);
      expect(pod.spec.nodeName).toBe('kwok-node-0');
      expect(pod.spec.serviceAccountName).toBe('default');
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
      expect(pod.status.hostIP).toBe('127.0.0.1');
    }
    // The scheduler bound them: its binding shows up as the Scheduled event.
    const events = await kubectl(['get', 'events', '-n', NS, '--field-selector', `involvedObject.name=${pods.items[0]!.metadata.name},reason=Scheduled`, '-o', 'jsonpath={.items[*].message}']);
    expect(events).toContain('to kwok-node-0');
    podName = pods.items[0]!.metadata.name;
  });

  test('kubectl exec runs the command on this machine, in the exec work directory', async () => {
    expect(await kubectl(['exec', '-n', NS, podName, '--', 'echo', 'hello'])).toBe('hello\n');
    const marker = crypto.randomUUID();
    fs.writeFileSync(path.join(cluster.kwok!.execWorkDir, 'marker.txt'), marker);
    expect(await kubectl(['exec', '-n', NS, podName, '-c', 'web', '--', 'cat', 'marker.txt'])).toBe(marker);
    // stdin reaches the command too. (kwok never closes the command's stdin, so the command
    // must stop reading by itself: `head -n 1`, not `cat`.)
    const r = await cluster.kubectl(['exec', '-i', '-n', NS, podName, '--', 'head', '-n', '1'], 'from stdin\nnot read\n');
    expect(r).toMatchObject({ code: 0, stdout: 'from stdin\n' });
  });

  test('kubectl logs serves the containers\' log file', async () => {
    cluster.kwok!.appendContainerLog('first line\nsecond line');
    expect(await kubectl(['logs', '-n', NS, podName])).toBe('first line\nsecond line\n');
    expect(await kubectl(['logs', '-n', NS, podName, '--tail=1'])).toBe('second line\n');
  });

  test('kubectl attach follows the log file from where it is', async () => {
    const attach = streamKubectl(toolchain.kubectl, cluster.adminKubeconfigPath, ['attach', '-n', NS, podName]);
    // attach starts at the file's end, so keep appending until a line written after it
    // started comes through.
    const line = `attached ${crypto.randomUUID()}`;
    const appender = setInterval(() => cluster.kwok!.appendContainerLog(line), 300);
    try {
      await attach.waitFor(new RegExp(line));
    } finally {
      clearInterval(appender);
      await attach.stop();
    }
    expect(attach.output()).not.toContain('first line');
  });

  test('kubectl port-forward to a pod port reaches the local port behind it', async () => {
    const forward = streamKubectl(toolchain.kubectl, cluster.adminKubeconfigPath, ['port-forward', '-n', NS, `pod/${podName}`, ':8080']);
    try {
      const [, localPort] = await forward.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/);
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(localPort), '127.0.0.1', () => socket.write('ping'));
        socket.once('data', (d) => {
          resolve(d.toString());
          socket.destroy();
        });
        socket.once('error', reject);
      });
      expect(reply).toBe('pong:ping');
    } finally {
      await forward.stop();
    }
  });

  test('deleting the Deployment takes its Pods away (garbage collector, kwok finishing their termination)', async () => {
    await kubectl(['delete', 'deployment', 'web', '-n', NS]);
    const left = await eventually('pods of web gone', async () => {
      const out = await kubectl(['get', 'pods', '-n', NS, '-l', 'app=web', '-o', 'name']);
      return out === '' ? out : undefined;
    });
    expect(left).toBe('');
  });

  // Last: it ends the cluster the tests above share.
  test('stop() ends every process of the cluster and frees its ports', async () => {
    const { pids, ports, stateDir } = cluster;
    const all = [pids.etcd, pids.apiserver, pids.kubeScheduler!, pids.kubeControllerManager!, pids.kwok!];
    for (const pid of all) expect(isRunning(pid)).toBe(true);
    await cluster.stop();
    for (const pid of all) expect(isRunning(pid)).toBe(false);
    expect(runningProcessesMentioning(stateDir)).toEqual([]);
    for (const port of [ports.apiserver, ports.etcdClient, ports.etcdPeer, ports.kubeScheduler!, ports.kubeControllerManager!, ports.kwok!]) {
      await assertPortFree(port, 'test');
    }
    expect(fs.existsSync(path.join(stateDir, 'local-cluster.lock'))).toBe(false);
  });
});

describe('full-cluster options are checked before anything starts', () => {
  test.each([
    [{ nodes: 1 }, /nodes needs controlPlane 'full'/],
    [{ controlPlane: 'full' as const, nodes: -1 }, /nodes must be an integer from 0 to 100, got -1/],
    [{ ports: { kwok: 40000 } }, /ports\.kwok needs controlPlane 'full'/],
    [{ controlPlane: 'full' as const, nodes: 0, podIo: { logsFile: '/tmp/x.log' } }, /podIo, extraKwokArgs and ports\.kwok need kwok nodes/],
    [{ controlPlane: 'full' as const, podIo: { portForwardTarget: 70000 } }, /podIo\.portForwardTarget must be a TCP port \(1-65535\), got 70000/],
  ])('%j is refused', async (overrides, message) => {
    const stateDir = path.join(os.tmpdir(), `kubegate-full-cluster-never-${crypto.randomUUID()}`);
    const start = startLocalCluster({ name: 'x', stateDir, toolchain, logger: silentLogger, ...overrides });
    await expect(start).rejects.toThrow(LocalClusterConfigError);
    await expect(start).rejects.toThrow(message);
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});
