/**
 * The in-cluster Envoy's only listener. Its rc:// address does not bind: Envoy dials the edge's
 * tunnel listener and keeps tunnels open, and requests the edge sends back over them arrive here
 * as if accepted. What the in-cluster Envoy does with each request, in order:
 *   1. TLS on the data path: the edge must present kubegate://edge from the internal CA (the
 *      handshake's TLS does not protect the tunnel's data; this session does).
 *   2. Drops every identity header that arrived (Authorization, Impersonate-*): only what this
 *      Envoy adds below may reach kube-apiserver.
 *   3. Verifies the edge's signed per-request assertion (JWT) for this cluster and turns its
 *      `impersonate` claim into Impersonate-User: the user's ServiceAccount. Without a valid
 *      assertion the request ends here with 401, whatever the tunnel carried.
 *   4. Adds its own credential (the proxy ServiceAccount's token) and sends the request to
 *      kube-apiserver, whose certificate it verifies.
 *   5. Logs the request to the control plane (cluster-access-log.ts), refused ones included.
 * The proxy ServiceAccount may impersonate only ServiceAccounts in kubegate-users (constructs/agent-rbac.ts),
 * so even a forged Impersonate-Group or -Extra header would be refused by the apiserver.
 */
import type { AgentTranslatorInput } from './input';
import { ADS_CONFIG_SOURCE, typeUrl } from '../translator/names';
import { AGENT_ROUTES, AGENT_TUNNEL_LISTENER, APISERVER_CLUSTER, APISERVER_UPGRADE_CLUSTER, ASSERTION_PROVIDER, EDGE_CA_SECRET, EDGE_TUNNEL_CLUSTER } from './names';
import { fileSecret } from './file-secrets';
import { clusterAccessLog, clusterAccessLogOptions } from './cluster-access-log';
import { AGENT_SECRET_FILES, ASSERTION_HEADER, ASSERTION_IMPERSONATE_CLAIM, ASSERTION_ISSUER, EDGE_IDENTITY_URI, TUNNEL_MAX_CONCURRENT_STREAMS, TUNNEL_STAT_PREFIX } from '../../agent/protocol/identities';

const DEFAULT_TUNNELS_PER_EDGE_HOST = 4;
/** Headers that could carry an identity toward kube-apiserver; only this Envoy sets them. */
const IDENTITY_HEADERS = ['authorization', 'impersonate-user', 'impersonate-group', 'impersonate-uid'];
/** Clock skew tolerated between the control plane and the cluster. */
const ASSERTION_CLOCK_SKEW_SECONDS = 30;

export function reverseTunnelListener(input: AgentTranslatorInput): object {
  const count = input.tunnelsPerEdgeHost ?? DEFAULT_TUNNELS_PER_EDGE_HOST;
  return {
    name: AGENT_TUNNEL_LISTENER,
    address: {
      socket_address: {
        // rc://<node id>:<cluster id>:<tenant id>@<cluster to dial>:<tunnels>; the tenant is the
        // cluster, which the edge checks against the certificate.
        address: `rc://${input.nodeId}:${input.cluster}:${input.cluster}@${EDGE_TUNNEL_CLUSTER}:${count}`,
        port_value: 0,
        resolver_name: 'envoy.resolvers.reverse_connection',
      },
    },
    filter_chains: [
      {
        name: 'edge',
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': typeUrl('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
            require_client_certificate: { value: true },
            common_tls_context: {
              tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
              alpn_protocols: ['h2'],
              tls_certificate_sds_secret_configs: [fileSecret(input.secretsDirectory, AGENT_SECRET_FILES.identity)],
              combined_validation_context: {
                default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: EDGE_IDENTITY_URI } }] },
                validation_context_sds_secret_config: { name: EDGE_CA_SECRET, sds_config: ADS_CONFIG_SOURCE },
              },
            },
          },
        },
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: connectionManager(input) }],
      },
    ],
  };
}

