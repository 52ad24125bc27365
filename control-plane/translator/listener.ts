import { edgeUserShards, holdsLiveCertificate, type EdgeUser, type TranslatorInput } from './input';
import { ADS_CONFIG_SOURCE, EDGE_LISTENER, EDGE_ROUTES, EDGE_SERVING_SECRET, USER_CA_SECRET, USER_FALLBACK_CHAIN, USERS_SHARED_CHAIN, typeUrl, userFilterChainName } from './names';
import { httpFilters } from './http-filters';
import { accessLogs, DEFAULT_ACCESS_LOG_FLUSH_INTERVAL_SECONDS } from './access-log';
import { DEFAULT_USER_SERVER_NAME_SUFFIX, userServerName, userShard, userUri } from '../identity/user-identity';
import { toStruct } from '../proto/struct-value';
import { tunnelListener } from './tunnel-listener';
import { shardingListener, shardListener, tlsInspector } from './shard-listeners';
import type { FilterChainMemo } from './filter-chain-memo';
import { retryAfterLocalReplies } from './retry-after';

const DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS = 3600;
const DEFAULT_MAX_STREAM_DURATION_SECONDS = 4 * 3600;

/**
 * The edge's users' listener. A client certificate signed by the user CA is required for the
 * handshake to complete at all, so nothing unauthenticated reaches an HTTP filter.
 *
 * Each enabled user who holds a live certificate has a filter chain of their own, selected by
 * the TLS server name their kubeconfig sends and pinned to their certificate's URI SAN, so
 * another user's certificate cannot complete a handshake on it. Envoy updates filter chains in
 * place and drains only the connections of a chain that changed or went away: changing one
 * user's chain (lost access) or removing it (revoked, certificate expired, disabled, deleted)
 * closes that user's watches and exec sessions and nobody else's. Users without a live
 * certificate get no chain: nothing they hold could complete a handshake that needs one, and
 * every chain costs Envoy time on every listener update.
 *
 * A user's server name whose chain the edge does not have (yet: a certificate issued a moment
 * ago, or by another control plane replica) matches the user fallback chain, a wildcard on the
 * users' suffix. ext_authz serves such a user there as on their own chain, so the fallback
 * chain has a revision too, which the control plane changes whenever that user's connections
 * must close: it is a filter chain, so changing it drains only its own connections (changing
 * the default chain would make Envoy rebuild the whole listener and drain everyone).
 * A connection that names no user's server name (no server name at all, an IP address, the
 * edge's own DNS name) lands on the shared users' chain. Tools that set the server URL
 * themselves do that: `kubectl --server https://<edge>/clusters/<c>`, client-go programs that
 * override the host (client-go then drops the kubeconfig's tls-server-name), Kubernetes' own
 * e2e framework. ext_authz serves any user there by their certificate alone. Its revision
 * (TranslatorInput.sharedChainRevision) changes when a user whose streams must close has one
 * open on it, so revocation still closes them within the bound; the price is that everyone
 * else's streams on this chain close too and reconnect (kubectl's watches end). Users who keep
 * the kubeconfig's tls-server-name, or whose server URL carries their name in the host (see
 * README, "DNS for a production edge"), stay on their own chains and are never drained for
 * someone else. The shared chain is in shard 0, where the public listener sends every
 * connection without a user's server name. Anything that is not TLS lands on the default
 * chain, whose handshake fails.
 *
 * Shards (EdgeSettings.userShards, 16 by default). Changing one chain still makes Envoy rebuild
 * the listener that holds it, in main-thread time that grows with that listener's chains: with
 * ten thousand users on one listener Envoy spent about 6 s on a revocation, against a 2 s target
 * for closing the user's streams. So the chains are split by the first hex digits of the server
 * name's digest (identity/user-identity.ts userShard) across internal listeners
 * `edge-shard-<k>`, each holding the chains above for its own users plus its own fallback and
 * default chains; a change rebuilds one shard (about 0.8 s at ten thousand users and 16 shards:
 * bench/revocation.ts, docs/research/sharded-user-listeners). The public listener keeps its name
 * and address, reads the server name and passes the still-encrypted connection to its shard
 * (shard-listeners.ts); it does not depend on the users, so it never changes and never drains
 * anyone. The TLS handshake, mTLS pinning and everything HTTP happen on the shard, where the
 * client's real address arrives in a PROXY protocol header. The edge's bootstrap turns on
 * internal listeners and keeps refused handshakes' TLS alerts from turning into resets on the
 * way out (envoy/bootstrap.ts). userShards 1 is the single listener this replaces, unchanged.
 */
