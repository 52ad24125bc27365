// Renders the experiment's Envoy configuration (JSON). Two subcommands:
//
//   node config.mjs bootstrap WORK SHARDS EDGE_PORT DIRECT_PORT ADMIN_PORT BACKEND_PORT  > bootstrap.json
//   node config.mjs lds WORK SHARDS USERS [user=revision ...]    (writes WORK/lds/lds.json atomically)
//
// SHARDS=0 is the baseline: one public TLS listener with every user's chain (what
// control-plane/translator/listener.ts emits today). SHARDS=16|64|256 puts a TLS-passthrough
// listener on the public port that picks an internal listener "edge-shard-<k>" by the first one
// or two hex digits of the SNI label u-<32 hex>, and the user chains live on those internal
// listeners. Both modes also carry a small "direct" listener (a few user chains on DIRECT_PORT)
// for the latency comparison, and both write every listener into one state-of-the-world file.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { encodeDiscoveryResponse } from './pb.mjs';

const SUFFIX = 'users.kubegate.invalid';
/** pb (default): the LDS file is a binary DiscoveryResponse, decoded by Envoy as from a gRPC
 *  stream. json: Envoy parses JSON, which costs it about 2 s of CPU for 10,000 chains. */
export const LDS_FORMAT = process.env.LDS_FORMAT ?? 'pb';
export const ldsFile = (work) => `${work}/lds/lds.${LDS_FORMAT}`;
const T = (name) => `type.googleapis.com/${name}`;
export const serverName = (user) => `u-${createHash('sha256').update(user, 'utf8').digest('hex').slice(0, 32)}.${SUFFIX}`;
export const userUri = (user) => `kubegate://user/${encodeURIComponent(user)}`;
/** Hex digits of the SNI label that select a shard: 1 for 16 shards, 2 for 64/256. */
const digitsFor = (shards) => (shards <= 16 ? 1 : 2);
export function shardOf(user, shards) {
  const d = digitsFor(shards);
  const v = parseInt(serverName(user).slice(2, 2 + d), 16);
  return Math.floor((v * shards) / 16 ** d);
}
/** The users the functional checks hold certificates for (all inside the 10,000 synthetic ones):
 *  user-91 and user-165 share their first two hex digits (same shard at 16 and 64 shards),
 *  user-0 is in another shard. */
export const REAL_USERS = ['user-91', 'user-165', 'user-0'];

function hcm(work) {
  return {
    '@type': T('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
    stat_prefix: 'edge',
    codec_type: 'AUTO',
    // Shared by every chain, as the project's RDS route configuration is.
    rds: { route_config_name: 'edge-routes', config_source: { resource_api_version: 'V3', path_config_source: { path: `${work}/rds/rds.json`, watched_directory: { path: `${work}/rds` } } } },
    upgrade_configs: [{ upgrade_type: 'websocket' }, { upgrade_type: 'SPDY/3.1' }],
    stream_idle_timeout: '3600s',
    request_timeout: '0s',
    common_http_protocol_options: { max_stream_duration: '14400s' },
    use_remote_address: true,
    always_set_request_id_in_response: true,
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    forward_client_cert_details: 'SANITIZE_SET',
    set_current_client_cert_details: { uri: true },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': T('envoy.extensions.filters.http.router.v3.Router') } }],
    access_log: [{
      name: 'envoy.access_loggers.file',
      typed_config: {
        '@type': T('envoy.extensions.access_loggers.file.v3.FileAccessLog'),
        path: `${work}/logs/access.log`,
        log_format: { text_format_source: { inline_string: '%START_TIME% local=%DOWNSTREAM_LOCAL_ADDRESS% chain=%FILTER_CHAIN_NAME% remote=%DOWNSTREAM_REMOTE_ADDRESS% sni=%REQUESTED_SERVER_NAME% peer=%DOWNSTREAM_PEER_URI_SAN% %REQ(:PATH)% %RESPONSE_CODE%\n' } },
      },
    }],
  };
}

function downstreamTls(user) {
  const ca = { name: 'user-ca' }; // no sds_config: a static secret of the bootstrap, shared like SDS
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': T('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
      require_client_certificate: true,
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
        alpn_protocols: ['h2', 'http/1.1'],
        tls_certificate_sds_secret_configs: [{ name: 'edge-serving' }],
        ...(user
          ? { combined_validation_context: { default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: userUri(user) } }] }, validation_context_sds_secret_config: ca } }
          : { validation_context_sds_secret_config: ca }),
      },
    },
  };
}

