/**
 * A small, consistent set of xDS resources shaped like the translator's output: one listener
 * whose connection manager takes its routes over RDS and its certificates over SDS, two EDS
 * clusters with their load assignments and upstream secrets. Options vary one type at a time,
 * so a test can change exactly the types it means to.
 */
import type { XdsResources } from '../../../control-plane/xds/resources';

export interface FixtureOptions {
  /** Changes LDS. @default 8443 */
  readonly listenerPort?: number;
  /** Changes RDS. @default 'v1' */
  readonly routeTag?: string;
  /** Changes CDS. @default 5 */
  readonly connectTimeoutSeconds?: number;
  /** Changes EDS. @default 6443 */
  readonly apiserverPort?: number;
  /** Changes SDS. @default 'ca-1' */
  readonly caTag?: string;
}

const ADS = { ads: {}, resource_api_version: 'V3' };
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export const CLUSTERS = ['kube-apiserver/alpha', 'kube-apiserver/beta'] as const;

export function listener(name: string, routeConfigName: string, port: number, secrets = { cert: 'edge-cert', ca: 'user-ca' }): object {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: name,
              rds: { route_config_name: routeConfigName, config_source: ADS },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            },
          },
        ],
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
            require_client_certificate: { value: true },
            common_tls_context: {
              tls_certificate_sds_secret_configs: [{ name: secrets.cert, sds_config: ADS }],
              validation_context_sds_secret_config: { name: secrets.ca, sds_config: ADS },
            },
          },
        },
      },
    ],
  };
}

export function edsCluster(name: string, connectTimeoutSeconds: number, serviceName?: string): object {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS, ...(serviceName ? { service_name: serviceName } : {}) },
    connect_timeout: { seconds: connectTimeoutSeconds },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: `identity/${name}`, sds_config: ADS }],
          validation_context_sds_secret_config: { name: `ca/${name}`, sds_config: ADS },
        },
      },
    },
  };
}

export function endpoints(clusterName: string, port: number): object {
  return {
    cluster_name: clusterName,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
  };
}

export function routeConfiguration(name: string, tag: string): object {
  return {
    name,
    virtual_hosts: [
      {
        name: 'clusters',
        domains: ['*'],
        routes: CLUSTERS.map((c) => ({ name: `${c}/${tag}`, match: { prefix: `/clusters/${c.split('/')[1]}/` }, route: { cluster: c, prefix_rewrite: '/' } })),
      },
    ],
  };
}

function pem(tag: string): string {
  return `-----BEGIN CERTIFICATE-----\n${Buffer.from(tag).toString('base64')}\n-----END CERTIFICATE-----\n`;
}

export function secrets(caTag: string): object[] {
  return [
    { name: 'edge-cert', tls_certificate: { certificate_chain: { inline_string: pem('edge') }, private_key: { inline_string: 'key' } } },
    { name: 'user-ca', validation_context: { trusted_ca: { inline_string: pem(`user-${caTag}`) } } },
    ...CLUSTERS.flatMap((c) => [
      { name: `identity/${c}`, tls_certificate: { certificate_chain: { inline_string: pem(c) }, private_key: { inline_string: 'key' } } },
      { name: `ca/${c}`, validation_context: { trusted_ca: { inline_string: pem(`${c}-${caTag}`) } } },
    ]),
  ];
}

export function fixtureResources(options: FixtureOptions = {}): XdsResources {
  return {
    listeners: [listener('edge', 'edge-routes', options.listenerPort ?? 8443)],
    routes: [routeConfiguration('edge-routes', options.routeTag ?? 'v1'), routeConfiguration('spare-routes', options.routeTag ?? 'v1')],
    clusters: CLUSTERS.map((c) => edsCluster(c, options.connectTimeoutSeconds ?? 5)),
    endpoints: CLUSTERS.map((c) => endpoints(c, options.apiserverPort ?? 6443)),
    secrets: secrets(options.caTag ?? 'ca-1'),
  };
}
