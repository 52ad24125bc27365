/**
 * The edge's upstream clusters, one per registered Kubernetes cluster: a direct one reached
 * over verified TLS with kubegate's proxy identity, or the reverse tunnels of a cluster behind
 * a firewall (tunnel-clusters.ts).
 */
import { isIP } from 'node:net';
import { isTunnelCluster, type DirectCluster, type TranslatorInput } from './input';
import { ADS_CONFIG_SOURCE, typeUrl, upstreamCaSecret, upstreamClusterName, upstreamIdentitySecret } from './names';
import { tunnelCluster } from './tunnel-clusters';
import { LONG_LIVED_STREAMS } from './long-lived-streams';

/**
 * One upstream cluster per registered Kubernetes cluster: TLS 1.2+, verified, our identity;
 * for a cluster behind a firewall, the reverse tunnels its agent opened.
 */
export function translateClusters(input: TranslatorInput): object[] {
  return input.clusters.map((c) => (isTunnelCluster(c) ? tunnelCluster(c) : upstreamCluster(c)));
}

function upstreamCluster(cluster: DirectCluster): object {
  const name = upstreamClusterName(cluster.name);
  const serverName = cluster.apiserver.serverName ?? cluster.apiserver.host;
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { service_name: name, eds_config: ADS_CONFIG_SOURCE },
    connect_timeout: { seconds: 5 },
    circuit_breakers: LONG_LIVED_STREAMS,
    // kube-apiserver upgrades (SPDY, WebSocket) for exec/attach/port-forward work over
    // HTTP/1.1 only, so the upstream protocol is pinned rather than negotiated.
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': typeUrl('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
        explicit_http_config: { http_protocol_options: {} },
      },
    },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': typeUrl('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
        // SNI only carries DNS names (RFC 6066); an IP address is verified by SAN instead.
        ...(isIP(serverName) ? {} : { sni: serverName }),
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
          alpn_protocols: ['http/1.1'],
          tls_certificate_sds_secret_configs: [{ name: upstreamIdentitySecret(cluster.name), sds_config: ADS_CONFIG_SOURCE }],
          validation_context_sds_secret_config: { name: upstreamCaSecret(cluster.name), sds_config: ADS_CONFIG_SOURCE },
        },
      },
    },
  };
}
