/**
 * A real Kubernetes control plane on loopback: etcd and kube-apiserver from the pinned
 * toolchain, TLS on every hop, RBAC on. No kubelet, scheduler or controller manager: kubegate
 * only talks to the API, and objects are stored and authorized exactly as in a real cluster.
 * Used by end-to-end tests, the dev stack and benchmarks.
 *
 * Each start is a fresh cluster (new PKI, empty etcd); the state directory keeps the logs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createClusterPki, type ClusterPki } from './cluster-pki';
import { LocalClusterConfigError } from './errors';
import { etcdDataDir, startEtcd, ETCD_COMPONENT, type Etcd } from './etcd';
import { assertExecutable } from '../process/executable';
import { assertPortFree, getFreePorts } from '../process/free-port';
import { auditLogPath, startKubeApiserver, KUBE_APISERVER_COMPONENT, KUBERNETES_SERVICE_IP, type KubeApiserver } from './kube-apiserver';
import { runKubectl, type KubectlOptions, type KubectlResult } from './kubectl-runner';
import { writeDirectKubeconfig } from './kubeconfig-file';
import { lockStateDir, type StateDirLock } from './state-dir-lock';
import { createLogger, type Logger } from '../log/logger';
import type { KeyPairPem } from '../pki/certificates';
import { loadToolchain, type Toolchain } from '../toolchain/tools';

export interface LocalClusterPorts {
  /** kube-apiserver's secure port. @default a free port */
  readonly apiserver?: number;
  /** etcd's client port. @default a free port */
  readonly etcdClient?: number;
  /** etcd's peer port (opened by etcd even for one member). @default a free port */
  readonly etcdPeer?: number;
}

export interface LocalClusterTimeouts {
  /** How long etcd may take to report healthy. @default 30000 */
  readonly etcdReadyMs?: number;
  /** How long kube-apiserver may take to pass /readyz. @default 90000 */
  readonly apiserverReadyMs?: number;
  /** How long each process gets after SIGTERM before SIGKILL. @default 15000 */
  readonly stopMs?: number;
}

export interface LocalClusterProps {
  /** The cluster's name: the admin kubeconfig's cluster and context are named after it. */
  readonly name: string;
  /** Directory for PKI, etcd data, kubeconfig and logs; created if missing. One cluster at a time. */
  readonly stateDir: string;
  /** @default loadToolchain() */
  readonly toolchain?: Toolchain;
  /** @default createLogger('local-cluster') */
  readonly logger?: Logger;
  /** Fixed ports; any not given is a free port on 127.0.0.1. @default {} */
  readonly ports?: LocalClusterPorts;
  /** Start of every certificate's validity. @default new Date() */
  readonly now?: Date;
  /** @default see LocalClusterTimeouts */
  readonly timeouts?: LocalClusterTimeouts;
  /** Write kube-apiserver's audit log (metadata of every request) to `auditLogPath`. @default true */
  readonly auditLog?: boolean;
  /** Extra etcd flags, after the harness's own. @default [] */
  readonly extraEtcdArgs?: readonly string[];
  /** Extra kube-apiserver flags, after the harness's own. @default [] */
  readonly extraApiserverArgs?: readonly string[];
}

