/**
 * A real Kubernetes control plane on loopback: etcd and kube-apiserver from the pinned
 * toolchain, TLS on every hop, RBAC on. Used by end-to-end tests, the dev stack and benchmarks.
 *
 * By default ('apiserver-only') there is no scheduler, controller manager or kubelet: kubegate
 * only talks to the API, and objects are stored and authorized exactly as in a real cluster.
 * With `controlPlane: 'full'` the cluster also runs kube-scheduler and kube-controller-manager
 * and kwok playing `nodes` nodes, so Deployments get ReplicaSets and Running Pods, namespaces
 * get their `default` ServiceAccount and kube-root-ca.crt, and `kubectl exec`, `logs`,
 * `attach` and `port-forward` reach kwok's kubelet API through the apiserver (kwok.ts).
 *
 * Each start is a fresh cluster (new PKI, empty etcd); the state directory keeps the logs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createClusterPki, type ClusterPki } from './cluster-pki';
import { createControlPlanePki, KUBE_CONTROLLER_MANAGER_USER, KUBE_SCHEDULER_USER, KWOK_USER, type ControlPlanePki } from './control-plane-pki';
import { LocalClusterConfigError } from './errors';
import { etcdDataDir, startEtcd, ETCD_COMPONENT, type Etcd } from './etcd';
import { assertExecutable } from '../process/executable';
import { assertPortFree, getFreePorts } from '../process/free-port';
import { auditLogPath, startKubeApiserver, KUBE_APISERVER_COMPONENT, KUBERNETES_SERVICE_IP, type KubeApiserver } from './kube-apiserver';
import { startKubeScheduler, KUBE_SCHEDULER_COMPONENT, type KubeScheduler } from './kube-scheduler';
import { startKubeControllerManager, KUBE_CONTROLLER_MANAGER_COMPONENT, type KubeControllerManager } from './kube-controller-manager';
import { kwokNodeNames, startKwok, KWOK_COMPONENT, type Kwok, type KwokInfo, type KwokPodIoProps } from './kwok';
import { HOST_PLACEMENT, placedGet, type ProcessPlacement } from '../process/process-placement';
import { waitForReady } from '../process/wait-for-ready';
import { runKubectl, type KubectlOptions, type KubectlResult } from './kubectl-runner';
import { writeDirectKubeconfig } from './kubeconfig-file';
import { lockStateDir, type StateDirLock } from './state-dir-lock';
import { createLogger, type Logger } from '../../control-plane/log/logger';
import type { KeyPairPem } from '../../control-plane/pki/certificates';
import { loadToolchain, type Toolchain } from '../toolchain/tools';

export interface LocalClusterPorts {
  /** kube-apiserver's secure port. @default a free port */
  readonly apiserver?: number;
  /** etcd's client port. @default a free port */
  readonly etcdClient?: number;
  /** etcd's peer port (opened by etcd even for one member). @default a free port */
  readonly etcdPeer?: number;
  /** kube-scheduler's secure port; only with controlPlane 'full'. @default a free port */
  readonly kubeScheduler?: number;
  /** kube-controller-manager's secure port; only with controlPlane 'full'. @default a free port */
  readonly kubeControllerManager?: number;
  /** kwok's kubelet API (every node's kubelet port); only with controlPlane 'full' and nodes. @default a free port */
  readonly kwok?: number;
}

/** The ports a running cluster uses; those of components it does not run are undefined. */
export type LocalClusterPortsInUse = Required<Pick<LocalClusterPorts, 'apiserver' | 'etcdClient' | 'etcdPeer'>> &
  Pick<LocalClusterPorts, 'kubeScheduler' | 'kubeControllerManager' | 'kwok'>;

/**
 * 'apiserver-only': etcd and kube-apiserver; nothing reconciles objects (no ServiceAccounts,
 * a Deployment never gets Pods). 'full': also kube-scheduler, kube-controller-manager and kwok.
 */
export type LocalClusterControlPlane = 'apiserver-only' | 'full';