const userChain = (user, revision, h) => ({
  name: `user-${user}`,
  filter_chain_match: { server_names: [serverName(user)] },
  filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: h }],
  transport_socket: downstreamTls(user),
  metadata: { filter_metadata: { kubegate: { user, revision } } },
});
const fallbackChain = (h) => ({
  name: 'user-fallback',
  filter_chain_match: { server_names: [`*.${SUFFIX}`] },
  filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: h }],
  transport_socket: downstreamTls(null),
  metadata: { filter_metadata: { kubegate: { revision: '0' } } },
});
const defaultChain = (h) => ({ name: 'default', filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: h }], transport_socket: downstreamTls(null) });
const filter = (name, type, extra = {}) => ({ name, typed_config: { '@type': T(type), ...extra } });
const tlsInspector = () => filter('envoy.filters.listener.tls_inspector', 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector');
const ipPort = (port) => ({ socket_address: { address: '127.0.0.1', port_value: port } });

/** Every listener, state of the world. revisions: Map user -> revision (default '1'). */
export function listeners({ work, shards, users, revisions, edgePort, directPort }) {
  const h = hcm(work);
  const names = Array.from({ length: users }, (_, i) => `user-${i}`);
  const chain = (u) => userChain(u, revisions.get(u) ?? '1', h);
  const direct = {
    name: 'direct',
    address: ipPort(directPort),
    listener_filters: [tlsInspector()],
    filter_chains: [...REAL_USERS.map(chain), fallbackChain(h)],
    default_filter_chain: defaultChain(h),
  };
  if (shards === 0) {
    return [
      { name: 'edge', address: ipPort(edgePort), listener_filters: [tlsInspector()], filter_chains: [...names.map(chain), fallbackChain(h)], default_filter_chain: defaultChain(h) },
      direct,
    ];
  }
  const d = digitsFor(shards);
  const prefixes = {};
  for (let v = 0; v < 16 ** d; v++) {
    const k = Math.floor((v * shards) / 16 ** d);
    prefixes[`u-${v.toString(16).padStart(d, '0')}`] = { action: { name: `shard-${k}`, typed_config: { '@type': T('google.protobuf.StringValue'), value: `shard-${k}` } } };
  }
  const outer = {
    name: 'edge',
    address: ipPort(edgePort),
    listener_filters: [tlsInspector()],
    filter_chains: Array.from({ length: shards }, (_, k) => ({
      name: `shard-${k}`,
      filters: [filter('envoy.filters.network.tcp_proxy', 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', { stat_prefix: `shard-${k}`, cluster: `shard-${k}` })],
    })),
    filter_chain_matcher: {
      matcher_tree: {
        input: { name: 'sni', typed_config: { '@type': T('envoy.extensions.matching.common_inputs.network.v3.ServerNameInput') } },
        prefix_match_map: { map: prefixes },
      },
      // Not a user's server name: shard 0 holds the fallback and default chains too.
      on_no_match: { action: { name: 'shard-0', typed_config: { '@type': T('google.protobuf.StringValue'), value: 'shard-0' } } },
    },
  };
  const inner = Array.from({ length: shards }, (_, k) => ({
    name: `edge-shard-${k}`,
    internal_listener: {},
    // The client's address arrives in a PROXY v2 header ahead of the ClientHello.
    listener_filters: [filter('envoy.filters.listener.proxy_protocol', 'envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol'), tlsInspector()],
    filter_chains: [...names.filter((u) => shardOf(u, shards) === k).map(chain), fallbackChain(h)],
    default_filter_chain: defaultChain(h),
  }));
  return [outer, ...inner, direct];
}

/** The LDS file's content: every listener (state of the world). */
export function renderLds(version, ls) {
  const response = { version_info: version, resources: ls.map((l) => ({ '@type': T('envoy.config.listener.v3.Listener'), ...l })) };
  return LDS_FORMAT === 'pb' ? encodeDiscoveryResponse(response) : JSON.stringify(response);
}
/** Writes the LDS file atomically (temp + rename: Envoy never reads half a file). */
export function writeLds(work, body, beforeRename = () => {}) {
  mkdirSync(`${work}/lds`, { recursive: true });
  writeFileSync(`${work}/lds/.lds.tmp`, body);
  beforeRename();
  renameSync(`${work}/lds/.lds.tmp`, ldsFile(work));
  return body.length;
}

export function writeRds(work) {
  mkdirSync(`${work}/rds`, { recursive: true });
  const route = (prefix, action) => ({ match: { prefix }, ...action });
  const rc = {
    '@type': T('envoy.config.route.v3.RouteConfiguration'),
    name: 'edge-routes',
    virtual_hosts: [{
      name: 'all',
      domains: ['*'],
      routes: [
        route('/watch', { route: { cluster: 'backend', timeout: '0s' } }),
        route('/whoami', { route: { cluster: 'backend' } }),
        route('/', { direct_response: { status: 200, body: { inline_string: 'ok\n' } } }),
      ],
    }],
  };
  writeFileSync(`${work}/rds/.rds.tmp`, JSON.stringify({ version_info: '1', resources: [rc] }));
  renameSync(`${work}/rds/.rds.tmp`, `${work}/rds/rds.json`);
}

export function bootstrap({ work, shards, adminPort, backendPort }) {
  const file = (f) => ({ filename: `${work}/pki/${f}` });
  const shardCluster = (k) => ({
    name: `shard-${k}`,
    connect_timeout: '1s',
    type: 'STATIC',
    load_assignment: { cluster_name: `shard-${k}`, endpoints: [{ lb_endpoints: [{ endpoint: { address: { envoy_internal_address: { server_listener_name: `edge-shard-${k}` } } } }] }] },
    transport_socket: {
      name: 'envoy.transport_sockets.upstream_proxy_protocol',
      typed_config: {
        '@type': T('envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport'),
        config: { version: 'V2' },
        transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': T('envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer') } },
      },
    },
  });
  // RUNTIME="flag=false,..." sets Envoy runtime flags (envoy.reloadable_features.<flag>). The
  // default turns off the RST an internal (user-space) socket sends when it closes: with it on,
  // a TLS alert from a shard listener (certificate unknown, expired, required) never reaches the
  // client, which sees ECONNRESET instead. RUNTIME= (empty) keeps Envoy's defaults.
  const runtime = Object.fromEntries((process.env.RUNTIME ?? 'enable_send_rst_on_user_space_socket=false').split(',').filter(Boolean).map((kv) => kv.split('=')).map(([k, v]) => [`envoy.reloadable_features.${k}`, v === 'true']));
  return {
    node: { id: 'edge', cluster: 'kubegate-edge' },
    ...(Object.keys(runtime).length ? { layered_runtime: { layers: [{ name: 'static', static_layer: runtime }] } } : {}),
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    bootstrap_extensions: [{ name: 'envoy.bootstrap.internal_listener', typed_config: { '@type': T('envoy.extensions.bootstrap.internal_listener.v3.InternalListener') } }],
    dynamic_resources: { lds_config: { resource_api_version: 'V3', path_config_source: { path: ldsFile(work), watched_directory: { path: `${work}/lds` } } } },
    static_resources: {
      secrets: [
        { name: 'edge-serving', tls_certificate: { certificate_chain: file('server.crt'), private_key: file('server.key') } },
        { name: 'user-ca', validation_context: { trusted_ca: file('ca.crt') } },
      ],
      clusters: [
        ...Array.from({ length: shards }, (_, k) => shardCluster(k)),
        { name: 'backend', connect_timeout: '1s', type: 'STATIC', load_assignment: { cluster_name: 'backend', endpoints: [{ lb_endpoints: [{ endpoint: { address: ipPort(backendPort) } }] }] } },
      ],
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [cmd, work, shards, ...rest] = process.argv.slice(2);
  if (cmd === 'bootstrap') {
    const [edgePort, directPort, adminPort, backendPort] = rest.map(Number);
    writeRds(work);
    console.log(JSON.stringify(bootstrap({ work, shards: +shards, edgePort, directPort, adminPort, backendPort }), null, 1));
  } else if (cmd === 'lds') {
    const [users, edgePort, directPort, ...revs] = rest;
    const revisions = new Map(revs.map((r) => r.split('=')));
    const n = writeLds(work, renderLds(`v-${Date.now()}`, listeners({ work, shards: +shards, users: +users, revisions, edgePort: +edgePort, directPort: +directPort })));
    console.error(`wrote ${ldsFile(work)} (${(n / 1e6).toFixed(1)} MB)`);
  } else if (cmd === 'shard') {
    for (const u of rest) console.log(u, serverName(u), `shard ${shardOf(u, +shards)}/${shards}`);
  } else {
    console.error('usage: see the header of config.mjs');
    process.exit(2);
  }
}