export interface LocalCluster {
  readonly name: string;
  readonly stateDir: string;
  /** https://127.0.0.1:<port> */
  readonly apiserverUrl: string;
  /** https://127.0.0.1:<port>; only the apiserver's etcd client certificate gets in. */
  readonly etcdUrl: string;
  readonly ports: Required<LocalClusterPorts>;
  /** The CA that signed the apiserver's serving certificate (and every client certificate it accepts). */
  readonly caPem: string;
  /** Client certificate of kubegate:harness-admin in system:masters. */
  readonly adminCredentials: KeyPairPem;
  /** A kubeconfig with embedded credentials for the admin; its context is named `name`. */
  readonly adminKubeconfigPath: string;
  /** etcd.log and kube-apiserver.log (and the audit log) are here. */
  readonly logDir: string;
  /** Where the audit log is written, or undefined when auditLog is off. */
  readonly auditLogPath: string | undefined;
  readonly pids: { readonly etcd: number; readonly apiserver: number };
  /** A client certificate the apiserver accepts as user `commonName` in `groups`. */
  issueClientCertificate(commonName: string, groups: readonly string[]): KeyPairPem;
  /**
   * Runs the toolchain's kubectl as the admin. `input` is either what to write to its stdin
   * (e.g. manifests for `apply -f -`) or the full options.
   */
  kubectl(args: readonly string[], input?: string | KubectlOptions): Promise<KubectlResult>;
  /** Stops kube-apiserver, then etcd. Safe to call more than once. */
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUTS: Required<LocalClusterTimeouts> = { etcdReadyMs: 30_000, apiserverReadyMs: 90_000, stopMs: 15_000 };

function validate(props: LocalClusterProps): void {
  if (!props.name || /\s/.test(props.name)) throw new LocalClusterConfigError(`name must be non-empty without whitespace, got ${JSON.stringify(props.name)}`);
  if (!props.stateDir) throw new LocalClusterConfigError('stateDir must be set');
  const fixed = Object.entries(props.ports ?? {}).filter(([, p]) => p !== undefined) as [string, number][];
  for (const [key, port] of fixed) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LocalClusterConfigError(`ports.${key} must be a TCP port (1-65535), got ${port}`);
  }
  const seen = new Map<number, string>();
  for (const [key, port] of fixed) {
    const other = seen.get(port);
    if (other) throw new LocalClusterConfigError(`ports.${other} and ports.${key} are both ${port}`);
    seen.set(port, key);
  }
}

/** Fixed ports must be free now; the rest are picked free, never colliding with the fixed ones. */
async function choosePorts(requested: LocalClusterPorts): Promise<Required<LocalClusterPorts>> {
  const components: Record<keyof LocalClusterPorts, string> = {
    apiserver: KUBE_APISERVER_COMPONENT,
    etcdClient: `${ETCD_COMPONENT} (client)`,
    etcdPeer: `${ETCD_COMPONENT} (peer)`,
  };
  const keys = Object.keys(components) as (keyof LocalClusterPorts)[];
  const fixed = keys.map((k) => requested[k]).filter((p): p is number => p !== undefined);
  for (const key of keys) {
    const port = requested[key];
    if (port !== undefined) await assertPortFree(port, components[key]);
  }
  const free = await getFreePorts(keys.length - fixed.length, { exclude: fixed });
  const pick = (key: keyof LocalClusterPorts) => requested[key] ?? free.shift()!;
  return { apiserver: pick('apiserver'), etcdClient: pick('etcdClient'), etcdPeer: pick('etcdPeer') };
}

