/**
 * The minimal bootstrap an Envoy starts with: who it is, where its admin port listens, and how
 * to reach the control plane over mTLS. Everything else (listeners, routes, clusters,
 * endpoints, secrets) arrives over ADS. Pure: paths and ports come in, JSON comes out.
 */

import { isIP } from 'node:net';

/** Static cluster for the control plane's gRPC port: ADS and the access-log service. */
export const CONTROL_PLANE_CLUSTER = 'kubegate-control-plane';
/** Static cluster for the ext_authz port, which is separate because it is on the hot path. */
export const AUTHZ_CLUSTER = 'kubegate-authz';

/** The name the control plane's serving certificate carries; Envoys and agents verify it. */
import { CONTROL_PLANE_SERVER_NAME } from '../../agent/protocol/identities';
export { CONTROL_PLANE_SERVER_NAME };

export interface BootstrapProps {
  readonly nodeId: string;
  /** Envoy's node cluster, for grouping in stats. @default 'kubegate-edge' */
  readonly nodeCluster?: string;
  readonly adminPort: number;
  readonly controlPlane: { readonly host: string; readonly port: number };
  readonly authz: { readonly host: string; readonly port: number };
  /** Files Envoy reads for its own mTLS identity toward the control plane. */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
  /** Upper bound on downstream connections, so overload is shed rather than fatal. @default 50000 */
  readonly maxDownstreamConnections?: number;
  /**
   * Which variant of ADS the Envoy speaks. Delta sends only the resources that changed (a
   * revocation at ten thousand users: one shard listener instead of all of them) and lets a
   * reconnecting Envoy keep what it has; state of the world resends every resource of a type.
   * @default 'delta'
   */
  readonly xdsProtocol?: XdsProtocol;
}

/** ADS variants the control plane serves (xds/ads-server.ts serves both on one port). */
export type XdsProtocol = 'delta' | 'sotw';

export const XDS_PROTOCOLS: readonly XdsProtocol[] = ['delta', 'sotw'];

const ADS = { ads: {}, resource_api_version: 'V3' };

export function edgeBootstrap(props: BootstrapProps): object {
  return {
    node: { id: props.nodeId, cluster: props.nodeCluster ?? 'kubegate-edge' },
    // Keeps the reverse tunnels agents open to the edge's tunnel listener (a bootstrap-only
    // extension: it cannot arrive over xDS). Tenant isolation scopes every tunnel to the cluster
    // whose certificate opened it.
    bootstrap_extensions: [
      {
        name: 'envoy.bootstrap.reverse_tunnel.upstream_socket_interface',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.bootstrap.reverse_tunnel.upstream_socket_interface.v3.UpstreamReverseConnectionSocketInterface',
          stat_prefix: 'reverse_tunnels',
          enable_tenant_isolation: true,
        },
      },
      // Internal listeners (another bootstrap-only extension): the users' shards
      // (translator/listener.ts) are listeners the public one connects to inside Envoy.
      {
        name: 'envoy.bootstrap.internal_listener',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener' },
      },
    ],
    layered_runtime: {
      layers: [
        {
          name: 'static',
          static_layer: {
            // A handshake a shard refuses (certificate expired, another user's certificate, none
            // at all) ends with a TLS alert, which the client turns into a reason the user can
            // act on (cli/api-client.ts). With this feature on, an internal listener's socket
            // closes with a reset, the public listener passes the reset on and drops the alert
            // it had buffered: the client saw only ECONNRESET (Envoy 1.40; the experiment in
            // docs/research/sharded-user-listeners). Reloadable features are temporary in Envoy:
            // test/e2e/policy-enforcement.test.ts checks the alerts arrive, so an upgrade that
            // removes this flag cannot silently bring the resets back.
            'envoy.reloadable_features.enable_send_rst_on_user_space_socket': false,
          },
        },
      ],
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: props.adminPort } } },
    dynamic_resources: {
      ads_config: {
        api_type: (props.xdsProtocol ?? 'delta') === 'delta' ? 'DELTA_GRPC' : 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: CONTROL_PLANE_CLUSTER } }],
        set_node_on_first_message_only: true,
      },
      lds_config: ADS,
      cds_config: ADS,
    },
    static_resources: {
      clusters: [
        controlPlaneCluster(CONTROL_PLANE_CLUSTER, props.controlPlane, props.tls),
        controlPlaneCluster(AUTHZ_CLUSTER, props.authz, props.tls),
      ],
    },
    overload_manager: {
      resource_monitors: [
        {
          name: 'envoy.resource_monitors.global_downstream_max_connections',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
            max_active_downstream_connections: props.maxDownstreamConnections ?? 50000,
          },
        },
      ],
    },
  };
}

function isIpAddress(host: string): boolean {
  return isIP(host.replace(/^\[|\]$/g, '')) !== 0;
}

/** An HTTP/2 cluster to one of the control plane's mTLS ports, verified by name. */
export function controlPlaneCluster(name: string, address: { host: string; port: number }, tls: BootstrapProps['tls']): object {
  return {
    name,
    // An address is used as it is; a name (the controller's Service in a cluster) is resolved
    // and re-resolved, so a headless Service spreads the Envoy over every controller replica.
    ...(isIpAddress(address.host) ? { type: 'STATIC' } : { type: 'STRICT_DNS', dns_lookup_family: 'V4_PREFERRED', dns_refresh_rate: '5s' }),
    connect_timeout: '5s',
    // Checks a replica leaves to another are retried (the ext_authz retry policy), many at a
    // time under load; Envoy's default of 3 retries in flight at once turned the rest into
    // errors (refused requests) on a hub with two replicas.
    circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_retries: 1024 }] },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: {
          // Keepalive notices a control plane that vanished without closing the connection.
          http2_protocol_options: { connection_keepalive: { interval: '15s', timeout: '5s' } },
        },
      },
    },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: address.host, port_value: address.port } } } }] }],
    },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        sni: CONTROL_PLANE_SERVER_NAME,
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
          alpn_protocols: ['h2'],
          tls_certificates: [{ certificate_chain: { filename: tls.certFile }, private_key: { filename: tls.keyFile } }],
          validation_context: {
            trusted_ca: { filename: tls.caFile },
            match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: CONTROL_PLANE_SERVER_NAME } }],
          },
        },
      },
    },
  };
}
