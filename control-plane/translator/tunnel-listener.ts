/**
 * Where agents' in-cluster Envoys dial out to and register reverse tunnels. Only certificates
 * from the agent CA complete the handshake, and the cluster an agent claims in the tunnel
 * handshake must be the one its certificate names (the DNS SAN is the cluster name): a cluster
 * can only ever register tunnels under its own name.
 */
import type { EdgeTunnelSettings } from './input';
import { ADS_CONFIG_SOURCE, AGENT_CA_SECRET, EDGE_TUNNEL_IDENTITY_SECRET, TUNNEL_LISTENER, typeUrl } from './names';

/** Idle tunnels are pinged this often, so a dead one is noticed and re-dialled by the agent. */
const TUNNEL_PING_SECONDS = 2;

export function tunnelListener(tunnels: EdgeTunnelSettings): object {
  return {
    name: TUNNEL_LISTENER,
    address: { socket_address: { address: tunnels.listenAddress, port_value: tunnels.listenPort } },
    filter_chains: [
      {
        name: 'agents',
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': typeUrl('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
            require_client_certificate: { value: true },
            common_tls_context: {
              tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
              tls_certificate_sds_secret_configs: [{ name: EDGE_TUNNEL_IDENTITY_SECRET, sds_config: ADS_CONFIG_SOURCE }],
              validation_context_sds_secret_config: { name: AGENT_CA_SECRET, sds_config: ADS_CONFIG_SOURCE },
            },
          },
        },
        filters: [
          {
            name: 'envoy.filters.network.reverse_tunnel',
            typed_config: {
              '@type': typeUrl('envoy.extensions.filters.network.reverse_tunnel.v3.ReverseTunnel'),
              ping_interval: { seconds: TUNNEL_PING_SECONDS },
              handshake_timeout: { seconds: 5 },
              validation: {
                // Evaluated on the verified handshake connection; a certificate without a DNS
                // SAN formats as "-", which is never a cluster name.
                cluster_id_format: '%DOWNSTREAM_PEER_DNS_SAN%',
                tenant_id_format: '%DOWNSTREAM_PEER_DNS_SAN%',
                emit_dynamic_metadata: true,
              },
            },
          },
        ],
      },
    ],
  };
}