export interface LocalClusterTimeouts {
  /** How long etcd may take to report healthy. @default 30000 */
  readonly etcdReadyMs?: number;
  /** How long kube-apiserver may take to pass /readyz. @default 90000 */
  readonly apiserverReadyMs?: number;
  /** How long each process gets after SIGTERM before SIGKILL. @default 15000 */
  readonly stopMs?: number;
  /**
   * 'full' only: how long kube-scheduler, kube-controller-manager and kwok may take to pass
   * /healthz, and the controller manager to create the `default` ServiceAccount. @default 60000
   */
  readonly controlPlaneReadyMs?: number;
  /** 'full' only: how long the kwok nodes may take to become Ready and schedulable. @default 60000 */
  readonly nodesReadyMs?: number;
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
  /**
   * Where the cluster's processes run and are probed from: the host, or a firewalled site
   * (dev/netns) standing in for a cluster behind a firewall. @default HOST_PLACEMENT
   */
  readonly placement?: ProcessPlacement;
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
  /**
   * Which components run: 'apiserver-only' (etcd, kube-apiserver) or 'full' (also
   * kube-scheduler, kube-controller-manager, and kwok playing `nodes` nodes).
   * @default 'apiserver-only'
   */
  readonly controlPlane?: LocalClusterControlPlane;
  /**
   * How many nodes kwok plays in a 'full' cluster, named kwok-node-0, kwok-node-1, ...; 0 runs
   * no kwok (nothing runs pods). Setting it needs controlPlane 'full'.
   * @default 1 with controlPlane 'full'
   */
  readonly nodes?: number;
  /** What exec, logs, attach and port-forward do for pods on kwok nodes. @default see KwokPodIoProps */
  readonly podIo?: KwokPodIoProps;
  /** Extra kube-scheduler flags, after the harness's own. @default [] */
  readonly extraSchedulerArgs?: readonly string[];
  /** Extra kube-controller-manager flags, after the harness's own. @default [] */
  readonly extraControllerManagerArgs?: readonly string[];
  /** Extra kwok flags, after the harness's own. @default [] */
  readonly extraKwokArgs?: readonly string[];
}

