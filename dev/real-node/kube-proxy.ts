/**
 * kube-proxy of a real node, in iptables mode, inside the node's network namespace: its
 * KUBE-* chains, route_localnet and the rest of what it sets live and die with that namespace.
 * Its identity is the user the bootstrap RBAC grants system:node-proxier to (system:kube-proxy).
 * It leaves the machine-wide conntrack settings alone (maxPerCore 0, timeouts 0), and
 * masquerades all Service traffic, so a pod reaching a Service that leads back to itself or to
 * a pod on its own bridge gets its replies the way it sent the request (in a firewalled site it
 * does not: see KubeProxyProps.inSite; br_netfilter takes care of the hairpin there).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { Logger } from '../../control-plane/log/logger';
import type { KeyPairPem } from '../../control-plane/pki/certificates';
import { writeDirectKubeconfig } from '../local-cluster/kubeconfig-file';
import type { ManagedProcess } from '../process/managed-process';
import { startReadyProcess } from '../process/start-ready-process';
import { inNodeNetwork, nodeEnvironment, nodeProcessProps } from './node-process';

const run = promisify(execFile);
export const KUBE_PROXY_COMPONENT = 'kube-proxy';
export const KUBE_PROXY_USER = 'system:kube-proxy';

export interface KubeProxyProps {
  readonly binary: string;
  readonly netnsPath: string;
  readonly nodeName: string;
  readonly podCidr: string;
  readonly dir: string;
  readonly logDir: string;
  readonly apiserverUrl: string;
  readonly clusterName: string;
  readonly caPem: string;
  readonly clientCertificate: KeyPairPem;
  /**
   * A node in a firewalled site: NodePorts only on loopback (a NodePort on the site's address
   * would be a way in), and no masquerading of pods' Service traffic (marked traffic is
   * accepted by kube-proxy's FORWARD rules ahead of the site's). @default false
   */
  readonly inSite?: boolean;
  readonly logger: Logger;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
}

export function kubeProxyConfig(props: Pick<KubeProxyProps, 'nodeName' | 'podCidr' | 'inSite'>, kubeconfig: string): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    mode: 'iptables',
    hostnameOverride: props.nodeName,
    clusterCIDR: props.podCidr,
    bindAddress: '0.0.0.0',
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    iptables: { masqueradeAll: !props.inSite, syncPeriod: '30s', minSyncPeriod: '1s' },
    ...(props.inSite ? { nodePortAddresses: ['127.0.0.0/8'] } : {}),
    // Zero leaves nf_conntrack_max, the hash size and the timeouts as the machine has them.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s', udpTimeout: '0s', udpStreamTimeout: '0s' },
  });
}

/** Resolves once kube-proxy has programmed the `kubernetes` Service: proof it reads the API and writes iptables. */
export async function startKubeProxy(props: KubeProxyProps): Promise<ManagedProcess> {
  fs.mkdirSync(props.dir, { recursive: true });
  const kubeconfig = path.join(props.dir, 'kube-proxy.kubeconfig');
  const configFile = path.join(props.dir, 'kube-proxy-config.yaml');
  writeDirectKubeconfig(kubeconfig, {
    name: props.clusterName,
    userName: KUBE_PROXY_USER,
    serverUrl: props.apiserverUrl,
    caPem: props.caPem,
    clientCertPem: props.clientCertificate.certPem,
    clientKeyPem: props.clientCertificate.keyPem,
  });
  fs.writeFileSync(configFile, kubeProxyConfig(props, kubeconfig));
  const iptables = inNodeNetwork(props.netnsPath, 'iptables', ['-w', '-t', 'nat', '-S', 'KUBE-SERVICES']);
  const proc = await startReadyProcess(
    nodeProcessProps(props.netnsPath, {
      component: KUBE_PROXY_COMPONENT,
      binary: props.binary,
      args: [`--config=${configFile}`, '--v=2'],
      logFile: path.join(props.logDir, 'kube-proxy.log'),
      logger: props.logger,
      env: nodeEnvironment(),
      stopTimeoutMs: props.stopTimeoutMs,
    }),
    {
      url: 'iptables -t nat -S KUBE-SERVICES (in the node)',
      timeoutMs: props.readyTimeoutMs,
      check: async () => {
        const { stdout } = await run(iptables.binary, iptables.args, { env: nodeEnvironment(), timeout: 10_000 });
        return stdout.includes('default/kubernetes:https') ? null : 'no rule for default/kubernetes:https in KUBE-SERVICES yet';
      },
    },
  );
  props.logger.info('kube-proxy ready', { node: props.nodeName, pid: proc.pid });
  return proc;
}
