/**
 * One rebuild of the edge's configuration, run only by the reconcile loop: read the store (when
 * it changed), bring the authorizer's view up to date, decide the open streams again, record in
 * the store the drains that deciding calls for, then derive the desired state (a pure stage),
 * translate it (another) and publish the snapshot.
 *
 * Drains are the one input that only this replica can know (it tracks the streams its ext_authz
 * allowed). They go to the store before they shape a snapshot, so every replica, this one
 * included, publishes them from the same data; the store write costs one more read in the same
 * rebuild.
 */
import type { Logger } from '../log/logger';
import type { ClusterRecord, Store, StoreState } from '../store/store';
import type { AccessState } from '../access-state/access-state';
import type { OpenStreams } from '../access-state/open-streams';
import type { SnapshotCache } from '../xds/snapshot-cache';
import { Snapshot } from '../xds/snapshot';
import { DigestMemo } from '../xds/content-digest';
import { LISTENER_TYPE_URL } from '../xds/resource-types';
import { translate } from '../translator/translate';
import { FilterChainMemo } from '../translator/filter-chain-memo';
import type { EdgeCertificates, EdgeSettings, EdgeTunnelSettings, EdgeUser, RegisteredCluster, TranslatorInput } from '../translator/input';
import { clustersOf, desiredState, edgeUsers, type DesiredStateInput } from '../desired-state/desired-state';
import { ShardMemo } from '../desired-state/fallback-revisions';
import { EdgeConfirmations } from './edge-confirmations';
import { WakeTimer } from './wake-timer';

/** Reasons that only say "the store may have changed": nothing to do when it is at the published generation. */
const STORE_REASONS: ReadonlySet<string> = new Set(['store', 'api', 'certificate']);
/** Reasons that need a new snapshot only if the store changed (or a drain was recorded). */
const QUIET_REASONS: ReadonlySet<string> = new Set([...STORE_REASONS, 'stream-allowance-ended']);
/** Rounds of "record drains, read again" in one rebuild; past it the rest waits for the next one. */
const MAX_DRAIN_ROUNDS = 3;

export interface EdgeReconcilerProps {
  readonly store: Store;
  readonly access: AccessState;
  readonly openStreams: OpenStreams;
  readonly cache: SnapshotCache;
  /** The edge's settings, with the bootstrap's cluster names. */
  readonly edge: EdgeSettings;
  /** Set when agents are served: their clusters (from the store) are reached over tunnels. */
  readonly tunnels?: EdgeTunnelSettings;
  readonly registeredClusters: () => readonly RegisteredCluster[];
  readonly edgeCertificates: () => EdgeCertificates;
  /** Called after each store state is applied (agents' bindings and settings follow it). */
  readonly stateApplied?: () => void;
  /** Marks the configuration dirty: the wake-ups (certificate expiry, stream allowances) use it. */
  readonly markDirty: (reason: string) => void;
  readonly clock: () => number;
  readonly logger: Logger;
}

export class EdgeReconciler {
  readonly confirmations: EdgeConfirmations;
  /** Wakes when an open stream's allowance ends, to decide it again. */
  readonly streamRecheck: WakeTimer;
  /** Wakes when the next chain holder's last certificate expires, so their chain goes. */
  private readonly expiry: WakeTimer;
  private state?: StoreState;
  /** Agents' clusters not shadowed by a registered one (syncClusters keeps it). */
  private tunnelled: ReadonlySet<string> = new Set();
  /** Drains decided but not yet in the store (deciding forgets the streams, so they must not be lost). */
  private pendingDrains: { users: Set<string>; sharedChain: boolean } = { users: new Set(), sharedChain: false };
  /** Chain holders whose loss was already acted on, until a snapshot without their chain is published. */
  private lostHandled = new Set<string>();
  /** The store generation of the snapshot published last. */
  private publishedGeneration?: number;
  /** Each user's credential revision and disabled flag as last applied, to tell what changed. */
  private drainSensitive = new Map<string, string>();
  private lastInput?: TranslatorInput;
  private lastPolicyError: string | null = null;
  private publishes = { count: 0, ms: 0, cpuMs: 0 };
  private readonly filterChainMemo = new FilterChainMemo();
  private readonly digestMemo = new DigestMemo();
  private readonly shardMemo = new ShardMemo();

