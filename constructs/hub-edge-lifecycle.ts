/**
 * How an edge replica leaves without failing a request, in Envoy alone (its image holds nothing
 * but Envoy, so there is no shell for an exec hook and no process beside it to call). The pod's
 * preStop hook is an HTTP GET to a listener of the edge's own bootstrap on the pod's address,
 * which Kubernetes sends when the pod is to stop. What answers it, in order:
 *   1. waits until the Service has dropped the pod (new users' connections go to other replicas
 *      from then on) while it goes on serving every connection it has;
 *   2. starts a graceful drain of every listener through the admin interface on the loopback:
 *      HTTP/2 clients get GOAWAY and HTTP/1.1 responses `connection: close`, so kubectl opens its
 *      next connection to another replica; nothing already sent is cut;
 *   3. waits for the requests in flight to finish, then answers, and Kubernetes stops Envoy.
 * Envoy has no sleep of its own: each wait is a call, with that timeout, to a route of this
 * listener that is held an hour by fault injection (only Envoy itself, from the loopback, may
 * call it). The drain (graceful, skip_exit) tells connections to go but leaves the listeners
 * accepting, so the second wait still reaches this one. A watch or exec still open at the end
 * is closed with the pod and its client reconnects through another replica.
 *
 * Who can reach the listener: it binds the pod's address because the kubelet calls it from the
 * node. The hub's NetworkPolicy admits only the edge's user and tunnel ports, so where policies
 * are enforced other pods cannot; where they are not, a caller can at most make the replica
 * tell its clients to reconnect (it keeps serving). Connections are capped so that the waits
 * cannot be used to hold the pod's resources.
 */
const HTTP_CONNECTION_MANAGER = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const LUA = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua';
const LUA_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const CONNECTION_LIMIT = 'type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit';
/** Open connections the lifecycle listener takes at once: the kubelet's call and the script's own. */
const MAX_LIFECYCLE_CONNECTIONS = 8;

/** The lifecycle listener's port on the pod's address (the kubelet calls it). */
export const EDGE_LIFECYCLE_PORT = 9902;
/** The preStop hook's path. */
export const EDGE_PRESTOP_PATH = '/prestop';
/** How long a leaving replica goes on serving before it drains: Services and kube-proxy rules drop it meanwhile. */
export const EDGE_LEAVE_DELAY_SECONDS = 5;
/** How long a draining replica waits for requests in flight before it stops. */
export const EDGE_DRAIN_WAIT_SECONDS = 5;

export const EDGE_LIFECYCLE_LISTENER = 'kubegate-edge-lifecycle';
const LIFECYCLE_CLUSTER = 'kubegate-edge-lifecycle';
const ADMIN_CLUSTER = 'kubegate-edge-admin';
const WAIT_PATH = '/wait';

/** The listener and the two clusters (the admin interface, the listener itself) to add to the edge's bootstrap. */
export function edgeLifecycleResources(adminPort: number): { listeners: object[]; clusters: object[] } {
  const call = (cluster: string, method: string, path: string, timeoutMs: number) =>
    `h:httpCall("${cluster}", {[":method"] = "${method}", [":path"] = "${path}", [":authority"] = "${cluster}"}, "", ${timeoutMs})`;
  // A wait ends by its timeout (504); anything else means it did not wait, which is logged.
  const wait = (seconds: number, what: string) => [
    `  local waited = ${call(LIFECYCLE_CLUSTER, 'GET', WAIT_PATH, seconds * 1000)}`,
    `  if waited[":status"] ~= "504" then h:logWarn("edge leaving: the wait ${what} ended early (" .. tostring(waited[":status"]) .. ")") end`,
  ];
  const script = [
    'function envoy_on_request(h)',
    ...wait(EDGE_LEAVE_DELAY_SECONDS, 'before the drain'),
    `  local headers = ${call(ADMIN_CLUSTER, 'POST', '/drain_listeners?graceful&skip_exit', 2000)}`,
    '  local status = headers[":status"] or "none"',
    '  h:logInfo("edge leaving: drain started (admin answered " .. status .. ")")',
    ...wait(EDGE_DRAIN_WAIT_SECONDS, 'for requests in flight'),
    '  h:respond({[":status"] = status == "200" and "200" or "500"}, "drained: admin answered " .. status .. "\\n")',
    'end',
    '',
  ].join('\n');
  const listener = {
    name: EDGE_LIFECYCLE_LISTENER,
    // Not meant to drain: it is answering the preStop call while the others do.
    drain_type: 'MODIFY_ONLY',
    address: { socket_address: { address: '0.0.0.0', port_value: EDGE_LIFECYCLE_PORT } },
    filter_chains: [
      {
        filters: [
          { name: 'envoy.filters.network.connection_limit', typed_config: { '@type': CONNECTION_LIMIT, stat_prefix: 'lifecycle', max_connections: MAX_LIFECYCLE_CONNECTIONS } },
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HTTP_CONNECTION_MANAGER,
              stat_prefix: 'lifecycle',
              route_config: {
                name: EDGE_LIFECYCLE_LISTENER,
                virtual_hosts: [
                  {
                    name: 'lifecycle',
                    domains: ['*'],
                    routes: [
                      {
                        match: { path: EDGE_PRESTOP_PATH },
                        direct_response: { status: 500 },
                        typed_per_filter_config: { 'envoy.filters.http.lua': { '@type': LUA_PER_ROUTE, source_code: { inline_string: script } } },
                      },
                      {
                        // Only ever called from the script above, whose timeout ends the wait.
                        match: { path: WAIT_PATH },
                        direct_response: { status: 200 },
                        typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT, delay: { fixed_delay: '3600s', percentage: { numerator: 100 } } } },
                      },
                    ],
                  },
                ],
              },
              http_filters: [
                // The wait is the script's own: from the loopback only (the kubelet calls from the node).
                {
                  name: 'envoy.filters.http.rbac',
                  typed_config: {
                    '@type': RBAC,
                    rules: {
                      action: 'DENY',
                      policies: {
                        'wait-from-elsewhere': {
                          permissions: [{ url_path: { path: { exact: WAIT_PATH } } }],
                          principals: [{ not_id: { direct_remote_ip: { address_prefix: '127.0.0.1', prefix_len: 32 } } }],
                        },
                      },
                    },
                  },
                },
                // Off unless a route turns them on (the per-route configs above).
                { name: 'envoy.filters.http.lua', typed_config: { '@type': LUA } },
                { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT } },
                { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } },
              ],
            },
          },
        ],
      },
    ],
  };
  const loopback = (name: string, port: number) => ({
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
  });
  return { listeners: [listener], clusters: [loopback(ADMIN_CLUSTER, adminPort), loopback(LIFECYCLE_CLUSTER, EDGE_LIFECYCLE_PORT)] };
}
