import type { TranslatorInput } from './input';
import { upstreamClusterName } from './names';

/** Where each cluster's kube-apiserver answers. */
export function translateEndpoints(input: TranslatorInput): object[] {
  return input.clusters.map((cluster) => ({
    cluster_name: upstreamClusterName(cluster.name),
    endpoints: [
      {
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: cluster.apiserver.host, port_value: cluster.apiserver.port } } } },
        ],
      },
    ],
  }));
}