  constructor(private readonly props: EdgeReconcilerProps) {
    this.confirmations = new EdgeConfirmations(props.cache, props.edge.nodeId);
    this.streamRecheck = new WakeTimer(props.clock, () => props.markDirty('stream-allowance-ended'));
    this.expiry = new WakeTimer(props.clock, () => props.markDirty('certificate-expired'));
  }

  /** The store generation of the snapshot published last. */
  get appliedGeneration(): number | undefined {
    return this.publishedGeneration;
  }

  /** The stored policy set's load error, if it does not load (the previous one stays in force). */
  get policyError(): string | null {
    return this.lastPolicyError;
  }

  /**
   * Snapshots published so far, and the wall and CPU time their publishing took (desired
   * state, translation, snapshot and its checks), summed: what a push costs, for benchmarks.
   */
  get publishStats(): { readonly count: number; readonly ms: number; readonly cpuMs: number } {
    return { ...this.publishes };
  }

  /** What the last rebuild handed the translator. */
  get translatorInput(): TranslatorInput | undefined {
    return this.lastInput;
  }

  /** Whether a cluster is an agent's (in the store) and not shadowed by a direct one. */
  isTunnelled(name: string): boolean {
    // Asked by ext_authz on every request: a set kept by syncClusters, not a scan of the lists.
    return this.tunnelled.has(name);
  }

  /** Registered clusters, then agents' clusters (as of the last store state) not shadowed by one. */
  clusters(): RegisteredCluster[] {
    return clustersOf({ registeredClusters: this.props.registeredClusters(), ...(this.props.tunnels && { tunnels: this.props.tunnels }), store: { clusters: this.state?.clusters ?? [] } });
  }

  /** The agents' cluster records as of the last store state, by name (in-cluster Envoys' apiservers). */
  clusterRecords(): ReadonlyMap<string, ClusterRecord> {
    return new Map((this.state?.clusters ?? []).map((c) => [c.name, c]));
  }

  /** The users with a filter chain at `now`, as of the last store state. */
  edgeUsers(now: number): EdgeUser[] {
    return this.state ? edgeUsers(this.state, now) : [];
  }

  /**
   * Gives the authorizer the clusters; called after a direct registration too, so ext_authz
   * knows a cluster as soon as it is registered.
   */
  syncClusters(): void {
    const clusters = this.clusters();
    const registered = new Set(this.props.registeredClusters().map((c) => c.name));
    this.tunnelled = new Set(this.props.tunnels ? (this.state?.clusters ?? []).map((c) => c.name).filter((name) => !registered.has(name)) : []);
    this.props.access.setClusters(clusters.map((c) => ({ name: c.name, labels: { ...(c.labels ?? {}) } })));
  }

  /**
   * Whether a rebuild for these reasons can be skipped: only store notices or API calls asked,
   * and the store is at the generation already published (the notice and the caller's refresh
   * both ask for one change; at ten thousand users a push costs half a second of CPU).
   */
  private async unchanged(reasons: ReadonlySet<string>): Promise<boolean> {
    if (this.publishedGeneration === undefined || ![...reasons].every((r) => STORE_REASONS.has(r))) return false;
    return (await this.props.store.generation()) === this.publishedGeneration;
  }

  async rebuild(reasons: ReadonlySet<string>): Promise<void> {
    if (this.pendingDrains.users.size === 0 && !this.pendingDrains.sharedChain && (await this.unchanged(reasons))) return;
    let read = false;
    for (let round = 1; ; round++) {
      const generation = await this.props.store.generation();
      if (!this.state || generation !== this.state.generation) {
        this.apply(await this.props.store.loadState(this.props.clock()));
        read = true;
      }
      this.decideOpenStreams();
      const pending = this.pendingDrains;
      if (pending.users.size === 0 && !pending.sharedChain) break;
      // Deciding forgot those streams: the drains stay pending here until the store has them,
      // so a failed write is retried with the rebuild, not lost.
      await this.props.store.recordDrains({ users: [...pending.users].sort(), sharedChain: pending.sharedChain });
      this.pendingDrains = { users: new Set(), sharedChain: false };
      if (round === MAX_DRAIN_ROUNDS) {
        // Still changing under us: publish what is read, and come back for the rest.
        this.props.markDirty('store');
        break;
      }
    }
    // Deciding the open streams again changed nothing, and nothing else asked: the snapshot
    // would be the one published (at ten thousand users a push is a tenth of a second of CPU).
    if (read || this.publishedGeneration !== this.state?.generation || [...reasons].some((r) => !QUIET_REASONS.has(r))) this.publish();
  }

