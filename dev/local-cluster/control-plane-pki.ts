/**
 * The certificates a full control plane adds to a cluster's PKI (cluster-pki.ts), all from the
 * cluster CA, written next to the others in <stateDir>/pki:
 *   - kube-scheduler and kube-controller-manager: one certificate each that is both their
 *     client identity towards the apiserver (CN system:kube-scheduler /
 *     system:kube-controller-manager, the users Kubernetes' bootstrap RBAC grants their roles
 *     to) and the serving certificate of their secure port (127.0.0.1, localhost).
 *   - the apiserver's client certificate for kubelets (kwok's kubelet API), CN
 *     kube-apiserver-kubelet-client in system:masters, as kubeadm issues it.
 *   - kwok: its serving certificate for the kubelet API (127.0.0.1, localhost and each node's
 *     name), which the apiserver verifies against the cluster CA, and its client identity
 *     towards the apiserver. kwok plays every node's kubelet with one identity, which the Node
 *     authorizer (one identity per node) cannot express, so it is in system:masters.
 * Made only for a full control plane, so an apiserver-only cluster's PKI stays as it was.
 */
import { issueCertificate } from '../../control-plane/pki/certificates';
import { leafValidity, writePair, type ClusterPki, type KeyPairFiles } from './cluster-pki';

export const KUBE_SCHEDULER_USER = 'system:kube-scheduler';
export const KUBE_CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';
export const KUBELET_CLIENT_COMMON_NAME = 'kube-apiserver-kubelet-client';
export const KWOK_USER = 'kubegate:kwok';

const LOOPBACK_NAMES = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };

export interface ControlPlanePki {
  readonly kubeScheduler: KeyPairFiles;
  readonly kubeControllerManager: KeyPairFiles;
  readonly apiserverKubeletClient: KeyPairFiles;
  readonly kwok: KeyPairFiles;
}

export interface ControlPlanePkiProps {
  readonly pki: ClusterPki;
  readonly now: Date;
  /** The fake nodes' names, added to kwok's serving certificate. @default [] */
  readonly nodeNames?: readonly string[];
}

export function createControlPlanePki(props: ControlPlanePkiProps): ControlPlanePki {
  const { pki } = props;
  const ca = pki.clusterCa;
  const validity = leafValidity(props.now);
  const component = (name: string, commonName: string) =>
    writePair(pki.dir, name, issueCertificate(ca, { commonName, ...LOOPBACK_NAMES, usage: 'server-and-client', ...validity }));
  return {
    kubeScheduler: component('kube-scheduler', KUBE_SCHEDULER_USER),
    kubeControllerManager: component('kube-controller-manager', KUBE_CONTROLLER_MANAGER_USER),
    apiserverKubeletClient: writePair(pki.dir, 'apiserver-kubelet-client', issueCertificate(ca, {
      commonName: KUBELET_CLIENT_COMMON_NAME, organizations: ['system:masters'], usage: 'client', ...validity,
    })),
    kwok: writePair(pki.dir, 'kwok', issueCertificate(ca, {
      commonName: KWOK_USER,
      organizations: ['system:masters'],
      dnsNames: [...LOOPBACK_NAMES.dnsNames, ...(props.nodeNames ?? [])],
      ipAddresses: LOOPBACK_NAMES.ipAddresses,
      usage: 'server-and-client',
      ...validity,
    })),
  };
}
