/**
 * kube-controller-manager on loopback, set up as kubeadm sets it up: every controller runs
 * with its own service account's credentials (so their RBAC is the real one), the
 * service-account token controller signs with the key the apiserver verifies with, the cluster
 * CA is published as the kube-root-ca.crt ConfigMap of every namespace and signs approved CSRs.
 */
import { SERVICE_CLUSTER_IP_RANGE } from './kube-apiserver';
import { secureComponentArgs, startSecureComponent, type SecureComponent, type SecureComponentProps } from './secure-component';

export const KUBE_CONTROLLER_MANAGER_COMPONENT = 'kube-controller-manager';

/**
 * Every on-by-default controller except the three that need a cloud provider: without one they
 * do nothing but log that they are skipped.
 */
export const CONTROLLERS = '*,-cloud-node-lifecycle-controller,-node-route-controller,-service-lb-controller';

export type KubeControllerManagerProps = SecureComponentProps;
export type KubeControllerManager = SecureComponent;

export function kubeControllerManagerArgs(props: Pick<KubeControllerManagerProps, 'stateDir' | 'port' | 'kubeconfigPath' | 'pki' | 'certificate'>): string[] {
  const { pki } = props;
  return [
    ...secureComponentArgs(KUBE_CONTROLLER_MANAGER_COMPONENT, props),
    `--controllers=${CONTROLLERS}`,
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.serviceAccount.privateKeyFile}`,
    `--root-ca-file=${pki.clusterCa.certFile}`,
    `--cluster-signing-cert-file=${pki.clusterCa.certFile}`,
    `--cluster-signing-key-file=${pki.clusterCa.keyFile}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
  ];
}

export function startKubeControllerManager(props: KubeControllerManagerProps): Promise<KubeControllerManager> {
  return startSecureComponent(KUBE_CONTROLLER_MANAGER_COMPONENT, kubeControllerManagerArgs(props), props);
}
