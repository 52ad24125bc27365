/**
 * What the translator needs to know, and nothing more. Everything is plain data: no
 * file handles, clocks or clients, so translation is a pure function that golden tests pin.
 */

/** How the edge listens and where it finds the control plane's gRPC services. */
export interface EdgeSettings {
  /** The Envoy node id this snapshot is for. */
  readonly nodeId: string;
  readonly listenAddress: string;
  readonly listenPort: number;
  /**
   * Name of the bootstrap's static cluster that reaches the control plane's gRPC port (mTLS).
   * The access log uses it, so it needs no cluster of its own in the snapshot.
   */
  readonly controlPlaneCluster: string;
  /** Name of the bootstrap's static cluster that reaches the ext_authz service (mTLS). */
  readonly authzCluster: string;
  /**
   * Quiet streams (a watch with no events, an idle exec) are closed after this long.
   * @default 3600
   */
  readonly streamIdleTimeoutSeconds?: number;
  /**
   * How long Envoy waits for an authorization decision before failing closed.
   * @default 2000
   */
  readonly authzTimeoutMs?: number;
  /**
   * Users' TLS server names are <digest>.<suffix> (identity/user-identity.ts); the edge's
   * serving certificate must carry *.<suffix>.
   * @default 'users.kubegate.invalid'
   */
  readonly userServerNameSuffix?: string;
  /**
   * The backstop behind revocation: no stream (watch, exec, logs -f) lives longer than this,
   * even if a drain were missed.
   * @default 14400 (4 h)
   */
  readonly maxStreamDurationSeconds?: number;
  /**
   * A request that stays open (watch, exec, port-forward, logs -f) is logged this often while
   * it lasts, besides when its upgrade succeeds and when it ends, so the audit trail shows a
   * long stream before it is over.
   * @default 60
   */
  readonly accessLogFlushIntervalSeconds?: number;
  /**
   * A file on the edge's own disk where Envoy also writes every access-log entry
   * (audit/edge-log-format.ts): the audit trail ingests it, so requests logged while the
   * control plane was down are not lost. @default none
   */
  readonly auditLogFile?: string;
  /**
   * How many internal listeners users' filter chains are split across, by their server name
   * (identity/user-identity.ts userShard): a power of two up to 256. A change to one user's
   * chain then makes Envoy rebuild one shard's listener instead of one holding every user: at
   * ten thousand users, about 0.8 s of Envoy time per revocation instead of about 6 s. 1 is the
   * unsharded layout: one TLS listener with every chain (listener.ts). Changing it changes the
   * public listener, so every connection at the edge drains once.
   * @default 16
   */
  readonly userShards?: number;
}

/** See EdgeSettings.userShards. */
export const DEFAULT_USER_SHARDS = 16;

export function edgeUserShards(edge: Pick<EdgeSettings, 'userShards'>): number {
  return edge.userShards ?? DEFAULT_USER_SHARDS;
}

/**
 * An enabled user. One who holds a live certificate has a filter chain of their own at the
 * edge, selected by their TLS server name and pinned to their certificate identity. When
 * `revision` changes, the chain's configuration changes and Envoy drains that user's
 * connections, and only theirs: this is how lost access closes open watches and exec sessions;
 * when the user no longer holds a live certificate (revoked, expired), the chain goes away,
 * which drains them too.
 */
export interface EdgeUser {
  readonly name: string;
  readonly revision: string;
  /**
   * When the last of the user's unexpired, unrevoked certificates expires (epoch ms); absent
   * when they hold none. A user without one gets no filter chain: no handshake could use it,
   * and ten thousand users' chains cost Envoy seconds on every change.
   */
  readonly certificateNotAfter?: number;
}

/** Whether the user holds a certificate that is still valid at `now`, and so has a filter chain. */
export function holdsLiveCertificate(user: EdgeUser, now: number): boolean {
  return user.certificateNotAfter !== undefined && user.certificateNotAfter > now;
}

