/**
 * kube-apiserver on loopback, backed by the harness's etcd over mTLS, serving TLS with a
 * certificate from the cluster CA and authenticating clients by certificates from that same CA.
 * Authorization is Node,RBAC as in a real cluster, so permission checks in tests are real.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HOST_PLACEMENT, placedGet, type ProcessPlacement } from '../process/process-placement';
import type { ManagedProcess } from '../process/managed-process';
import type { ClusterPki } from './cluster-pki';
import type { Logger } from '../../control-plane/log/logger';

export const KUBE_APISERVER_COMPONENT = 'kube-apiserver';
export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
/** The first address of SERVICE_CLUSTER_IP_RANGE: the `kubernetes` service's ClusterIP. */
export const KUBERNETES_SERVICE_IP = '10.0.0.1';
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Namespaces clients expect to exist as soon as the cluster is handed out. */
const REQUIRED_NAMESPACES = ['default', 'kube-system'];

export interface KubeApiserverProps {
  readonly binary: string;
  /** Where the process runs and is probed from. @default HOST_PLACEMENT */
  readonly placement?: ProcessPlacement;
  readonly stateDir: string;
  readonly logDir: string;
  readonly port: number;
  readonly etcdUrl: string;
  readonly pki: ClusterPki;
  readonly logger: Logger;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  /** Write an audit log (metadata of every request) to auditLogPath(logDir). */
  readonly audit: boolean;
  /**
   * How the apiserver reaches kubelets (here kwok's kubelet API) for exec, attach, logs and
   * port-forward: with this client certificate, verifying the kubelet's serving certificate
   * against `certificateAuthorityFile`, at the node's InternalIP.
   * @default no kubelet flags (nothing runs pods)
   */
  readonly kubelet?: { readonly clientCertFile: string; readonly clientKeyFile: string; readonly certificateAuthorityFile: string };
  /** Appended after the harness's own flags. @default [] */
  readonly extraArgs?: readonly string[];
}

export interface KubeApiserver {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly process: ManagedProcess;
}

export function kubeApiserverArgs(props: Pick<KubeApiserverProps, 'stateDir' | 'logDir' | 'port' | 'etcdUrl' | 'pki' | 'audit' | 'kubelet' | 'extraArgs'>): string[] {
  const { pki } = props;
  return [
    `--etcd-servers=${props.etcdUrl}`,
    `--etcd-cafile=${pki.etcdCa.certFile}`,
    `--etcd-certfile=${pki.apiserverEtcdClient.certFile}`,
    `--etcd-keyfile=${pki.apiserverEtcdClient.keyFile}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${props.port}`,
    '--advertise-address=127.0.0.1',
    `--tls-cert-file=${pki.apiserverServing.certFile}`,
    `--tls-private-key-file=${pki.apiserverServing.keyFile}`,
    '--tls-min-version=VersionTLS12',
    `--client-ca-file=${pki.clusterCa.certFile}`,
    '--authorization-mode=Node,RBAC',
    // The three service-account flags are the ones kube-apiserver refuses to start without.
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${pki.serviceAccount.publicKeyFile}`,
    `--service-account-signing-key-file=${pki.serviceAccount.privateKeyFile}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--allow-privileged=true',
    // Only used when no serving certificate is given, but pinned into the state directory so
    // the apiserver never writes relative to whatever its working directory happens to be.
    `--cert-dir=${path.join(props.stateDir, 'kube-apiserver-certs')}`,
    // The endpoint reconciler would publish the advertise address as the `kubernetes`
    // service's endpoint; 127.0.0.1 is rejected for endpoints, which logs an error every 10 s.
    // Nothing in the harness runs pods that would use that endpoint.
    '--endpoint-reconciler-type=none',
    ...(props.audit ? auditArgs(props.stateDir, props.logDir) : []),
    ...(props.kubelet ? kubeletArgs(props.kubelet) : []),
    ...(props.extraArgs ?? []),
  ];
}

function kubeletArgs(kubelet: NonNullable<KubeApiserverProps['kubelet']>): string[] {
  return [
    `--kubelet-client-certificate=${kubelet.clientCertFile}`,
    `--kubelet-client-key=${kubelet.clientKeyFile}`,
    `--kubelet-certificate-authority=${kubelet.certificateAuthorityFile}`,
    // kwok's nodes also list their name as a Hostname address, which nothing resolves.
    '--kubelet-preferred-address-types=InternalIP',
  ];
}

/**
 * Metadata for every request, except the apiserver's own loopback traffic (leases, its
 * controllers), which would drown the rest. Tests can read who the apiserver saw, including
 * impersonated users, from the audit log.
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    users: ["system:apiserver"]
  - level: Metadata
`;

export function auditLogPath(logDir: string): string {
  return path.join(logDir, 'kube-apiserver-audit.log');
}

const auditPolicyPath = (stateDir: string) => path.join(stateDir, 'audit-policy.yaml');

function auditArgs(stateDir: string, logDir: string): string[] {
  return [
    `--audit-policy-file=${auditPolicyPath(stateDir)}`,
    `--audit-log-path=${auditLogPath(logDir)}`,
    // Bounded, so a long benchmark cannot fill the disk: one 100 MB file plus one rotated.
    '--audit-log-maxsize=100',
    '--audit-log-maxbackup=1',
  ];
}

/**
 * Starts kube-apiserver and resolves once /readyz is ok and the default namespaces exist
 * (they are created just after /readyz can pass); stops it again if that never happens.
 */
export async function startKubeApiserver(props: KubeApiserverProps): Promise<KubeApiserver> {
  if (props.audit) fs.writeFileSync(auditPolicyPath(props.stateDir), AUDIT_POLICY);
  const url = `https://127.0.0.1:${props.port}`;
  const tls = { caPem: props.pki.clusterCa.certPem, certPem: props.pki.admin.certPem, keyPem: props.pki.admin.keyPem };
  const placement = props.placement ?? HOST_PLACEMENT;
  const proc = await placement.startReady(
    {
      component: KUBE_APISERVER_COMPONENT,
      binary: props.binary,
      args: kubeApiserverArgs(props),
      logFile: path.join(props.logDir, 'kube-apiserver.log'),
      logger: props.logger,
      stopTimeoutMs: props.stopTimeoutMs,
    },
    {
      url: `${url}/readyz`,
      timeoutMs: props.readyTimeoutMs,
      check: async () => {
        const readyz = await placedGet(placement, `${url}/readyz`, tls);
        if (readyz.status !== 200) return `/readyz: HTTP ${readyz.status}: ${summarizeReadyz(readyz.body)}`;
        for (const ns of REQUIRED_NAMESPACES) {
          const res = await placedGet(placement, `${url}/api/v1/namespaces/${ns}`, tls);
          if (res.status !== 200) return `namespace ${ns}: HTTP ${res.status}`;
        }
        return null;
      },
    },
  );
  props.logger.info('kube-apiserver ready', { url, pid: proc.pid });
  return { url, process: proc };
}

/** /readyz lists every check; the failing ones ("[-]...") are what an error should show. */
function summarizeReadyz(body: string): string {
  const failing = body.split('\n').filter((l) => l.startsWith('[-]'));
  return (failing.length > 0 ? failing.join('; ') : body.trim()).slice(0, 500);
}
