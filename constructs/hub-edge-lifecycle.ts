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
 * listener that is held an hour by fault injection. The listener is MODIFY_ONLY, so the drain
 * leaves it (and the preStop call it is answering) alone. A watch or exec still open at the end
 * is closed with the pod and its client reconnects through another replica.
 */
const HTTP_CONNECTION_MANAGER = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const LUA = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua';
const LUA_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

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
  const script = [
    'function envoy_on_request(h)',
    `  ${call(LIFECYCLE_CLUSTER, 'GET', WAIT_PATH, EDGE_LEAVE_DELAY_SECONDS * 1000)}`,
    `  local headers = ${call(ADMIN_CLUSTER, 'POST', '/drain_listeners?graceful&skip_exit', 2000)}`,
    '  local status = headers[":status"] or "none"',
    '  h:logInfo("edge leaving: drain started (admin answered " .. status .. ")")',
    `  ${call(LIFECYCLE_CLUSTER, 'GET', WAIT_PATH, EDGE_DRAIN_WAIT_SECONDS * 1000)}`,
    '  h:respond({[":status"] = status == "200" and "200" or "500"}, "drained: admin answered " .. status .. "\\n")',
    'end',
    '',
  ].join('\n');
  const listener = {
    name: EDGE_LIFECYCLE_LISTENER,
    // Not drained with the others: it is answering the preStop call while they drain.
    drain_type: 'MODIFY_ONLY',
    address: { socket_address: { address: '0.0.0.0', port_value: EDGE_LIFECYCLE_PORT } },
    filter_chains: [
      {
        filters: [
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