interface ClusterBase {
  /** DNS-label name; appears in the user's URL path as /clusters/<name>/. */
  readonly name: string;
  /** What policies select clusters by (env: prod, region: eu-1). Not used by the translator. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A Kubernetes cluster the edge may route to: dialled directly, or over its agent's tunnels. */
export type RegisteredCluster = DirectCluster | TunnelCluster;

/**
 * A cluster whose kube-apiserver the edge can dial (same network): the edge verifies it and
 * presents kubegate's proxy identity with impersonation headers.
 */
export interface DirectCluster extends ClusterBase {
  /** @default 'direct' */
  readonly connection?: 'direct';
  readonly apiserver: {
    readonly host: string;
    readonly port: number;
    /** Name the apiserver's certificate must carry (DNS name or IP address). @default host */
    readonly serverName?: string;
    /** The CA that signed the apiserver's serving certificate; Envoy verifies against it. */
    readonly caPem: string;
  };
  /** kubegate's proxy identity in this cluster: a client certificate allowed to impersonate. */
  readonly proxyIdentity: { readonly certPem: string; readonly keyPem: string };
}

/**
 * A cluster behind a firewall: its in-cluster Envoy dials out to the edge's tunnel listener,
 * and the edge sends requests back over those reverse tunnels. The edge knows no address,
 * credential or CA of it; the in-cluster Envoy holds those.
 */
export interface TunnelCluster extends ClusterBase {
  readonly connection: 'tunnel';
}

export function isTunnelCluster(cluster: RegisteredCluster): cluster is TunnelCluster {
  return cluster.connection === 'tunnel';
}

export function directClusters(clusters: readonly RegisteredCluster[]): DirectCluster[] {
  return clusters.filter((c): c is DirectCluster => !isTunnelCluster(c));
}

/** Where agents' in-cluster Envoys open their tunnels, and what the edge presents to them. */
export interface EdgeTunnelSettings {
  readonly listenAddress: string;
  readonly listenPort: number;
  /** Agent certificates (one cluster each) chain to this CA. */
  readonly agentCaPem: string;
  /** The edge's tunnel identity (URI SAN kubegate://edge): tunnel listener and data path. */
  readonly identity: { readonly certPem: string; readonly keyPem: string };
}

/** Certificate material the edge serves with and verifies users against. */
export interface EdgeCertificates {
  /** The CA that signs user client certificates. */
  readonly userCaPem: string;
  /** The edge's serving certificate and key, presented to kubectl. */
  readonly serving: { readonly certPem: string; readonly keyPem: string };
}

export interface TranslatorInput {
  readonly edge: EdgeSettings;
  readonly clusters: readonly RegisteredCluster[];
  readonly certificates: EdgeCertificates;
  /** Enabled users; those holding a live certificate at `now` get their own filter chain. @default [] */
  readonly users?: readonly EdgeUser[];
  /**
   * The moment the configuration is for (epoch ms): which certificates are live. Required when
   * there are users. A clock reading taken by the caller, so translation stays pure.
   */
  readonly now?: number;
  /**
   * The revision of the user fallback chains (listener.ts; one per shard), like a user's: a new
   * value drains every connection on them. Connections must close whenever some user's do,
   * because a user whose own chain the edge did not have yet (a certificate issued a moment
   * ago, or by another replica) is served there; userFallbackRevisions does it for one shard.
   * @default '0'
   */
  readonly userFallbackRevision?: string;
  /**
   * Per-shard revisions of the user fallback chains, by shard number (EdgeSettings.userShards),
   * overriding userFallbackRevision for that shard. Each shard has a fallback chain of its own,
   * and a user's connections can only be on their own shard's: the caller changes only the
   * revisions of the shards of users whose connections must close, so the other shards'
   * listeners stay as they are. @default userFallbackRevision for every shard
   */
  readonly userFallbackRevisions?: Readonly<Record<string, string>>;
  /**
   * The revision of the shared users' chain (listener.ts): connections that name no user's
   * server name (kubectl --server pointing at the edge's address, a client-go program that
   * overrides the host). A new value drains every connection on it; the caller changes it
   * only when a user whose streams must close has one open there. @default '0'
   */
  readonly sharedChainRevision?: string;
  /** Required when any cluster is a tunnel cluster. @default no tunnel listener */
  readonly tunnels?: EdgeTunnelSettings;
}
