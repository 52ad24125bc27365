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
import { choosePorts } from './cluster-ports';
import { startControlPlane, stopControlPlane, type ControlPlaneComponents } from './control-plane-components';
import { createControlPlanePki } from './control-plane-pki';
import { etcdDataDir, startEtcd, ETCD_COMPONENT, type Etcd } from './etcd';
import { assertExecutable } from '../process/executable';
import { auditLogPath, startKubeApiserver, KUBE_APISERVER_COMPONENT, KUBERNETES_SERVICE_IP, type KubeApiserver } from './kube-apiserver';
import { KUBE_SCHEDULER_COMPONENT } from './kube-scheduler';
import { KUBE_CONTROLLER_MANAGER_COMPONENT } from './kube-controller-manager';
import { kwokNodeNames, KWOK_COMPONENT, type KwokInfo } from './kwok';
import { DEFAULT_TIMEOUTS, validateLocalClusterProps, type LocalClusterControlPlane, type LocalClusterPortsInUse, type LocalClusterProps } from './local-cluster-props';
import { HOST_PLACEMENT } from '../process/process-placement';
import { runKubectl, type KubectlOptions, type KubectlResult } from './kubectl-runner';
import { writeDirectKubeconfig } from './kubeconfig-file';
import { lockStateDir, type StateDirLock } from './state-dir-lock';
import { createLogger, type Logger } from '../../control-plane/log/logger';
import type { KeyPairPem } from '../../control-plane/pki/certificates';
import { loadToolchain, type Toolchain } from '../toolchain/tools';

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
  /** A serving certificate from the cluster CA (e.g. a real node's kubelet's), for these DNS names and IPs. */
  issueServingCertificate(commonName: string, names: { readonly dnsNames?: readonly string[]; readonly ipAddresses?: readonly string[] }): KeyPairPem;
  /**
   * Runs the toolchain's kubectl as the admin. `input` is either what to write to its stdin
   * (e.g. manifests for `apply -f -`) or the full options.
   */
  kubectl(args: readonly string[], input?: string | KubectlOptions): Promise<KubectlResult>;
  /** Stops kwok, kube-controller-manager and kube-scheduler, then kube-apiserver, then etcd. Safe to call more than once. */
  stop(): Promise<void>;
}

export async function startLocalCluster(props: LocalClusterProps): Promise<LocalCluster> {
  validateLocalClusterProps(props);
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
    issueServingCertificate: (commonName, names) => pki.issueServingCertificate(commonName, names),
    kubectl: (args, input) => runKubectl(parts.toolchain.kubectl, parts.adminKubeconfigPath, args, { ...(typeof input === 'string' ? { input } : input), placement: parts.props.placement ?? HOST_PLACEMENT }),
    stop: () => (stopping ??= stop()),
  };
}
