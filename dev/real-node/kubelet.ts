/**
 * The kubelet of a real node, inside the node's network namespace. Its identity is a client
 * certificate from the cluster CA (CN system:node:<name>, O system:nodes), so the Node
 * authorizer and NodeRestriction treat it as that node; it serves the kubelet API with a
 * certificate from the same CA for the node's address, which the apiserver verifies for logs,
 * exec, attach and port-forward. Requests to the kubelet API are authenticated by client
 * certificate and authorized by the apiserver (webhook), as on a kubeadm node.
 *
 * Everything it writes goes under the node's directory (root dir, pod logs, volume plugins);
 * its pods' cgroups under the node's own cgroup root. Facts of this machine
 * (shared/research/real-node): cgroup v1 needs cgroupDriver cgroupfs and failCgroupV1 false,
 * there is no swap accounting (failSwapOn false), and the pod log directory's field is
 * podLogsDir (a misspelt field is silently ignored).
 */
import { CLUSTER_DNS_IP, CLUSTER_DOMAIN } from '../cluster-dns/cluster-dns';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { Logger } from '../../control-plane/log/logger';
import type { KeyPairPem } from '../../control-plane/pki/certificates';
import { writeDirectKubeconfig } from '../local-cluster/kubeconfig-file';
import type { ManagedProcess } from '../process/managed-process';
import type { Readiness } from '../process/start-ready-process';
import { startReadyProcess } from '../process/start-ready-process';
import { nodeEnvironment, nodeProcessProps } from './node-process';

export const KUBELET_COMPONENT = 'kubelet';
/** Inside the node's own namespace, so every node has the usual ports. */
export const KUBELET_PORT = 10250;
const KUBELET_HEALTHZ_PORT = 10248;

export interface KubeletProps {
  readonly binary: string;
  readonly netnsPath: string;
  readonly nodeName: string;
  readonly nodeAddress: string;
  /** The node's kubelet directory (root dir, config, certificates). */
  readonly dir: string;
  readonly logDir: string;
  readonly apiserverUrl: string;
  readonly clusterName: string;
  readonly caPem: string;
  readonly clientCertificate: KeyPairPem;
  readonly servingCertificate: KeyPairPem;
  readonly containerdSocket: string;
  /** The node's own cgroup root, e.g. /kubegate-node-0-1234 (node-cgroups.ts). */
  readonly cgroupRoot: string;
  readonly logger: Logger;
  readonly stopTimeoutMs: number;
  /** When the kubelet counts as started (the harness waits for its Node to be Ready). */
  readonly readiness: Readiness;
}

export interface KubeletFiles {
  readonly rootDir: string;
  readonly podLogsDir: string;
  readonly configFile: string;
  readonly kubeconfig: string;
}

export function kubeletConfig(props: Pick<KubeletProps, 'containerdSocket' | 'cgroupRoot'>, files: { caFile: string; certFile: string; keyFile: string; podLogsDir: string; volumePluginDir: string }): string {
  const runtime = `unix://${props.containerdSocket}`;
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: '0.0.0.0',
    port: KUBELET_PORT,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: KUBELET_HEALTHZ_PORT,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: props.cgroupRoot,
    failCgroupV1: false,
    failSwapOn: false,
    containerRuntimeEndpoint: runtime,
    imageServiceEndpoint: runtime,
    tlsCertFile: files.certFile,
    tlsPrivateKeyFile: files.keyFile,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: files.caFile } },
    authorization: { mode: 'Webhook' },
    // Pods ask the cluster's DNS Service (dev/cluster-dns), which a test installs when it
    // needs names; until then lookups fail rather than leak to the host's resolver.
    clusterDomain: CLUSTER_DOMAIN,
    clusterDNS: [CLUSTER_DNS_IP],
    resolvConf: '/etc/resolv.conf',
    podLogsDir: files.podLogsDir,
    volumePluginDir: files.volumePluginDir,
    staticPodPath: '',
    // Light housekeeping: the machine has 2 cores and other tests beside these.
    nodeStatusUpdateFrequency: '10s',
    syncFrequency: '30s',
    // No eviction and no image garbage collection: a shared machine's disk and memory say
    // nothing about whether the test's pods should live.
    evictionHard: {},
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    maxPods: 50,
  });
}

export async function startKubelet(props: KubeletProps): Promise<{ process: ManagedProcess; files: KubeletFiles }> {
  const dir = props.dir;
  const pki = path.join(dir, 'pki');
  fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
  const caFile = path.join(pki, 'ca.crt');
  const certFile = path.join(pki, 'kubelet-serving.crt');
  const keyFile = path.join(pki, 'kubelet-serving.key');
  fs.writeFileSync(caFile, props.caPem, { mode: 0o644 });
  fs.writeFileSync(certFile, props.servingCertificate.certPem, { mode: 0o644 });
  fs.writeFileSync(keyFile, props.servingCertificate.keyPem, { mode: 0o600 });
  const files: KubeletFiles = {
    rootDir: path.join(dir, 'root'),
    podLogsDir: path.join(dir, 'pod-logs'),
    configFile: path.join(dir, 'kubelet-config.yaml'),
    kubeconfig: path.join(dir, 'kubelet.kubeconfig'),
  };
  const volumePluginDir = path.join(dir, 'volume-plugins');
  for (const d of [files.rootDir, files.podLogsDir, volumePluginDir]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(files.configFile, kubeletConfig(props, { caFile, certFile, keyFile, podLogsDir: files.podLogsDir, volumePluginDir }));
  writeDirectKubeconfig(files.kubeconfig, {
    name: props.clusterName,
    userName: `system:node:${props.nodeName}`,
    serverUrl: props.apiserverUrl,
    caPem: props.caPem,
    clientCertPem: props.clientCertificate.certPem,
    clientKeyPem: props.clientCertificate.keyPem,
  });
  const proc = await startReadyProcess(
    nodeProcessProps(props.netnsPath, {
      component: KUBELET_COMPONENT,
      binary: props.binary,
      args: [
        `--config=${files.configFile}`,
        `--kubeconfig=${files.kubeconfig}`,
        `--root-dir=${files.rootDir}`,
        `--cert-dir=${pki}`,
        `--hostname-override=${props.nodeName}`,
        `--node-ip=${props.nodeAddress}`,
        '--v=2',
      ],
      logFile: path.join(props.logDir, 'kubelet.log'),
      logger: props.logger,
      env: nodeEnvironment(),
      stopTimeoutMs: props.stopTimeoutMs,
    }),
    props.readiness,
  );
  props.logger.info('kubelet ready', { node: props.nodeName, pid: proc.pid });
  return { process: proc, files };
}
