/**
 * Names both sides of the agent protocol agree on: how certificates name a cluster's agent and
 * the edge, and the headers and claims of the per-request identity assertion. The control plane
 * and the agent import these from here and nowhere else.
 */

/** URI SAN prefix of an agent's certificate: kubegate://cluster/<name>. */
export const AGENT_IDENTITY_URI_PREFIX = 'kubegate://cluster/';

export function agentIdentityUri(cluster: string): string {
  return `${AGENT_IDENTITY_URI_PREFIX}${cluster}`;
}

/** The cluster an agent certificate's URI SANs name, or undefined if none does. */
export function clusterOfAgentUris(uris: readonly string[]): string | undefined {
  const matching = uris.filter((u) => u.startsWith(AGENT_IDENTITY_URI_PREFIX));
  // Exactly one: a certificate naming two clusters is not an agent's.
  if (matching.length !== 1) return undefined;
  const name = matching[0]!.slice(AGENT_IDENTITY_URI_PREFIX.length);
  return CLUSTER_NAME.test(name) ? name : undefined;
}

/** Cluster names are DNS labels: they appear in URL paths, certificates and Envoy names. */
export const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** URI SAN of the edge's tunnel identity, which the in-cluster Envoy requires on the data path. */
export const EDGE_IDENTITY_URI = 'kubegate://edge';
/** DNS name of the edge's tunnel listener certificate; agents verify it. */
export const EDGE_TUNNEL_SERVER_NAME = 'kubegate-edge-tunnel';
/** DNS name of the control plane's serving certificate; agents verify it. */
export const CONTROL_PLANE_SERVER_NAME = 'kubegate-control-plane';
/**
 * The in-cluster Envoy bootstrap's static cluster that reaches the control plane's agent port
 * with the agent's certificate: its xDS, and the access log the control plane configures it to
 * send there (in-cluster-translator).
 */
export const AGENT_PORT_CLUSTER = 'kubegate-control-plane';

/** Header carrying the edge's signed assertion of who the request is for (a JWT). */
export const ASSERTION_HEADER = 'x-kubegate-assertion';
/** The assertion's issuer. */
export const ASSERTION_ISSUER = 'kubegate';
/** Claim naming the Kubernetes user to impersonate (the user's ServiceAccount). */
export const ASSERTION_IMPERSONATE_CLAIM = 'impersonate';
/** How long an assertion is valid: long enough for clock skew, short enough to be useless if copied. */
export const ASSERTION_LIFETIME_SECONDS = 60;

/** Namespace of the per-user ServiceAccounts in every cluster. */
export const USERS_NAMESPACE = 'kubegate-users';
/** Namespace of the agent and the in-cluster Envoy. */
export const SYSTEM_NAMESPACE = 'kubegate-system';

/**
 * Secrets the agent keeps on the in-cluster Envoy's disk, as file-based SDS resources (Envoy
 * watches the directory and swaps them without a restart). They never travel to the control
 * plane: the agent's private key and the apiserver credential stay in the cluster.
 */
export const AGENT_SECRET_FILES = {
  /** tls_certificate: the agent's certificate and key (tunnels, xDS). */
  identity: { file: 'agent-identity.yaml', secret: 'agent-identity' },
  /** generic_secret: "Bearer <token>" for kube-apiserver, from the proxy ServiceAccount. */
  apiserverCredential: { file: 'apiserver-credential.yaml', secret: 'apiserver-credential' },
} as const;

/** Envoy node metadata key under which the in-cluster Envoy says where those files are. */
export const NODE_METADATA_SECRETS_DIRECTORY = 'kubegate_secrets_directory';
/** Envoy node metadata key naming the cluster the in-cluster Envoy serves. */
export const NODE_METADATA_CLUSTER = 'kubegate_cluster';

/**
 * HTTP/2 streams one reverse tunnel may carry at once, on both ends: each open watch, logs -f,
 * exec or port-forward of every user of a cluster is one stream on its few tunnels.
 */
export const TUNNEL_MAX_CONCURRENT_STREAMS = 65_536;

/**
 * The stat prefix of the in-cluster Envoy's tunnel listener: the agent reads
 * `http.<prefix>.downstream_cx_active` (tunnels held) and `...downstream_rq_active` (requests in
 * flight) from its Envoy's admin interface to tell readiness and when a drain is done.
 */
export const TUNNEL_STAT_PREFIX = 'tunnel';

/**
 * The longest an in-cluster Envoy waits before dialling an edge host again whose tunnels are
 * missing (its bootstrap's max_reconnect_backoff; it checks every second). A restarted edge
 * replica holds every connected cluster's tunnels within about this long, which is what the
 * hub's edge waits for before it takes users' requests.
 */
export const TUNNEL_REDIAL_MAX_BACKOFF_SECONDS = 4;
