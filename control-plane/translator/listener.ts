import type { TranslatorInput } from './input';
import { ADS_CONFIG_SOURCE, EDGE_LISTENER, EDGE_ROUTES, EDGE_SERVING_SECRET, USER_CA_SECRET, typeUrl } from './names';
import { httpFilters } from './http-filters';
import { accessLogs } from './access-log';

const DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS = 3600;

/**
 * The edge's one TLS listener. A client certificate signed by the user CA is required for the
 * handshake to complete at all, so nothing unauthenticated reaches an HTTP filter.
 */
export function translateListeners(input: TranslatorInput): object[] {
  const { edge } = input;
  return [
    {
      name: EDGE_LISTENER,
      address: { socket_address: { address: edge.listenAddress, port_value: edge.listenPort } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: httpConnectionManager(input),
            },
          ],
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': typeUrl('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
              require_client_certificate: { value: true },
              common_tls_context: {
                tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
                alpn_protocols: ['h2', 'http/1.1'],
                tls_certificate_sds_secret_configs: [{ name: EDGE_SERVING_SECRET, sds_config: ADS_CONFIG_SOURCE }],
                validation_context_sds_secret_config: { name: USER_CA_SECRET, sds_config: ADS_CONFIG_SOURCE },
              },
            },
          },
        },
      ],
    },
  ];
}

function httpConnectionManager(input: TranslatorInput): object {
  return {
    '@type': typeUrl('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
    stat_prefix: 'edge',
    codec_type: 'AUTO',
    rds: { route_config_name: EDGE_ROUTES, config_source: ADS_CONFIG_SOURCE },
    // exec, attach and port-forward upgrade the connection: SPDY/3.1 (older kubectl and
    // port-forward) and WebSocket (kubectl 1.31+ exec); both must be allowed through.
    upgrade_configs: [{ upgrade_type: 'websocket' }, { upgrade_type: 'SPDY/3.1' }],
    stream_idle_timeout: { seconds: input.edge.streamIdleTimeoutSeconds ?? DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS },
    // The user-facing request timeout is off: a watch is a request that legitimately lasts.
    request_timeout: { seconds: 0 },
    use_remote_address: { value: true },
    // Normalise before routing and authorization so /clusters/a/../b or // cannot pick
    // a different cluster than the one the decision was made for; encoded slashes have no
    // place in a Kubernetes API path and are refused outright.
    normalize_path: { value: true },
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    forward_client_cert_details: 'SANITIZE',
    http_filters: httpFilters(input),
    access_log: accessLogs(input),
  };
}