export interface LocalCluster {
  readonly name: string;
  readonly stateDir: string;
  /** https://127.0.0.1:<port> */
  readonly apiserverUrl: string;
  /** https://127.0.0.1:<port>; only the apiserver's etcd client certificate gets in. */
  readonly etcdUrl: string;
  readonly ports: LocalClusterPortsInUse;
  readonly controlPlane: LocalClusterControlPlane;
  /** The kwok nodes' names; empty unless the cluster is 'full' with nodes. */
  readonly nodeNames: readonly string[];
  /** kwok's kubelet API and what is behind exec, logs and port-forward; undefined without kwok nodes. */
  readonly kwok: KwokInfo | undefined;
  /** The CA that signed the apiserver's serving certificate (and every client certificate it accepts). */
  readonly caPem: string;
  /** Client certificate of kubegate:harness-admin in system:masters. */
  readonly adminCredentials: KeyPairPem;
  /** A kubeconfig with embedded credentials for the admin; its context is named `name`. */
  readonly adminKubeconfigPath: string;
  /** etcd.log and kube-apiserver.log (and the audit log; kube-scheduler.log, kube-controller-manager.log, kwok.log) are here. */
  readonly logDir: string;
  /** Where the audit log is written, or undefined when auditLog is off. */
  readonly auditLogPath: string | undefined;
  readonly pids: {
    readonly etcd: number;
    readonly apiserver: number;
    readonly kubeScheduler?: number;
    readonly kubeControllerManager?: number;
    readonly kwok?: number;
  };
  /** A client certificate the apiserver accepts as user `commonName` in `groups`. */
  issueClientCertificate(commonName: string, groups: readonly string[]): KeyPairPem;
  /**
   * Runs the toolchain's kubectl as the admin. `input` is either what to write to its stdin
   * (e.g. manifests for `apply -f -`) or the full options.
   */
  kubectl(args: readonly string[], input?: string | KubectlOptions): Promise<KubectlResult>;
  /** Stops kwok, kube-controller-manager and kube-scheduler, then kube-apiserver, then etcd. Safe to call more than once. */
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUTS: Required<LocalClusterTimeouts> = {
  etcdReadyMs: 30_000,
  apiserverReadyMs: 90_000,
  stopMs: 15_000,
  controlPlaneReadyMs: 60_000,
  nodesReadyMs: 60_000,
};
const MAX_NODES = 100;
const FULL_ONLY_PORTS = ['kubeScheduler', 'kubeControllerManager', 'kwok'] as const;

function validate(props: LocalClusterProps): void {
  if (!props.name || /\s/.test(props.name)) throw new LocalClusterConfigError(`name must be non-empty without whitespace, got ${JSON.stringify(props.name)}`);
  if (!props.stateDir) throw new LocalClusterConfigError('stateDir must be set');
  const fixed = Object.entries(props.ports ?? {}).filter(([, p]) => p !== undefined) as [string, number][];
  for (const [key, port] of fixed) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LocalClusterConfigError(`ports.${key} must be a TCP port (1-65535), got ${port}`);
  }
  const full = props.controlPlane === 'full';
  if (props.controlPlane !== undefined && props.controlPlane !== 'apiserver-only' && !full) {
    throw new LocalClusterConfigError(`controlPlane must be 'apiserver-only' or 'full', got ${JSON.stringify(props.controlPlane)}`);
  }
  if (props.nodes !== undefined) {
    if (!full) throw new LocalClusterConfigError(`nodes needs controlPlane 'full' (nothing runs pods without a scheduler), got nodes ${props.nodes}`);
    if (!Number.isInteger(props.nodes) || props.nodes < 0 || props.nodes > MAX_NODES) throw new LocalClusterConfigError(`nodes must be an integer from 0 to ${MAX_NODES}, got ${props.nodes}`);
  }
  for (const key of FULL_ONLY_PORTS) {
    if (props.ports?.[key] !== undefined && !full) throw new LocalClusterConfigError(`ports.${key} needs controlPlane 'full'`);
  }
  if ((props.podIo !== undefined || props.extraKwokArgs !== undefined || props.ports?.kwok !== undefined) && (!full || props.nodes === 0)) {
    throw new LocalClusterConfigError(`podIo, extraKwokArgs and ports.kwok need kwok nodes (controlPlane 'full' and nodes of at least 1)`);
  }
  const target = props.podIo?.portForwardTarget;
  if (target !== undefined && (!Number.isInteger(target) || target < 1 || target > 65535)) {
    throw new LocalClusterConfigError(`podIo.portForwardTarget must be a TCP port (1-65535), got ${target}`);
  }
  const seen = new Map<number, string>();
  for (const [key, port] of fixed) {
    const other = seen.get(port);
    if (other) throw new LocalClusterConfigError(`ports.${other} and ports.${key} are both ${port}`);
    seen.set(port, key);
  }
}

/**
 * Fixed ports must be free now; the rest are picked free, never colliding with the fixed ones.
 * Only the ports of components that run are chosen.
 */
async function choosePorts(requested: LocalClusterPorts, run: { controlPlane: boolean; kwok: boolean }): Promise<LocalClusterPortsInUse> {
  const components: Partial<Record<keyof LocalClusterPorts, string>> = {
    apiserver: KUBE_APISERVER_COMPONENT,
    etcdClient: `${ETCD_COMPONENT} (client)`,
    etcdPeer: `${ETCD_COMPONENT} (peer)`,
    ...(run.controlPlane ? { kubeScheduler: KUBE_SCHEDULER_COMPONENT, kubeControllerManager: KUBE_CONTROLLER_MANAGER_COMPONENT } : {}),
    ...(run.kwok ? { kwok: KWOK_COMPONENT } : {}),
  };
  const keys = Object.keys(components) as (keyof LocalClusterPorts)[];
  const fixed = keys.map((k) => requested[k]).filter((p): p is number => p !== undefined);
  for (const key of keys) {
    const port = requested[key];
    if (port !== undefined) await assertPortFree(port, components[key]!);
  }
  const free = await getFreePorts(keys.length - fixed.length, { exclude: fixed });
  const pick = (key: keyof LocalClusterPorts) => (key in components ? (requested[key] ?? free.shift()!) : undefined);
  const ports = { apiserver: pick('apiserver')!, etcdClient: pick('etcdClient')!, etcdPeer: pick('etcdPeer')! };
  if (!run.controlPlane) return ports;
  return { ...ports, kubeScheduler: pick('kubeScheduler'), kubeControllerManager: pick('kubeControllerManager'), ...(run.kwok ? { kwok: pick('kwok') } : {}) };
}

