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
/**
 * A request that never reached the cluster is tried again, on another tunnel. While an agent pod
 * hands over to the next (a rolling update), the edge's per-worker pick of a tunnel can land on
 * the leaving pod's node after its last idle tunnel went (Envoy counts that as a connect
 * failure), or on a tunnel that is draining (its stream refused). Only failures that prove
 * nothing was sent upstream are retried, so a create is never made twice; a reset after the
 * request went out is the client's to judge, as without kubegate.
 */
const TUNNEL_RETRY_POLICY = {
  retry_on: 'connect-failure,refused-stream,reset-before-request',
  num_retries: { value: 5 },
  retry_back_off: { base_interval: { nanos: 25e6 }, max_interval: { nanos: 250e6 } },
};

export function translateRoutes(input: TranslatorInput): object[] {
  const routes: object[] = [];
  for (const cluster of input.clusters) {
    const target = isTunnelCluster(cluster) ? tunnelClusterName(cluster.name) : upstreamClusterName(cluster.name);
    const action = { cluster: target, timeout: { seconds: 0 }, ...(isTunnelCluster(cluster) && { retry_policy: TUNNEL_RETRY_POLICY }) };
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