export function translateListeners(input: TranslatorInput, memo?: FilterChainMemo): object[] {
  const { edge } = input;
  const built = httpConnectionManager(input);
  const hcm = memo ? memo.connectionManager(built) : built;
  const suffix = edge.userServerNameSuffix ?? DEFAULT_USER_SERVER_NAME_SUFFIX;
  const now = input.now ?? 0;
  const shards = edgeUserShards(edge);
  const users = (input.users ?? []).filter((u) => holdsLiveCertificate(u, now)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const fallbackRevision = (shard: number) => input.userFallbackRevisions?.[String(shard)] ?? input.userFallbackRevision ?? '0';
  // The chains of one listener: its users' own, the user fallback, the shared one (shard 0
  // only), and the default.
  const chains = (members: readonly EdgeUser[], shard: number) => ({
    filter_chains: [
      ...members.map((user) => (memo ? memo.chain(`${user.name}\0${user.revision}\0${suffix}`, () => userFilterChain(user, suffix, hcm)) : userFilterChain(user, suffix, hcm))),
      userFallbackChain(fallbackRevision(shard), suffix, hcm),
      ...(shard === 0 ? [usersSharedChain(input.sharedChainRevision ?? '0', hcm)] : []),
    ],
    default_filter_chain: {
      name: 'default',
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
      transport_socket: downstreamTls(null),
    },
  });
  const tunnels = input.tunnels ? [tunnelListener(input.tunnels)] : [];
  if (shards === 1) {
    const listeners = [
      {
        name: EDGE_LISTENER,
        address: { socket_address: { address: edge.listenAddress, port_value: edge.listenPort } },
        // Reads the server name from the ClientHello so that a user's chain can be chosen.
        listener_filters: [tlsInspector()],
        ...chains(users, 0),
      },
      ...tunnels,
    ];
    memo?.finish();
    return listeners;
  }
  const members: EdgeUser[][] = Array.from({ length: shards }, () => []);
  for (const user of users) members[userShard(user.name, shards)]!.push(user);
  const listeners = [shardingListener(edge, shards), ...members.map((shardUsers, shard) => shardListener(shard, chains(shardUsers, shard))), ...tunnels];
  memo?.finish();
  return listeners;
}

function userFilterChain(user: EdgeUser, suffix: string, hcm: object): object {
  return {
    name: userFilterChainName(user.name),
    filter_chain_match: { server_names: [userServerName(user.name, suffix)] },
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
    transport_socket: downstreamTls(user.name),
    // Part of the chain's configuration on purpose: a new revision is a changed chain, which
    // Envoy drains.
    metadata: { filter_metadata: { kubegate: toStruct({ user: user.name, revision: user.revision }) } },
  };
}

/** Every user's server name (the most specific match wins, so a user's own chain comes first). */
function userFallbackChain(revision: string, suffix: string, hcm: object): object {
  return {
    name: USER_FALLBACK_CHAIN,
    filter_chain_match: { server_names: [`*.${suffix}`] },
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
    transport_socket: downstreamTls(null),
    metadata: { filter_metadata: { kubegate: toStruct({ revision }) } },
  };
}

/**
 * Every TLS connection that matched no server name above: no chain is more general except the
 * default one, which Envoy would rebuild the listener (and drain everyone) to change.
 */
function usersSharedChain(revision: string, hcm: object): object {
  return {
    name: USERS_SHARED_CHAIN,
    filter_chain_match: { transport_protocol: 'tls' },
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
    transport_socket: downstreamTls(null),
    metadata: { filter_metadata: { kubegate: toStruct({ revision }) } },
  };
}

/** TLS 1.2+, a client certificate from the user CA, and on a user's chain that user's URI SAN. */
function downstreamTls(user: string | null): object {
  const caFromSds = { name: USER_CA_SECRET, sds_config: ADS_CONFIG_SOURCE };
  const validation = user
    ? {
        combined_validation_context: {
          default_validation_context: {
            match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: userUri(user) } }],
          },
          validation_context_sds_secret_config: caFromSds,
        },
      }
    : { validation_context_sds_secret_config: caFromSds };
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': typeUrl('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
      require_client_certificate: { value: true },
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
        alpn_protocols: ['h2', 'http/1.1'],
        tls_certificate_sds_secret_configs: [{ name: EDGE_SERVING_SECRET, sds_config: ADS_CONFIG_SOURCE }],
        ...validation,
      },
    },
  };
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
    common_http_protocol_options: {
      max_stream_duration: { seconds: input.edge.maxStreamDurationSeconds ?? DEFAULT_MAX_STREAM_DURATION_SECONDS },
    },
    use_remote_address: { value: true },
    // The client sees x-request-id: a user or support can name the request to look it up in
    // the audit trail (kubegate audit --request-id), which is keyed by it.
    always_set_request_id_in_response: true,
    // Normalise before routing and authorization so /clusters/a/../b or // cannot pick
    // a different cluster than the one the decision was made for; encoded slashes have no
    // place in a Kubernetes API path and are refused outright.
    normalize_path: { value: true },
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    forward_client_cert_details: 'SANITIZE',
    local_reply_config: retryAfterLocalReplies(),
    http_filters: httpFilters(input),
    access_log: accessLogs(input),
    access_log_options: {
      access_log_flush_interval: { seconds: input.edge.accessLogFlushIntervalSeconds ?? DEFAULT_ACCESS_LOG_FLUSH_INTERVAL_SECONDS },
      flush_log_on_tunnel_successfully_established: true,
    },
  };
}
