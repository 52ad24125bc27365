/**
 * The in-cluster Envoy's upstreams: the edge's tunnel listener (dialled out, mTLS with the
 * agent's certificate, the edge verified by name) and the cluster's kube-apiserver (verified
 * against the CA the agent registered) twice: over HTTP/2 for ordinary requests, so thousands of
 * watches share a few connections instead of holding one TLS connection each on both sides,
 * and over HTTP/1.1 for the requests that upgrade (exec, attach, port-forward), which
 * kube-apiserver serves only there.
 */
import { isIP } from 'node:net';
import type { AgentTranslatorInput } from './input';
import { ADS_CONFIG_SOURCE, typeUrl } from '../translator/names';
import { APISERVER_CA_SECRET, APISERVER_CLUSTER, APISERVER_UPGRADE_CLUSTER, EDGE_CA_SECRET, EDGE_TUNNEL_CLUSTER } from './names';
import { fileSecret } from './file-secrets';
import { LONG_LIVED_STREAMS } from '../translator/long-lived-streams';
import { AGENT_SECRET_FILES, EDGE_TUNNEL_SERVER_NAME } from '../../agent/protocol/identities';

export function agentClusters(input: AgentTranslatorInput): object[] {
  return [edgeTunnelCluster(input), apiserverCluster(input, 'h2'), apiserverCluster(input, 'http/1.1')];
}

/** STATIC for addresses, STRICT_DNS for names (re-resolved, so a moved edge is followed). */
function discovery(...hosts: string[]): object {
  return { type: hosts.every((host) => isIP(host)) ? 'STATIC' : 'STRICT_DNS' };
}

function loadAssignment(name: string, addresses: readonly { readonly host: string; readonly port: number }[]): object {
  const lbEndpoints = addresses.map(({ host, port }) => ({ endpoint: { address: { socket_address: { address: host, port_value: port } } } }));
  return { cluster_name: name, endpoints: [{ lb_endpoints: lbEndpoints }] };
}

function edgeTunnelCluster(input: AgentTranslatorInput): object {
  return {
    name: EDGE_TUNNEL_CLUSTER,
    ...discovery(...input.edgeTunnels.map((t) => t.host)),
    connect_timeout: { seconds: 5 },
    // Each edge replica is a host: the reverse-tunnel initiator keeps tunnels to every host.
    load_assignment: loadAssignment(EDGE_TUNNEL_CLUSTER, input.edgeTunnels),
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': typeUrl('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
        sni: EDGE_TUNNEL_SERVER_NAME,
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
          tls_certificate_sds_secret_configs: [fileSecret(input.secretsDirectory, AGENT_SECRET_FILES.identity)],
          combined_validation_context: {
            default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: EDGE_TUNNEL_SERVER_NAME } }] },
            validation_context_sds_secret_config: { name: EDGE_CA_SECRET, sds_config: ADS_CONFIG_SOURCE },
          },
        },
      },
    },
  };
}

function apiserverCluster(input: AgentTranslatorInput, protocol: 'h2' | 'http/1.1'): object {
  const { host, port } = input.apiserver;
  const serverName = input.apiserver.serverName ?? host;
  const name = protocol === 'h2' ? APISERVER_CLUSTER : APISERVER_UPGRADE_CLUSTER;
  return {
    name,
    ...discovery(host),
    connect_timeout: { seconds: 5 },
    circuit_breakers: LONG_LIVED_STREAMS,
    load_assignment: loadAssignment(name, [{ host, port }]),
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': typeUrl('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
        explicit_http_config: protocol === 'h2' ? { http2_protocol_options: {} } : { http_protocol_options: {} },
      },
    },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': typeUrl('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
        ...(isIP(serverName) ? {} : { sni: serverName }),
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
          alpn_protocols: [protocol],
          combined_validation_context: {
            default_validation_context: {
              match_typed_subject_alt_names: [{ san_type: isIP(serverName) ? 'IP_ADDRESS' : 'DNS', matcher: { exact: serverName } }],
            },
            validation_context_sds_secret_config: { name: APISERVER_CA_SECRET, sds_config: ADS_CONFIG_SOURCE },
          },
        },
      },
    },
  };
}

export function agentSecrets(input: AgentTranslatorInput): object[] {
  return [
    { name: APISERVER_CA_SECRET, validation_context: { trusted_ca: { inline_string: input.apiserver.caPem } } },
    { name: EDGE_CA_SECRET, validation_context: { trusted_ca: { inline_string: input.edgeCaPem } } },
  ];
}
