/**
 * Resource names shared between translator features, so a reference (an RDS name in a
 * listener, an SDS name in a cluster) and the resource it points to can never drift apart.
 */
export const EDGE_LISTENER = 'edge-https';
export const EDGE_ROUTES = 'edge-routes';
export const EDGE_SERVING_SECRET = 'edge-serving-certificate';
export const USER_CA_SECRET = 'user-ca';
export const userFilterChainName = (user: string) => `user/${user}`;
/** Users' server names without a chain of their own (yet); see listener.ts. */
export const USER_FALLBACK_CHAIN = 'users-fallback';
/** Connections that name no user's server name; see listener.ts. */
export const USERS_SHARED_CHAIN = 'users-shared';
/**
 * With users split across shards (listener.ts): the internal listener holding shard k's users'
 * chains, the cluster the public listener reaches it through, and the public listener's chain
 * that forwards to that cluster. One name for all three, so stats and config dumps line up.
 */
export const edgeShardListenerName = (shard: number) => `edge-shard-${shard}`;
export const edgeShardClusterName = (shard: number) => `edge-shard-${shard}`;
export const edgeShardChainName = (shard: number) => `edge-shard-${shard}`;

export const upstreamClusterName = (cluster: string) => `kube-apiserver/${cluster}`;
export const upstreamIdentitySecret = (cluster: string) => `upstream-identity/${cluster}`;
export const upstreamCaSecret = (cluster: string) => `upstream-ca/${cluster}`;

export const TUNNEL_LISTENER = 'edge-tunnels';
export const EDGE_TUNNEL_IDENTITY_SECRET = 'edge-tunnel-identity';
export const AGENT_CA_SECRET = 'agent-ca';
/** The edge's cluster for a tunnelled Kubernetes cluster: its agent's registered tunnels. */
export const tunnelClusterName = (cluster: string) => `tunnel/${cluster}`;

/** The URL path prefix that selects a cluster: https://edge/clusters/<name>/api/v1/... */
export const clusterPathPrefix = (cluster: string) => `/clusters/${cluster}/`;

export const ADS_CONFIG_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;

export const typeUrl = (fullName: string) => `type.googleapis.com/${fullName}`;
