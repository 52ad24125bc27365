/** Resource names of the in-cluster Envoy's configuration. */
export const AGENT_TUNNEL_LISTENER = 'reverse-tunnels';
export const AGENT_ROUTES = 'apiserver-routes';
export const EDGE_TUNNEL_CLUSTER = 'edge-tunnel';
export const APISERVER_CLUSTER = 'kube-apiserver';
/** The same apiserver over HTTP/1.1, for requests that upgrade (exec, attach, port-forward). */
export const APISERVER_UPGRADE_CLUSTER = 'kube-apiserver-upgrade';
export const EDGE_CA_SECRET = 'edge-ca';
export const APISERVER_CA_SECRET = 'apiserver-ca';
export const ASSERTION_PROVIDER = 'kubegate-edge';
