/**
 * What the in-cluster Envoy's configuration depends on. Plain data, so translation is pure and
 * golden-tested like the edge's.
 */
export interface AgentTranslatorInput {
  /** The in-cluster Envoy's node id (one per Envoy process). */
  readonly nodeId: string;
  /** The cluster it serves; the tunnel handshake and every certificate check use this name. */
  readonly cluster: string;
  /**
   * Where the edge's tunnel listeners are, as the cluster reaches them (outbound): one per edge
   * replica, and the in-cluster Envoy keeps tunnels to each, since a user's request may land on
   * any replica.
   */
  readonly edgeTunnels: readonly { readonly host: string; readonly port: number }[];
  /**
   * Tunnels each in-cluster Envoy worker keeps to each edge host. The edge needs one per edge
   * worker, and a tunnel carrying a stream stays pinned to it, so twice the edge's workers
   * leaves idle ones for a rebuilt edge cluster. @default 4
   */
  readonly tunnelsPerEdgeHost?: number;
  /** kube-apiserver as the in-cluster Envoy reaches it, and the CA its certificate chains to. */
  readonly apiserver: { readonly host: string; readonly port: number; readonly serverName?: string; readonly caPem: string };
  /** The internal CA: the edge's tunnel identity (kubegate://edge) chains to it. */
  readonly edgeCaPem: string;
  /** JWKS (JSON text) with the public keys that verify the edge's identity assertions. */
  readonly assertionJwks: string;
  /** Where the agent keeps the file-based SDS secrets (node metadata of the in-cluster Envoy). */
  readonly secretsDirectory: string;
  /**
   * An open stream (watch, exec, logs -f) is logged to the control plane this often while it
   * lasts, as the edge does (EdgeSettings.accessLogFlushIntervalSeconds). @default 60
   */
  readonly accessLogFlushIntervalSeconds?: number;
}
