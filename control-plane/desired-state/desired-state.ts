/**
 * The first of the two pure stages before Envoy (store → desired state → translator →
 * snapshot): what the edge must run, computed from the store's state, the controller's fixed
 * configuration and the moment. Nothing here is remembered from an earlier run: drains are read
 * from the store (the replica whose streams must close records them there first), so every
 * replica given the same store data and the same `now` computes the same TranslatorInput, and
 * so byte-identical snapshots. Golden files pin it (testdata/, test/desired-state).
 */
import type { StoreState } from '../store/store';
import type { EdgeCertificates, EdgeSettings, EdgeTunnelSettings, EdgeUser, RegisteredCluster, TranslatorInput } from '../translator/input';
import { fallbackRevisions, type ShardMemo } from './fallback-revisions';

/** The parts of the store's state that shape the edge's configuration. */
export type DesiredStoreState = Pick<StoreState, 'users' | 'liveCertificates' | 'clusters' | 'edgeDrains'>;

export interface DesiredStateInput {
  readonly store: DesiredStoreState;
  /** The edge's settings, with the bootstrap's cluster names. */
  readonly edge: EdgeSettings;
  /** Clusters registered by the controller's configuration (directly reached); they shadow agents' of the same name. */
  readonly registeredClusters: readonly RegisteredCluster[];
  readonly certificates: EdgeCertificates;
  /**
   * Set when the controller serves agents: every cluster an agent registered (in the store) is
   * then reached over a tunnel. @default agents' clusters are not served
   */
  readonly tunnels?: EdgeTunnelSettings;
  /** The moment the configuration is for (epoch ms): which certificates are live. */
  readonly now: number;
}

export interface DesiredStateOptions {
  /** Remembers users' shards between runs (a digest each); the result never depends on it. */
  readonly shardMemo?: ShardMemo;
}

export function desiredState(input: DesiredStateInput, options: DesiredStateOptions = {}): TranslatorInput {
  const users = edgeUsers(input.store, input.now);
  return {
    edge: input.edge,
    clusters: clustersOf(input),
    certificates: input.certificates,
    users,
    now: input.now,
    userFallbackRevisions: fallbackRevisions(input.store, input.edge, options.shardMemo),
    sharedChainRevision: String(input.store.edgeDrains.sharedChain),
    ...(input.tunnels ? { tunnels: input.tunnels } : {}),
  };
}

/**
 * The users who get a filter chain: enabled, holding a certificate neither revoked nor expired
 * at `now`. A chain's revision changes when the user's credentials are revoked and when one of
 * their drains is recorded, and either drains their connections. Sorted by name.
 */
export function edgeUsers(store: DesiredStoreState, now: number): EdgeUser[] {
  const notAfter = new Map<string, number>();
  for (const cert of store.liveCertificates) {
    if (cert.revokedAt !== undefined || cert.notAfter <= now) continue;
    notAfter.set(cert.user, Math.max(notAfter.get(cert.user) ?? 0, cert.notAfter));
  }
  const users: EdgeUser[] = [];
  for (const u of store.users) {
    const certificateNotAfter = notAfter.get(u.name);
    if (u.disabled || certificateNotAfter === undefined) continue;
    users.push({ name: u.name, revision: `${u.credentialRevision}.${store.edgeDrains.users[u.name] ?? 0}`, certificateNotAfter });
  }
  return users.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Directly registered clusters, then agents' clusters not shadowed by a direct one, each sorted by name. */
export function clustersOf(input: Pick<DesiredStateInput, 'registeredClusters' | 'tunnels'> & { readonly store: Pick<DesiredStoreState, 'clusters'> }): RegisteredCluster[] {
  const direct = [...input.registeredClusters].sort((a, b) => compare(a.name, b.name));
  if (!input.tunnels) return direct;
  const names = new Set(direct.map((c) => c.name));
  const tunnelled: RegisteredCluster[] = input.store.clusters
    .filter((c) => !names.has(c.name))
    .map((c) => ({ name: c.name, labels: { ...c.labels }, connection: 'tunnel' as const }))
    .sort((a, b) => compare(a.name, b.name));
  return [...direct, ...tunnelled];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
