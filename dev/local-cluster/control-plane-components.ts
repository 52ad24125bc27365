/**
 * The part of a 'full' local cluster beyond etcd and kube-apiserver: kube-scheduler,
 * kube-controller-manager and kwok, started side by side once the apiserver is up, checked for
 * doing real work, and stopped in the order their clients need. An 'apiserver-only' cluster
 * never touches this file.
 */
import * as path from 'node:path';
import type { Logger } from '../../control-plane/log/logger';
import { HOST_PLACEMENT, placedGet, type ProcessPlacement } from '../process/process-placement';
import { waitForReady } from '../process/wait-for-ready';
import type { Toolchain } from '../toolchain/tools';
import type { ClusterPki } from './cluster-pki';
import { KUBE_CONTROLLER_MANAGER_USER, KUBE_SCHEDULER_USER, KWOK_USER, type ControlPlanePki } from './control-plane-pki';
import type { KubeApiserver } from './kube-apiserver';
import { startKubeControllerManager, KUBE_CONTROLLER_MANAGER_COMPONENT, type KubeControllerManager } from './kube-controller-manager';
import { startKubeScheduler, KUBE_SCHEDULER_COMPONENT, type KubeScheduler } from './kube-scheduler';
import { writeDirectKubeconfig } from './kubeconfig-file';
import { startKwok, KWOK_COMPONENT, type Kwok } from './kwok';
import type { LocalClusterPortsInUse, LocalClusterProps, LocalClusterTimeouts } from './local-cluster-props';

/** The processes of a 'full' control plane, filled in as each one is up. */
export interface ControlPlaneComponents {
  scheduler?: KubeScheduler;
  controllerManager?: KubeControllerManager;
  kwok?: Kwok;
}

export interface ControlPlaneParts {
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
export async function startControlPlane(parts: ControlPlaneParts): Promise<void> {
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
export async function stopControlPlane(components: ControlPlaneComponents): Promise<void> {
  await components.kwok?.process.stop();
  await Promise.all([components.controllerManager?.process.stop(), components.scheduler?.process.stop()]);
}
