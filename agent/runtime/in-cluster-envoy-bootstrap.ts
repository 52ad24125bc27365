/**
 * The in-cluster Envoy's bootstrap: who it is (node id, cluster, where its secrets are), the
 * reverse-tunnel initiator extension (bootstrap-only), and how to reach the control plane's
 * agent port over mTLS with the agent's certificate (AGENT_PORT_CLUSTER: ADS, and the access
 * log the listener sends there). Listeners and clusters arrive over ADS (delta by default).
 * The certificate is read through file-based SDS, so a renewal reaches Envoy without a restart.
 */
import * as path from 'node:path';
import { AGENT_PORT_CLUSTER, AGENT_SECRET_FILES, CONTROL_PLANE_SERVER_NAME, NODE_METADATA_CLUSTER, NODE_METADATA_SECRETS_DIRECTORY, TUNNEL_REDIAL_MAX_BACKOFF_SECONDS } from '../protocol/identities';

export interface InClusterEnvoyBootstrapProps {
  readonly nodeId: string;
  readonly cluster: string;
  readonly adminPort: number;
  readonly controlPlane: { readonly host: string; readonly port: number };
  /** PEM file of the internal CA (the control plane's serving certificate chains to it). */
  readonly controlPlaneCaFile: string;
  /** Absolute directory of the agent's file-based SDS secrets. */
  readonly secretsDirectory: string;
  /**
   * Which ADS variant to speak. With 'delta' a control-plane restart sends this Envoy nothing it
   * already runs (it names its resource versions when it reconnects), and a change such as a
   * rotated apiserver CA sends the one cluster that changed; 'sotw' resends every resource of a
   * type. The agent port serves both.
   * @default 'delta'
   */
  readonly xdsProtocol?: InClusterXdsProtocol;
}

export type InClusterXdsProtocol = 'delta' | 'sotw';

export function inClusterEnvoyBootstrap(props: InClusterEnvoyBootstrapProps): object {
  const ads = { ads: {}, resource_api_version: 'V3' };
  const isIp = /^[\d.]+$|:/.test(props.controlPlane.host);
  return {
    node: {
      id: props.nodeId,
      cluster: `kubegate-agent-${props.cluster}`,
      metadata: { [NODE_METADATA_CLUSTER]: props.cluster, [NODE_METADATA_SECRETS_DIRECTORY]: props.secretsDirectory },
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: props.adminPort } } },
    bootstrap_extensions: [
      {
        name: 'envoy.bootstrap.reverse_tunnel.downstream_socket_interface',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.bootstrap.reverse_tunnel.downstream_socket_interface.v3.DownstreamReverseConnectionSocketInterface',
          stat_prefix: 'reverse_tunnels',
          // Missing tunnels are re-dialled this often: after an edge restart tunnels are back in
          // about a second or a few instead of ~10 s with the default.
          maintain_interval: '1s',
          max_reconnect_backoff: `${TUNNEL_REDIAL_MAX_BACKOFF_SECONDS}s`,
        },
      },
    ],
    dynamic_resources: {
      ads_config: {
        api_type: (props.xdsProtocol ?? 'delta') === 'delta' ? 'DELTA_GRPC' : 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: AGENT_PORT_CLUSTER } }],
        set_node_on_first_message_only: true,
      },
      lds_config: ads,
      cds_config: ads,
    },
    static_resources: {
      clusters: [
        {
          name: AGENT_PORT_CLUSTER,
          type: isIp ? 'STATIC' : 'STRICT_DNS',
          connect_timeout: '5s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: { connection_keepalive: { interval: '15s', timeout: '5s' } } },
            },
          },
          load_assignment: {
            cluster_name: AGENT_PORT_CLUSTER,
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: props.controlPlane.host, port_value: props.controlPlane.port } } } }] }],
          },
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
              sni: CONTROL_PLANE_SERVER_NAME,
              common_tls_context: {
                tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
                alpn_protocols: ['h2'],
                tls_certificate_sds_secret_configs: [
                  {
                    name: AGENT_SECRET_FILES.identity.secret,
                    sds_config: {
                      path_config_source: { path: path.posix.join(props.secretsDirectory, AGENT_SECRET_FILES.identity.file), watched_directory: { path: props.secretsDirectory } },
                      resource_api_version: 'V3',
                    },
                  },
                ],
                validation_context: {
                  trusted_ca: { filename: props.controlPlaneCaFile },
                  match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: CONTROL_PLANE_SERVER_NAME } }],
                },
              },
            },
          },
        },
      ],
    },
  };
}
