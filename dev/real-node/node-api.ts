/**
 * The few API calls a real node's harness makes as the cluster's admin: whether the Node is
 * Ready and schedulable, the `kubernetes` Service's endpoint through this node (the apiserver
 * runs with --endpoint-reconciler-type=none, so nobody else publishes one), and removing the
 * Node and that endpoint when the node leaves.
 */
import { httpsRequest, type TlsClientMaterial } from '../process/https-probe';
import type { LocalCluster } from '../local-cluster/local-cluster';
import { NodeCommandError } from './errors';

/** Labels the EndpointSlices real nodes publish for the `kubernetes` Service. */
export const ENDPOINT_SLICE_MANAGER = 'kubegate-real-node';

function adminTls(cluster: LocalCluster): TlsClientMaterial {
  return { caPem: cluster.caPem, ...cluster.adminCredentials };
}

async function call(cluster: LocalCluster, method: string, path: string, json?: unknown, okStatuses: readonly number[] = [200, 201]): Promise<{ status: number; body: string }> {
  const res = await httpsRequest(`${cluster.apiserverUrl}${path}`, adminTls(cluster), { method, json, timeoutMs: 10_000 });
  if (!okStatuses.includes(res.status)) throw new NodeCommandError(`${method} ${path}`, res.status, res.body);
  return res;
}

interface NodeObject {
  spec?: { taints?: Array<{ key: string; effect: string }> };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

/** null when the Node is Ready and has no not-ready taint left; otherwise what is missing. */
export async function nodeReadiness(cluster: LocalCluster, nodeName: string): Promise<string | null> {
  const res = await httpsRequest(`${cluster.apiserverUrl}/api/v1/nodes/${nodeName}`, adminTls(cluster), { timeoutMs: 5_000 });
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
export async function publishApiserverEndpoint(cluster: LocalCluster, nodeName: string, address: string, port: number): Promise<void> {
  await call(cluster, 'GET', '/api/v1/namespaces/default/services/kubernetes');
  await call(cluster, 'POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: sliceName(nodeName), labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': ENDPOINT_SLICE_MANAGER } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true }, nodeName }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  });
}

/** Removes the node's EndpointSlice and its Node object; either may already be gone. */
export async function forgetNode(cluster: LocalCluster, nodeName: string): Promise<void> {
  await call(cluster, 'DELETE', `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/${sliceName(nodeName)}`, undefined, [200, 202, 404]);
  await call(cluster, 'DELETE', `/api/v1/nodes/${nodeName}`, undefined, [200, 202, 404]);
}