function connectionManager(input: AgentTranslatorInput): object {
  return {
    '@type': typeUrl('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
    stat_prefix: TUNNEL_STAT_PREFIX,
    codec_type: 'HTTP2',
    http2_protocol_options: {
      // The edge forwards WebSocket and SPDY upgrades as extended CONNECT (RFC 8441); without
      // this the codec refuses ":protocol" and tears down the whole tunnel with every session.
      allow_connect: true,
      // A malformed stream resets that stream only, not every session sharing the tunnel.
      override_stream_error_on_invalid_http_message: { value: true },
      // All of the cluster's open watches and sessions share a handful of tunnels; the
      // default of 1,024 streams a connection would refuse the rest.
      max_concurrent_streams: { value: TUNNEL_MAX_CONCURRENT_STREAMS },
    },
    upgrade_configs: [{ upgrade_type: 'websocket' }, { upgrade_type: 'spdy/3.1' }],
    // Watches and exec sessions are long; the edge bounds them (idle timeout, max duration).
    stream_idle_timeout: { seconds: 0 },
    // Keep the edge's x-request-id: it joins this Envoy's access-log entry to the request's
    // decision record. Envoy replaces the id of requests it considers external, which needs
    // use_remote_address (not set here); this makes keeping it explicit rather than a
    // consequence of that default.
    preserve_external_request_id: true,
    rds: { route_config_name: AGENT_ROUTES, config_source: ADS_CONFIG_SOURCE },
    http_filters: [
      {
        name: 'envoy.filters.http.header_mutation',
        typed_config: {
          '@type': typeUrl('envoy.extensions.filters.http.header_mutation.v3.HeaderMutation'),
          mutations: { request_mutations: IDENTITY_HEADERS.map((remove) => ({ remove })) },
        },
      },
      {
        name: 'envoy.filters.http.jwt_authn',
        typed_config: {
          '@type': typeUrl('envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication'),
          providers: {
            [ASSERTION_PROVIDER]: {
              issuer: ASSERTION_ISSUER,
              // Minted for this cluster only: an assertion for another cluster is refused.
              audiences: [input.cluster],
              local_jwks: { inline_string: input.assertionJwks },
              from_headers: [{ name: ASSERTION_HEADER }],
              forward: false,
              clock_skew_seconds: ASSERTION_CLOCK_SKEW_SECONDS,
              claim_to_headers: [{ header_name: 'impersonate-user', claim_name: ASSERTION_IMPERSONATE_CLAIM }],
            },
          },
          rules: [{ match: { prefix: '/' }, requires: { provider_name: ASSERTION_PROVIDER } }],
        },
      },
      {
        name: 'envoy.filters.http.credential_injector',
        typed_config: {
          '@type': typeUrl('envoy.extensions.filters.http.credential_injector.v3.CredentialInjector'),
          overwrite: true,
          credential: {
            name: 'envoy.http.injected_credentials.generic',
            typed_config: {
              '@type': typeUrl('envoy.extensions.http.injected_credentials.generic.v3.Generic'),
              credential: fileSecret(input.secretsDirectory, AGENT_SECRET_FILES.apiserverCredential),
              header: 'Authorization',
            },
          },
        },
      },
      { name: 'envoy.filters.http.router', typed_config: { '@type': typeUrl('envoy.extensions.filters.http.router.v3.Router') } },
    ],
    access_log: [clusterAccessLog(input)],
    access_log_options: clusterAccessLogOptions(input),
  };
}

export function agentRoutes(): object {
  return {
    name: AGENT_ROUTES,
    virtual_hosts: [
      {
        name: 'kube-apiserver',
        domains: ['*'],
        routes: [
          // The edge sends upgrades as extended CONNECT; Envoy hands them to routing as HTTP/1.1
          // upgrades, with their Upgrade header.
          { name: 'upgrades', match: { prefix: '/', headers: [{ name: 'upgrade', present_match: true }] }, route: { cluster: APISERVER_UPGRADE_CLUSTER, timeout: { seconds: 0 } } },
          { name: 'all', match: { prefix: '/' }, route: { cluster: APISERVER_CLUSTER, timeout: { seconds: 0 } } },
        ],
      },
    ],
  };
}
