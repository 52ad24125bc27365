/**
 * The edge's users split across shards (listener.ts explains why): a public listener that only
 * reads the TLS server name and hands the connection, still encrypted, to the internal listener
 * of that name's shard; the internal listeners; and the clusters that connect the two.
 */
import type { EdgeSettings } from './input';
import { LONG_LIVED_STREAMS } from './long-lived-streams';
import { EDGE_LISTENER, edgeShardChainName, edgeShardClusterName, edgeShardListenerName, typeUrl } from './names';
import { USER_LABEL_PREFIX, userShardOfPrefix, userShardPrefixDigits } from '../identity/user-identity';

export function tlsInspector(): object {
  return {
    name: 'envoy.filters.listener.tls_inspector',
    typed_config: { '@type': typeUrl('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector') },
  };
}

/**
 * The public listener: same name and address as the unsharded edge's. It depends only on the
 * shard count, never on the users, so publishing a change to users leaves it as it is: a change
 * here would make Envoy rebuild it and drain every connection at the edge.
 */
export function shardingListener(edge: EdgeSettings, shards: number): object {
  const digits = userShardPrefixDigits(shards);
  const toShard = (shard: number) => ({
    action: { name: edgeShardChainName(shard), typed_config: { '@type': typeUrl('google.protobuf.StringValue'), value: edgeShardChainName(shard) } },
  });
  // Every prefix of `digits` hex digits, each to its shard: Envoy takes the longest matching
  // prefix, and all of these are the same length, so exactly one matches a user's server name.
  const map: Record<string, object> = {};
  for (let value = 0; value < 16 ** digits; value++) {
    const hex = value.toString(16).padStart(digits, '0');
    map[USER_LABEL_PREFIX + hex] = toShard(userShardOfPrefix(hex, shards));
  }
  return {
    name: EDGE_LISTENER,
    address: { socket_address: { address: edge.listenAddress, port_value: edge.listenPort } },
    // Reads the server name from the ClientHello; the handshake itself happens on the shard.
    listener_filters: [tlsInspector()],
    filter_chains: Array.from({ length: shards }, (_, shard) => ({
      name: edgeShardChainName(shard),
      filters: [
        {
          name: 'envoy.filters.network.tcp_proxy',
          typed_config: {
            '@type': typeUrl('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy'),
            stat_prefix: edgeShardChainName(shard),
            cluster: edgeShardClusterName(shard),
            // Off: the shard's connection manager owns every timeout (stream idle, maximum
            // stream duration, connection idle) and closing its connection closes this one. Left
            // at tcp_proxy's default of an hour, this hop would cut a watch that is legitimately
            // quiet for longer (a configured stream idle timeout above an hour) with no record
            // of why in the HTTP layer.
            idle_timeout: { seconds: 0 },
          },
        },
      ],
    })),
    filter_chain_matcher: {
      matcher_tree: {
        input: { name: 'server-name', typed_config: { '@type': typeUrl('envoy.extensions.matching.common_inputs.network.v3.ServerNameInput') } },
        prefix_match_map: { map },
      },
      // No server name, or one that is not a user's: shard 0, whose default chain refuses it
      // with a reason, as the unsharded listener's does.
      on_no_match: toShard(0),
    },
  };
}

/** Shard `shard`'s internal listener, holding `chains` (its users', fallback and default). */
export function shardListener(shard: number, chains: { filter_chains: object[]; default_filter_chain: object }): object {
  return {
    name: edgeShardListenerName(shard),
    internal_listener: {},
    listener_filters: [
      // The client's address and the public listener's, from the header the shard cluster
      // writes: ext_authz decides, and the audit trail records, the real source address.
      { name: 'envoy.filters.listener.proxy_protocol', typed_config: { '@type': typeUrl('envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol') } },
      tlsInspector(),
    ],
    ...chains,
  };
}

/**
 * The public listener's way to each shard: a connection to the internal listener, preceded by
 * a PROXY protocol v2 header that carries the client's address. Only Envoy itself can reach an
 * internal listener, so nobody else can forge that header.
 */
export function shardClusters(shards: number): object[] {
  if (shards === 1) return [];
  return Array.from({ length: shards }, (_, shard) => ({
    name: edgeShardClusterName(shard),
    type: 'STATIC',
    connect_timeout: { seconds: 5 },
    // Every open watch or exec session is a connection through this cluster; the default
    // circuit breaker (1024 connections) would refuse the 1025th user connection of a shard.
    circuit_breakers: LONG_LIVED_STREAMS,
    load_assignment: {
      cluster_name: edgeShardClusterName(shard),
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { envoy_internal_address: { server_listener_name: edgeShardListenerName(shard) } } } }] }],
    },
    transport_socket: {
      name: 'envoy.transport_sockets.upstream_proxy_protocol',
      typed_config: {
        '@type': typeUrl('envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport'),
        config: { version: 'V2' },
        transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': typeUrl('envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer') } },
      },
    },
  }));
}
