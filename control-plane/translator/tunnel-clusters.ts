/**
 * The edge's side of a cluster behind a firewall: an Envoy cluster whose "connections" are the
 * reverse tunnels the cluster's in-cluster Envoy opened to the edge's tunnel listener.
 *
 * - The tunnel is chosen by the authorization decision: ext_authz writes into dynamic metadata
 *   the decided cluster, or the node of the cluster's newest ready agent pod (during a rolling
 *   update the leaving pod gets no new request), and `host_id_format` reads it there. A client
 *   header has no say, and a request without a decision finds no tunnel (503).
 * - Tenant isolation scopes the lookup to this cluster's own tunnels, so an agent cannot capture
 *   another cluster's traffic by picking the node id it registers under.
 * - The tunnel handshake's TLS ends once the tunnel is registered (Envoy hands over the raw
 *   socket), so the data path runs a TLS session of its own: the edge is the client, presents
 *   kubegate://edge and accepts only this cluster's agent certificate.
 */
import type { TunnelCluster } from './input';
import { ADS_CONFIG_SOURCE, AGENT_CA_SECRET, EDGE_TUNNEL_IDENTITY_SECRET, tunnelClusterName, typeUrl } from './names';
import { AUTHZ_METADATA_NAMESPACE_NAME } from './http-filters';
import { LONG_LIVED_STREAMS } from './long-lived-streams';
import { TUNNEL_MAX_CONCURRENT_STREAMS, agentIdentityUri } from '../../agent/protocol/identities';

export function tunnelCluster(cluster: TunnelCluster): object {
  return {
    name: tunnelClusterName(cluster.name),
    connect_timeout: { seconds: 2 },
    lb_policy: 'CLUSTER_PROVIDED',
    cluster_type: {
      name: 'envoy.clusters.reverse_connection',
      typed_config: {
        '@type': typeUrl('envoy.extensions.clusters.reverse_connection.v3.ReverseConnectionClusterConfig'),
        cleanup_interval: { seconds: 60 },
        host_id_format: `%DYNAMIC_METADATA(${AUTHZ_METADATA_NAMESPACE_NAME}:tunnel)%`,
        tenant_id_format: cluster.name,
      },
    },
    circuit_breakers: LONG_LIVED_STREAMS,
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': typeUrl('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
          alpn_protocols: ['h2'],
          tls_certificate_sds_secret_configs: [{ name: EDGE_TUNNEL_IDENTITY_SECRET, sds_config: ADS_CONFIG_SOURCE }],
          combined_validation_context: {
            default_validation_context: {
              match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: agentIdentityUri(cluster.name) } }],
            },
            validation_context_sds_secret_config: { name: AGENT_CA_SECRET, sds_config: ADS_CONFIG_SOURCE },
          },
        },
      },
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': typeUrl('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
        explicit_http_config: {
          // Tunnels carry HTTP/2 only; WebSocket and SPDY upgrades cross as extended CONNECT.
          http2_protocol_options: {
            allow_connect: true,
            // Every watch, logs -f and exec of every user of the cluster is one stream on a
            // handful of tunnels: Envoy's default of 1,024 streams a connection would cap a
            // cluster at a few thousand open watches.
            max_concurrent_streams: { value: TUNNEL_MAX_CONCURRENT_STREAMS },
            connection_keepalive: { interval: { seconds: 10 }, timeout: { seconds: 5 } },
          },
        },
      },
    },
  };
}
