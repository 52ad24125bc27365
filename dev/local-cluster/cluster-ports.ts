/**
 * Choosing the ports a local cluster listens on: the fixed ones checked free, the rest picked
 * free without colliding with them, and only for the components that run. Apart from the
 * start sequence so the rule reads on its own.
 */
import { assertPortFree, getFreePorts } from '../process/free-port';
import { ETCD_COMPONENT } from './etcd';
import { KUBE_APISERVER_COMPONENT } from './kube-apiserver';
import { KUBE_CONTROLLER_MANAGER_COMPONENT } from './kube-controller-manager';
import { KUBE_SCHEDULER_COMPONENT } from './kube-scheduler';
import { KWOK_COMPONENT } from './kwok';
import type { LocalClusterPorts, LocalClusterPortsInUse } from './local-cluster-props';

/**
 * Fixed ports must be free now; the rest are picked free, never colliding with the fixed ones.
 * Only the ports of components that run are chosen.
 */
export async function choosePorts(requested: LocalClusterPorts, run: { controlPlane: boolean; kwok: boolean }): Promise<LocalClusterPortsInUse> {
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
