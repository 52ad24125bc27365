/**
 * kube-scheduler on loopback: binds pods to nodes as in a real cluster, authenticating to the
 * apiserver as system:kube-scheduler (whose permissions are Kubernetes' bootstrap RBAC).
 */
import { secureComponentArgs, startSecureComponent, type SecureComponent, type SecureComponentProps } from './secure-component';

export const KUBE_SCHEDULER_COMPONENT = 'kube-scheduler';

export type KubeSchedulerProps = SecureComponentProps;
export type KubeScheduler = SecureComponent;

export function kubeSchedulerArgs(props: Pick<KubeSchedulerProps, 'stateDir' | 'port' | 'kubeconfigPath' | 'pki' | 'certificate'>): string[] {
  return secureComponentArgs(KUBE_SCHEDULER_COMPONENT, props);
}

export function startKubeScheduler(props: KubeSchedulerProps): Promise<KubeScheduler> {
  return startSecureComponent(KUBE_SCHEDULER_COMPONENT, kubeSchedulerArgs(props), props);
}