  private apply(state: StoreState): void {
    const { access } = this.props;
    this.reportPolicyError(access.applyStoreState(state));
    this.state = state;
    this.syncClusters();
    access.noteCertificates(state.liveCertificates, this.props.clock());
    this.props.stateApplied?.();
  }

  /**
   * Decides the open streams again and says which drains that calls for: users who lost access
   * with streams open, and the shared users' chain when a user whose connections must close
   * (lost access, revoked, disabled, deleted, no live certificate left) has a stream there.
   */
  private decideOpenStreams(): void {
    const { access, openStreams, logger } = this.props;
    const now = this.props.clock();
    const current = new Map(access.allUsers().map((u) => [u.name, `${u.credentialRevision}.${u.disabled}`]));
    const changed = [...this.drainSensitive.keys()].filter((user) => current.get(user) !== this.drainSensitive.get(user));
    this.drainSensitive = current;
    const holders = this.confirmations.chainHolders;
    // Each chain's loss counts once, until a snapshot without it is published: reading the
    // state again after recording the drain, or retrying a failed rebuild, must not drain twice.
    const lostChain = [...holders].filter((user) => !this.lostHandled.has(user) && (access.certificateNotAfter(user, now) === undefined || access.user(user)?.disabled !== false));
    for (const user of lostChain) this.lostHandled.add(user);
    const { usersToDrain, drainSharedChain, nextCheckAt } = openStreams.revalidate(access, now);
    this.streamRecheck.reset(nextCheckAt);
    for (const user of usersToDrain) logger.info('closing open streams of a user who lost access', { user });
    const sharedChain = drainSharedChain || openStreams.onSharedChain([...changed, ...lostChain]);
    if (sharedChain) logger.info("draining the edge's shared users' chain: a user whose streams must close has one open on it");
    for (const user of usersToDrain) this.pendingDrains.users.add(user);
    if (sharedChain) this.pendingDrains.sharedChain = true;
  }

  private publish(): void {
    const started = performance.now();
    const cpu = process.cpuUsage();
    try {
      this.publishState(this.state!);
    } finally {
      const used = process.cpuUsage(cpu);
      this.publishes = { count: this.publishes.count + 1, ms: this.publishes.ms + performance.now() - started, cpuMs: this.publishes.cpuMs + (used.user + used.system) / 1000 };
    }
  }

  private publishState(state: StoreState): void {
    const now = this.props.clock();
    const input: DesiredStateInput = {
      store: state,
      edge: this.props.edge,
      registeredClusters: this.props.registeredClusters(),
      certificates: this.props.edgeCertificates(),
      ...(this.props.tunnels && { tunnels: this.props.tunnels }),
      now,
    };
    const translatorInput = desiredState(input, { shardMemo: this.shardMemo });
    const resources = translate(translatorInput, { memo: this.filterChainMemo });
    // The translator's output is ours alone: frozen where it is, not copied.
    const snapshot = new Snapshot(resources, { adopt: true, memo: this.digestMemo });
    this.props.cache.setSnapshot(this.props.edge.nodeId, snapshot);
    this.lastInput = translatorInput;
    this.publishedGeneration = state.generation;
    const users = translatorInput.users ?? [];
    this.confirmations.published(snapshot.version(LISTENER_TYPE_URL), new Set(users.map((u) => u.name)));
    this.lostHandled = new Set();
    let nextExpiry = Number.MAX_SAFE_INTEGER;
    for (const u of users) nextExpiry = Math.min(nextExpiry, u.certificateNotAfter!);
    this.expiry.reset(nextExpiry);
  }

  private reportPolicyError(err: Error | null): void {
    const message = err ? ((err as Error & { format?: () => string }).format?.() ?? err.message) : null;
    if (message && message !== this.lastPolicyError) {
      this.props.logger.error('the stored policy set does not load; the previous one stays in force', { error: message });
    }
    this.lastPolicyError = message;
  }

  stop(): void {
    this.streamRecheck.stop();
    this.expiry.stop();
  }
}