export async function startLocalCluster(props: LocalClusterProps): Promise<LocalCluster> {
  validate(props);
  const toolchain = props.toolchain ?? loadToolchain();
  const logger = props.logger ?? createLogger('local-cluster');
  const timeouts = { ...DEFAULT_TIMEOUTS, ...props.timeouts };
  const audit = props.auditLog ?? true;

  // Cheap checks first, so a broken setup fails before anything is started or written.
  assertExecutable(ETCD_COMPONENT, toolchain.etcd);
  assertExecutable(KUBE_APISERVER_COMPONENT, toolchain.kubeApiserver);
  const ports = await choosePorts(props.ports ?? {});

  const stateDir = path.resolve(props.stateDir);
  const lock = lockStateDir(stateDir);
  let etcd: Etcd | undefined;
  let apiserver: KubeApiserver | undefined;
  try {
    const logDir = path.join(stateDir, 'logs');
    fs.mkdirSync(logDir, { recursive: true });
    // A fresh cluster each time: the PKI is new, and old objects in etcd would reference it.
    fs.rmSync(etcdDataDir(stateDir), { recursive: true, force: true });
    const pki: ClusterPki = createClusterPki({ dir: path.join(stateDir, 'pki'), now: props.now ?? new Date(), serviceIp: KUBERNETES_SERVICE_IP });
    logger.info('starting local cluster', { cluster: props.name, stateDir, ports });

    etcd = await startEtcd({
      binary: toolchain.etcd,
      stateDir,
      logDir,
      clientPort: ports.etcdClient,
      peerPort: ports.etcdPeer,
      pki,
      logger: logger.child(ETCD_COMPONENT),
      readyTimeoutMs: timeouts.etcdReadyMs,
      stopTimeoutMs: timeouts.stopMs,
      extraArgs: props.extraEtcdArgs,
    });
    apiserver = await startKubeApiserver({
      binary: toolchain.kubeApiserver,
      stateDir,
      logDir,
      port: ports.apiserver,
      etcdUrl: etcd.url,
      pki,
      logger: logger.child(KUBE_APISERVER_COMPONENT),
      readyTimeoutMs: timeouts.apiserverReadyMs,
      stopTimeoutMs: timeouts.stopMs,
      audit,
      extraArgs: props.extraApiserverArgs,
    });

    const adminKubeconfigPath = path.join(stateDir, 'admin.kubeconfig');
    writeDirectKubeconfig(adminKubeconfigPath, {
      name: props.name,
      serverUrl: apiserver.url,
      caPem: pki.clusterCa.certPem,
      clientCertPem: pki.admin.certPem,
      clientKeyPem: pki.admin.keyPem,
    });
    logger.info('local cluster ready', { cluster: props.name, apiserverUrl: apiserver.url, adminKubeconfigPath });
    return buildCluster({ props, stateDir, logDir, ports, pki, etcd, apiserver, lock, toolchain, logger, adminKubeconfigPath, audit });
  } catch (err) {
    // Leave nothing running behind a failed start. Each start* already stops its own process
    // when it fails; the ones before it are stopped here.
    await apiserver?.process.stop();
    await etcd?.process.stop();
    lock.release();
    logger.error('local cluster failed to start', { cluster: props.name, error: err });
    throw err;
  }
}

interface ClusterParts {
  readonly props: LocalClusterProps;
  readonly stateDir: string;
  readonly logDir: string;
  readonly ports: Required<LocalClusterPorts>;
  readonly pki: ClusterPki;
  readonly etcd: Etcd;
  readonly apiserver: KubeApiserver;
  readonly lock: StateDirLock;
  readonly toolchain: Toolchain;
  readonly logger: Logger;
  readonly adminKubeconfigPath: string;
  readonly audit: boolean;
}

function buildCluster(parts: ClusterParts): LocalCluster {
  const { etcd, apiserver, pki, logger } = parts;
  const cluster = parts.props.name;
  let stopping: Promise<void> | undefined;
  const stop = async () => {
    logger.info('stopping local cluster', { cluster });
    // The apiserver first: it writes to etcd while shutting down, and waits long for an etcd
    // that is already gone.
    try {
      await apiserver.process.stop();
    } finally {
      await etcd.process.stop();
      parts.lock.release();
    }
    logger.info('local cluster stopped', { cluster });
  };
  return {
    name: parts.props.name,
    stateDir: parts.stateDir,
    apiserverUrl: apiserver.url,
    etcdUrl: etcd.url,
    ports: parts.ports,
    caPem: pki.clusterCa.certPem,
    adminCredentials: { certPem: pki.admin.certPem, keyPem: pki.admin.keyPem },
    adminKubeconfigPath: parts.adminKubeconfigPath,
    logDir: parts.logDir,
    auditLogPath: parts.audit ? auditLogPath(parts.logDir) : undefined,
    pids: { etcd: etcd.process.pid!, apiserver: apiserver.process.pid! },
    issueClientCertificate: (commonName, groups) => pki.issueClientCertificate(commonName, groups),
    kubectl: (args, input) => runKubectl(parts.toolchain.kubectl, parts.adminKubeconfigPath, args, typeof input === 'string' ? { input } : input),
    stop: () => (stopping ??= stop()),
  };
}