export async function startLocalCluster(props: LocalClusterProps): Promise<LocalCluster> {
  validate(props);
  const toolchain = props.toolchain ?? loadToolchain();
  const logger = props.logger ?? createLogger('local-cluster');
  const timeouts = { ...DEFAULT_TIMEOUTS, ...props.timeouts };
  const audit = props.auditLog ?? true;
  const full = props.controlPlane === 'full';
  const nodeNames = full ? kwokNodeNames(props.nodes ?? 1) : [];
  const runKwok = nodeNames.length > 0;
  const placement = props.placement ?? HOST_PLACEMENT;

  // Cheap checks first, so a broken setup fails before anything is started or written.
  assertExecutable(ETCD_COMPONENT, toolchain.etcd);
  assertExecutable(KUBE_APISERVER_COMPONENT, toolchain.kubeApiserver);
  if (full) {
    assertExecutable(KUBE_SCHEDULER_COMPONENT, toolchain.kubeScheduler);
    assertExecutable(KUBE_CONTROLLER_MANAGER_COMPONENT, toolchain.kubeControllerManager);
  }
  if (runKwok) assertExecutable(KWOK_COMPONENT, toolchain.kwok);
  const ports = await choosePorts(props.ports ?? {}, { controlPlane: full, kwok: runKwok });

  const stateDir = path.resolve(props.stateDir);
  const lock = lockStateDir(stateDir);
  let etcd: Etcd | undefined;
  let apiserver: KubeApiserver | undefined;
  const components: ControlPlaneComponents = {};
  try {
    const logDir = path.join(stateDir, 'logs');
    fs.mkdirSync(logDir, { recursive: true });
    // A fresh cluster each time: the PKI is new, and old objects in etcd would reference it.
    fs.rmSync(etcdDataDir(stateDir), { recursive: true, force: true });
    const now = props.now ?? new Date();
    const pki: ClusterPki = createClusterPki({ dir: path.join(stateDir, 'pki'), now, serviceIp: KUBERNETES_SERVICE_IP });
    const controlPlanePki = full ? createControlPlanePki({ pki, now, nodeNames }) : undefined;
    logger.info('starting local cluster', { cluster: props.name, stateDir, ports, controlPlane: props.controlPlane ?? 'apiserver-only', nodes: nodeNames.length });

    etcd = await startEtcd({
      binary: toolchain.etcd,
      placement,
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
      placement,
      stateDir,
      logDir,
      port: ports.apiserver,
      etcdUrl: etcd.url,
      pki,
      logger: logger.child(KUBE_APISERVER_COMPONENT),
      readyTimeoutMs: timeouts.apiserverReadyMs,
      stopTimeoutMs: timeouts.stopMs,
      audit,
      ...(controlPlanePki
        ? {
            kubelet: {
              clientCertFile: controlPlanePki.apiserverKubeletClient.certFile,
              clientKeyFile: controlPlanePki.apiserverKubeletClient.keyFile,
              certificateAuthorityFile: pki.clusterCa.certFile,
            },
          }
        : {}),
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
    if (controlPlanePki) {
      await startControlPlane({ props, stateDir, logDir, ports, pki, controlPlanePki, apiserver, toolchain, logger, timeouts, nodeNames, components });
    }
    logger.info('local cluster ready', { cluster: props.name, apiserverUrl: apiserver.url, adminKubeconfigPath });
    return buildCluster({ props, stateDir, logDir, ports, pki, etcd, apiserver, components, nodeNames, lock, toolchain, logger, adminKubeconfigPath, audit });
  } catch (err) {
    // Leave nothing running behind a failed start. Each start* already stops its own process
    // when it fails; the ones before it are stopped here.
    await stopControlPlane(components);
    await apiserver?.process.stop();
    await etcd?.process.stop();
    lock.release();
    logger.error('local cluster failed to start', { cluster: props.name, error: err });
    throw err;
  }
}

/** The processes of a 'full' control plane, filled in as each one is up. */
interface ControlPlaneComponents {
  scheduler?: KubeScheduler;
  controllerManager?: KubeControllerManager;
  kwok?: Kwok;
}

interface ControlPlaneParts {
  readonly props: LocalClusterProps;
  readonly stateDir: string;
  readonly logDir: string;
  readonly ports: LocalClusterPortsInUse;
  readonly pki: ClusterPki;
  readonly controlPlanePki: ControlPlanePki;
  readonly apiserver: KubeApiserver;
  readonly toolchain: Toolchain;
  readonly logger: Logger;
  readonly timeouts: Required<LocalClusterTimeouts>;
  readonly nodeNames: readonly string[];
  /** Filled in as components come up, so a failed start can stop exactly those. */
  readonly components: ControlPlaneComponents;
}

/**
 * kube-scheduler, kube-controller-manager and kwok, started side by side (each needs only the
 * apiserver); then the cluster counts as ready once the controller manager has done real work
 * (the `default` ServiceAccount exists) and every node is Ready and schedulable.
 */
async function startControlPlane(parts: ControlPlaneParts): Promise<void> {
  const { props, stateDir, logDir, ports, pki, controlPlanePki: cpPki, apiserver, toolchain, logger, timeouts, components } = parts;
  const kubeconfig = (file: string, user: string, cert: { certPem: string; keyPem: string }) => {
    const kubeconfigPath = path.join(stateDir, file);
    writeDirectKubeconfig(kubeconfigPath, { name: props.name, userName: user, serverUrl: apiserver.url, caPem: pki.clusterCa.certPem, clientCertPem: cert.certPem, clientKeyPem: cert.keyPem });
    return kubeconfigPath;
  };
  const adminTls = { caPem: pki.clusterCa.certPem, certPem: pki.admin.certPem, keyPem: pki.admin.keyPem };
  const placement = props.placement ?? HOST_PLACEMENT;
  const common = { stateDir, logDir, pki, placement, readyTimeoutMs: timeouts.controlPlaneReadyMs, stopTimeoutMs: timeouts.stopMs };

  const started = await Promise.allSettled([
    startKubeScheduler({
      ...common,
      binary: toolchain.kubeScheduler,
      port: ports.kubeScheduler!,
      kubeconfigPath: kubeconfig('kube-scheduler.kubeconfig', KUBE_SCHEDULER_USER, cpPki.kubeScheduler),
      certificate: cpPki.kubeScheduler,
      logger: logger.child(KUBE_SCHEDULER_COMPONENT),
      extraArgs: props.extraSchedulerArgs,
    }).then((c) => (components.scheduler = c)),
    startKubeControllerManager({
      ...common,
      binary: toolchain.kubeControllerManager,
      port: ports.kubeControllerManager!,
      kubeconfigPath: kubeconfig('kube-controller-manager.kubeconfig', KUBE_CONTROLLER_MANAGER_USER, cpPki.kubeControllerManager),
      certificate: cpPki.kubeControllerManager,
      logger: logger.child(KUBE_CONTROLLER_MANAGER_COMPONENT),
      extraArgs: props.extraControllerManagerArgs,
    })
      .then((c) => (components.controllerManager = c))
      .then((c) => waitForDefaultServiceAccount(placement, c, apiserver.url, adminTls, timeouts.controlPlaneReadyMs)),
    ...(parts.nodeNames.length > 0
      ? [
          startKwok({
            binary: toolchain.kwok,
            placement,
            stagesDir: toolchain.kwokStages,
            stateDir,
            logDir,
            port: ports.kwok!,
            apiserverUrl: apiserver.url,
            kubeconfigPath: kubeconfig('kwok.kubeconfig', KWOK_USER, cpPki.kwok),
            serving: cpPki.kwok,
            adminTls,
            nodeNames: parts.nodeNames,
            podIo: props.podIo,
            logger: logger.child(KWOK_COMPONENT),
            readyTimeoutMs: timeouts.controlPlaneReadyMs,
            nodesReadyTimeoutMs: timeouts.nodesReadyMs,
            stopTimeoutMs: timeouts.stopMs,
            extraArgs: props.extraKwokArgs,
          }).then((k) => (components.kwok = k)),
        ]
      : []),
  ]);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * The serviceaccount controller creates `default` in every namespace, `default` included: proof
 * that the controller manager reaches the apiserver with working credentials and RBAC.
 */
async function waitForDefaultServiceAccount(placement: ProcessPlacement, controllerManager: KubeControllerManager, apiserverUrl: string, tls: { caPem: string; certPem: string; keyPem: string }, timeoutMs: number): Promise<void> {
  const url = `${apiserverUrl}/api/v1/namespaces/default/serviceaccounts/default`;
  await waitForReady({
    process: controllerManager.process,
    url,
    timeoutMs,
    check: async () => {
      const res = await placedGet(placement, url, tls);
      return res.status === 200 ? null : `ServiceAccount default/default: HTTP ${res.status}`;
    },
  });
}

/** kwok first (it plays the kubelets), then the controller manager and scheduler, side by side. */
async function stopControlPlane(components: ControlPlaneComponents): Promise<void> {
  await components.kwok?.process.stop();
  await Promise.all([components.controllerManager?.process.stop(), components.scheduler?.process.stop()]);
}

interface ClusterParts {
  readonly props: LocalClusterProps;
  readonly stateDir: string;
  readonly logDir: string;
  readonly ports: LocalClusterPortsInUse;
  readonly pki: ClusterPki;
  readonly etcd: Etcd;
  readonly apiserver: KubeApiserver;
  readonly components: ControlPlaneComponents;
  readonly nodeNames: readonly string[];
  readonly lock: StateDirLock;
  readonly toolchain: Toolchain;
  readonly logger: Logger;
  readonly adminKubeconfigPath: string;
  readonly audit: boolean;
}

function buildCluster(parts: ClusterParts): LocalCluster {
  const { etcd, apiserver, components, pki, logger } = parts;
  const cluster = parts.props.name;
  let stopping: Promise<void> | undefined;
  const stop = async () => {
    logger.info('stopping local cluster', { cluster });
    // The control plane's clients first, then the apiserver: it writes to etcd while shutting
    // down, and waits long for an etcd that is already gone.
    try {
      await stopControlPlane(components);
    } finally {
      try {
        await apiserver.process.stop();
      } finally {
        await etcd.process.stop();
        parts.lock.release();
      }
    }
    logger.info('local cluster stopped', { cluster });
  };
  const kwok = components.kwok;
  return {
    name: parts.props.name,
    stateDir: parts.stateDir,
    apiserverUrl: apiserver.url,
    etcdUrl: etcd.url,
    ports: parts.ports,
    controlPlane: parts.props.controlPlane ?? 'apiserver-only',
    nodeNames: parts.nodeNames,
    kwok: kwok && {
      url: kwok.url,
      execWorkDir: kwok.execWorkDir,
      logsFile: kwok.logsFile,
      portForwardTarget: kwok.portForwardTarget,
      appendContainerLog: kwok.appendContainerLog,
    },
    caPem: pki.clusterCa.certPem,
    adminCredentials: { certPem: pki.admin.certPem, keyPem: pki.admin.keyPem },
    adminKubeconfigPath: parts.adminKubeconfigPath,
    logDir: parts.logDir,
    auditLogPath: parts.audit ? auditLogPath(parts.logDir) : undefined,
    pids: {
      etcd: etcd.process.pid!,
      apiserver: apiserver.process.pid!,
      ...(components.scheduler ? { kubeScheduler: components.scheduler.process.pid! } : {}),
      ...(components.controllerManager ? { kubeControllerManager: components.controllerManager.process.pid! } : {}),
      ...(kwok ? { kwok: kwok.process.pid! } : {}),
    },
    issueClientCertificate: (commonName, groups) => pki.issueClientCertificate(commonName, groups),
    kubectl: (args, input) => runKubectl(parts.toolchain.kubectl, parts.adminKubeconfigPath, args, { ...(typeof input === 'string' ? { input } : input), placement: parts.props.placement ?? HOST_PLACEMENT }),
    stop: () => (stopping ??= stop()),
  };
}
