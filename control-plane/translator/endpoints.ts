import { directClusters, type TranslatorInput } from './input';
import { upstreamClusterName } from './names';

/** Where each directly reached cluster's kube-apiserver answers (tunnels have no endpoints). */
export function translateEndpoints(input: TranslatorInput): object[] {
  return directClusters(input.clusters).map((cluster) => ({
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
