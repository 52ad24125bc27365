/**
 * The few API calls a real node's harness makes as the cluster's admin: whether the Node is
 * Ready and schedulable, the `kubernetes` Service's endpoint through this node (the apiserver
 * runs with --endpoint-reconciler-type=none, so nobody else publishes one), and removing the
 * Node and that endpoint when the node leaves. Made from where the cluster runs (the host, or
 * the firewalled site its apiserver is in).
 */
import type { TlsClientMaterial } from '../process/https-probe';
import type { ProcessPlacement } from '../process/process-placement';
import type { LocalCluster } from '../local-cluster/local-cluster';
import { NodeCommandError } from './errors';

/** Labels the EndpointSlices real nodes publish for the `kubernetes` Service. */
export const ENDPOINT_SLICE_MANAGER = 'kubegate-real-node';

function adminTls(cluster: LocalCluster): TlsClientMaterial {
  return { caPem: cluster.caPem, ...cluster.adminCredentials };
}

/** The cluster as seen from where it runs. */
export interface ClusterAccess {
  readonly cluster: LocalCluster;
  readonly placement: ProcessPlacement;
}

async function call(access: ClusterAccess, method: string, path: string, json?: unknown, okStatuses: readonly number[] = [200, 201]): Promise<{ status: number; body: string }> {
  const { cluster, placement } = access;
  const res = await placement.request(`${cluster.apiserverUrl}${path}`, { tls: adminTls(cluster), method, ...(json === undefined ? {} : { json }), timeoutMs: 10_000 });
  if (!okStatuses.includes(res.status)) throw new NodeCommandError(`${method} ${path}`, res.status, res.body);
  return res;
}

interface NodeObject {
  spec?: { taints?: Array<{ key: string; effect: string }> };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

/** null when the Node is Ready and has no not-ready taint left; otherwise what is missing. */
export async function nodeReadiness(access: ClusterAccess, nodeName: string): Promise<string | null> {
  const { cluster, placement } = access;
  const res = await placement.request(`${cluster.apiserverUrl}/api/v1/nodes/${nodeName}`, { tls: adminTls(cluster), timeoutMs: 5_000 });
  if (res.status === 404) return `Node ${nodeName} is not registered yet`;
  if (res.status !== 200) return `GET Node ${nodeName}: HTTP ${res.status}`;
  const node = JSON.parse(res.body) as NodeObject;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return `Ready is ${ready?.status ?? 'unknown'}${ready?.message ? ` (${ready.message})` : ''}`;
  const blocking = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  return blocking.length > 0 ? `still tainted ${blocking.map((t) => t.key).join(', ')}` : null;
}

const sliceName = (nodeName: string) => `kubernetes-${nodeName}`;

/**
 * Publishes `address:port` (this node's end of the apiserver relay) as an endpoint of the
 * `kubernetes` Service, so pods reach the apiserver at its ClusterIP as in any cluster.
 */
export async function publishApiserverEndpoint(access: ClusterAccess, nodeName: string, address: string, port: number): Promise<void> {
  await call(access, 'GET', '/api/v1/namespaces/default/services/kubernetes');
  await call(access, 'POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: sliceName(nodeName), labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': ENDPOINT_SLICE_MANAGER } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true }, nodeName }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  });
}

/** Removes the node's EndpointSlice and its Node object; either may already be gone. */
export async function forgetNode(access: ClusterAccess, nodeName: string): Promise<void> {
  await call(access, 'DELETE', `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/${sliceName(nodeName)}`, undefined, [200, 202, 404]);
  await call(access, 'DELETE', `/api/v1/nodes/${nodeName}`, undefined, [200, 202, 404]);
}
