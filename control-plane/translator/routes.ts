import { isTunnelCluster, type TranslatorInput } from './input';
import { EDGE_ROUTES, clusterPathPrefix, tunnelClusterName, upstreamClusterName } from './names';
import { kubernetesStatusBody } from '../kubernetes-api/status-body';
import { selfReviewRoutes } from './self-review-route';

/**
 * One route per registered cluster, selected by the path prefix /clusters/<name>/ that the
 * kubeconfig's server URL carries; the prefix is removed before the request goes upstream.
 * Timeouts are off on these routes: a watch, logs -f or exec stays open as long as the user
 * wants, bounded by the connection manager's stream idle timeout instead.
 *
 * Before each cluster's routes, one for the self reviews (`kubectl auth can-i`, `whoami`) with
 * the answer-rewriting filter on: same upstream, same decision, truthful answer.
 */
export function translateRoutes(input: TranslatorInput): object[] {
  const routes: object[] = [];
  for (const cluster of input.clusters) {
    const target = isTunnelCluster(cluster) ? tunnelClusterName(cluster.name) : upstreamClusterName(cluster.name);
    const action = { cluster: target, timeout: { seconds: 0 } };
    routes.push(...selfReviewRoutes(cluster.name, target));
    routes.push({
      name: `cluster/${cluster.name}`,
      match: { prefix: clusterPathPrefix(cluster.name) },
      route: { ...action, prefix_rewrite: '/' },
    });
    routes.push({
      name: `cluster/${cluster.name}/root`,
      match: { path: clusterPathPrefix(cluster.name).replace(/\/$/, '') },
      route: { ...action, prefix_rewrite: '/' },
    });
  }
  routes.push({
    name: 'unknown-cluster',
    match: { prefix: '/' },
    direct_response: {
      status: 404,
      body: { inline_string: kubernetesStatusBody(404, 'NotFound', 'kubegate: no such cluster; use a server URL of the form https://<edge>/clusters/<name>') },
    },
  });
  return [
    {
      name: EDGE_ROUTES,
      virtual_hosts: [{ name: 'kubernetes-clusters', domains: ['*'], routes }],
    },
  ];
}
