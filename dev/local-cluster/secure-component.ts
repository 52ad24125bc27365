/**
 * What kube-scheduler and kube-controller-manager have in common in the harness: a kubeconfig
 * with their own client certificate from the cluster CA (also used to authenticate and
 * authorize requests to their secure port, as kubeadm sets them up), a secure port on loopback
 * serving a certificate from the cluster CA, and /healthz as the readiness check.
 */
import * as path from 'node:path';
import { HOST_PLACEMENT, placedGet, type ProcessPlacement } from '../process/process-placement';
import type { ManagedProcess } from '../process/managed-process';
import type { ClusterPki, KeyPairFiles } from './cluster-pki';
import type { Logger } from '../../control-plane/log/logger';

export interface SecureComponentProps {
  readonly binary: string;
  /** Where the process runs and is probed from. @default HOST_PLACEMENT */
  readonly placement?: ProcessPlacement;
  readonly stateDir: string;
  readonly logDir: string;
  /** The secure port's port on 127.0.0.1. */
  readonly port: number;
  /** A kubeconfig for the apiserver with this component's own client certificate. */
  readonly kubeconfigPath: string;
  readonly pki: ClusterPki;
  /** This component's certificate: its serving certificate, and the client one in its kubeconfig. */
  readonly certificate: KeyPairFiles;
  readonly logger: Logger;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  /** Appended after the harness's own flags. @default [] */
  readonly extraArgs?: readonly string[];
}

export interface SecureComponent {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly process: ManagedProcess;
}

/** The flags both components share. */
export function secureComponentArgs(component: string, props: Pick<SecureComponentProps, 'stateDir' | 'port' | 'kubeconfigPath' | 'pki' | 'certificate'>): string[] {
  return [
    `--kubeconfig=${props.kubeconfigPath}`,
    // Delegated authentication and authorization of requests to the secure port, through the
    // apiserver (TokenReview, SubjectAccessReview), as in a kubeadm cluster.
    `--authentication-kubeconfig=${props.kubeconfigPath}`,
    `--authorization-kubeconfig=${props.kubeconfigPath}`,
    `--client-ca-file=${props.pki.clusterCa.certFile}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${props.port}`,
    `--tls-cert-file=${props.certificate.certFile}`,
    `--tls-private-key-file=${props.certificate.keyFile}`,
    '--tls-min-version=VersionTLS12',
    // Pinned into the state directory, as for the apiserver (only used without a certificate).
    `--cert-dir=${path.join(props.stateDir, `${component}-certs`)}`,
    // One instance per cluster: nothing to elect, and no lease to wait for at start.
    '--leader-elect=false',
  ];
}

/** Starts the component and resolves once /healthz on its secure port answers ok. */
export async function startSecureComponent(component: string, args: readonly string[], props: SecureComponentProps): Promise<SecureComponent> {
  const url = `https://127.0.0.1:${props.port}`;
  const tls = { caPem: props.pki.clusterCa.certPem, certPem: props.pki.admin.certPem, keyPem: props.pki.admin.keyPem };
  const placement = props.placement ?? HOST_PLACEMENT;
  const proc = await placement.startReady(
    {
      component,
      binary: props.binary,
      args: [...args, ...(props.extraArgs ?? [])],
      logFile: path.join(props.logDir, `${component}.log`),
      logger: props.logger,
      stopTimeoutMs: props.stopTimeoutMs,
    },
    {
      url: `${url}/healthz`,
      timeoutMs: props.readyTimeoutMs,
      check: async () => {
        const res = await placedGet(placement, `${url}/healthz`, tls);
        return res.status === 200 ? null : `/healthz: HTTP ${res.status}: ${res.body.trim().slice(0, 300)}`;
      },
    },
  );
  props.logger.info(`${component} ready`, { url, pid: proc.pid });
  return { url, process: proc };
}
