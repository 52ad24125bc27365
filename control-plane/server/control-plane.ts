/**
 * The control plane process assembled: the access state loaded from the store, the reconcile
 * loop that alone publishes the edge's configuration (reconcile/), the authorizer chain
 * (authorizer-chain.ts), the audit trail (audit-trail.ts), the agents' gateway, and the
 * servers (control-plane-servers.ts).
 *
 * Changes flow one way: a store notice, an API call, a registration, a timer or an issued
 * certificate marks the configuration dirty → the loop reads the store, decides open streams
 * again (recording drains in the store), derives the desired state and publishes a snapshot.
 * Revocation, disabling a user and lost access all end the same way: the user's filter chain
 * changes or disappears, and Envoy drains that user's connections. Only users holding a live
 * certificate have a chain: issuing one adds it (and waits until the edge has it), its expiry
 * removes it.
 *
 * A replica that is stopping drains first (drain()): /readyz turns 503 so Kubernetes takes it
 * out of its Services, new agent sessions are refused, its agents are asked to move to another
 * replica, and checks about clusters it no longer holds are left to the others.
 */
import type { KeyPairPem } from '../pki/certificates';
import type { EdgeCertificates, EdgeSettings, EdgeUser, RegisteredCluster } from '../translator/input';
import { translate } from '../translator/translate';
import { SnapshotCache } from '../xds/snapshot-cache';
import { Snapshot } from '../xds/snapshot';
import type { CheckServerMetrics } from '../authz/check-server';
import type { AllowedRequestObserver } from '../authz/policy-authorizer';
import type { AccessLogWriter } from '../envoy-access-log/access-log-service';
import { JsonLinesSink } from '../envoy-access-log/json-lines-sink';
import type { AccessLogRecord } from '../envoy-access-log/access-log-record';
import { ControlPlaneMetrics, type AuditMetricsStats } from './control-plane-metrics';
import type { Registry } from 'prom-client';
import type { CertificateRecord, Store, StoreChange } from '../store/store';
import { AccessState, type EdgeConfirmation } from '../access-state/access-state';
import { OpenStreams } from '../access-state/open-streams';
import { AgentGateway } from '../agent-gateway/agent-gateway';
import { ReconcileLoop } from '../reconcile/reconcile-loop';
import { EdgeReconciler } from '../reconcile/edge-reconciler';
import { publishInClusterEnvoys } from '../reconcile/in-cluster-envoys';
import { AuditTrail } from './audit-trail';
import { authorizerChain } from './authorizer-chain';
import { ControlPlaneServers } from './control-plane-servers';
import { DEFAULT_DRAIN_SETTINGS, type ControlPlaneProps } from './control-plane-props';
import { AGENT_SILENCE_MS, agentHeardRecently } from '../agent-gateway/agent-silence';

/** Heartbeats this replica recorded itself are not another replica's (clock reads differ by a little). */
const HEARD_HERE_MARGIN_MS = 1_000;

/** How often a draining replica looks whether its last agent session has left. */
const DRAIN_POLL_MS = 100;

/** The reason agents' events give: only in-cluster Envoys' configuration is rebuilt for it. */
const AGENT_REASON = 'agent';
/** How long issuing a certificate waits for the edge to accept the user's filter chain. */
const EDGE_CONFIRMATION_TIMEOUT_MS = 15_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

export class ControlPlane {
  readonly cache: SnapshotCache;
  readonly accessLog: JsonLinesSink;
  readonly access: AccessState;
  readonly openStreams: OpenStreams;
  private readonly loop: ReconcileLoop;
  private readonly reconciler: EdgeReconciler;
  /** Clusters registered by the controller (reached directly), by name. */
  private readonly registered = new Map<string, RegisteredCluster>();
  private readonly clock: () => number;
  private edgeCertificates: EdgeCertificates;
  private servers?: ControlPlaneServers;
  private agentGateway?: AgentGateway;
  private auditTrail?: AuditTrail;
  private unwatch?: () => void;
  private stopped = false;
  private draining = false;
  private drained?: Promise<void>;
  private readonly statusSections = new Map<string, () => object>();
  private readonly metrics = new ControlPlaneMetrics({
    cache: () => this.cache.metrics,
    authz: () => this.authzMetrics(),
    openStreams: () => this.openStreams.size,
    openStreamsEvicted: () => this.openStreams.evicted,
    policyRevision: () => this.access.policyRevision,
    audit: () => this.auditStats,
  });

  private constructor(private readonly props: ControlPlaneProps) {
    this.cache = new SnapshotCache(props.logger.child('xds'));
    this.accessLog = new JsonLinesSink(props.accessLogFile);
    this.access = new AccessState(props.edge.userServerNameSuffix, { certificateIssued: (cert) => this.certificateIssued(cert) });
    this.clock = props.clock ?? Date.now;
    this.edgeCertificates = props.edgeCertificates;
    this.openStreams = new OpenStreams({
      evicted: (total) => {
        if (total === 1 || total % 10_000 === 0) {
          props.logger.warn('too many open streams to track: the oldest are forgotten, and losing access will not close them before the maximum stream duration', { evictedTotal: total });
        }
      },
    });
    this.reconciler = new EdgeReconciler({
      store: props.store,
      access: this.access,
      openStreams: this.openStreams,
      cache: this.cache,
      edge: this.edgeSettings,
      ...(props.agents && { tunnels: props.agents.tunnels }),
      registeredClusters: () => [...this.registered.values()],
      edgeCertificates: () => this.edgeCertificates,
      stateApplied: () => this.agentsFollowState(),
      markDirty: (reason) => this.loop.markDirty(reason),
      clock: this.clock,
      logger: props.logger.child('reconcile'),
    });
    this.loop = new ReconcileLoop({
      rebuild: (reasons) => this.rebuild(reasons),
      onError: (err, reasons) => props.logger.error('could not rebuild the edge configuration', { error: err.message, reasons: [...reasons].sort().join(',') }),
    });
  }

  /**
   * The reconcile loop's one step: the edge's configuration unless only agents changed, then
   * the in-cluster Envoys' when agents changed or the store's record of an apiserver did
   * (another replica recorded an agent's hello). Nothing else publishes.
   */
  private async rebuild(reasons: ReadonlySet<string>): Promise<void> {
    const edgeReasons = new Set([...reasons].filter((r) => r !== AGENT_REASON));
    try {
      if (edgeReasons.size > 0) await this.reconciler.rebuild(edgeReasons);
    } finally {
      // In-cluster Envoys do not wait on the edge: they get theirs even when the edge's failed.
      // A revocation or a timer leaves them alone: their translation is not repeated for it.
      const records = this.reconciler.clusterRecords();
      const apiservers = JSON.stringify([...records.values()].map((c) => [c.name, c.apiserverHost, c.apiserverPort, c.apiserverCaPem]));
      if (this.agentGateway && (reasons.has(AGENT_REASON) || apiservers !== this.publishedApiservers)) {
        this.publishedApiservers = apiservers;
        publishInClusterEnvoys(this.cache, this.agentGateway.inClusterConfigurations(records), this.props.logger);
      }
    }
  }

  /** The store's apiserver records the in-cluster Envoys were last configured from. */
  private publishedApiservers = '';

  static async start(props: ControlPlaneProps): Promise<ControlPlane> {
    const cp = new ControlPlane(props);
    try {
      await cp.startParts();
    } catch (err) {
      await cp.stop().catch(() => undefined);
      throw err;
    }
    props.logger.info('control plane serving', { port: cp.port, statusPort: cp.statusPort, node: props.edge.nodeId, store: props.store.kind });
    return cp;
  }

  private async startParts(): Promise<void> {
    const props = this.props;
    await this.loop.sync('start');
    this.unwatch = props.store.watch((change) => this.onStoreChange(change));
    // A stream that starts between rebuilds must be decided again when its allowance ends (a
    // window closing, a grant expiring), so tracking it arms the wake-up for that moment.
    const observer: AllowedRequestObserver = {
      allowed: (request, decision, attributes, now) => {
        if (this.openStreams.allowed(request, decision, attributes, now) && decision.validUntil !== undefined) this.reconciler.streamRecheck.armBy(decision.validUntil);
      },
    };
    if (props.audit) this.auditTrail = new AuditTrail({ ...props.audit, clustersReport: props.agents !== undefined, clock: this.clock, logger: props.logger });
    if (props.agents) {
      const clusterLog = this.auditTrail?.clusterLog;
      this.agentGateway = await AgentGateway.start({
        ...props.agents.gateway,
        store: props.store,
        cache: this.cache,
        markDirty: (reason) => this.loop.markDirty(reason),
        logger: props.logger,
        clock: this.clock,
        idleTimeoutSeconds: (name, labels) => this.access.serviceAccountIdleTimeoutSeconds({ name, labels }),
        // The clusters log open streams as often as the edge does.
        ...(props.edge.accessLogFlushIntervalSeconds !== undefined && { accessLogFlushIntervalSeconds: props.edge.accessLogFlushIntervalSeconds }),
        ...(clusterLog && { onClusterAccessLog: (cluster: string, records: readonly AccessLogRecord[]) => clusterLog.report(cluster, records) }),
      });
    }
    const gateway = this.agentGateway;
    const authorizer = authorizerChain({
      ...(props.authorizer && { authorizer: props.authorizer }),
      view: () => this.access,
      observer,
      ...(gateway && {
        agents: {
          gateway,
          isTunnelCluster: (name: string) => this.reconciler.isTunnelled(name),
          rolesOf: (user: string, groups: readonly string[], cluster: string) => this.rolesOf(user, groups, cluster) ?? [],
          // Another replica holds the agent when the shared store heard from it recently, and
          // later than this replica did (a replica that just lost it wrote those heartbeats).
          heardElsewhere: async (cluster: string) => {
            const stored = (await props.store.getCluster(cluster))?.lastSeenAt ?? 0;
            if (!agentHeardRecently(stored, this.clock())) return false;
            // Heard later than this replica heard it, or this replica's session ended by a
            // handover (the pod left for its successor, or the agent moved): those recent
            // heartbeats are another replica's. Only after a failure here may they be our own.
            const handedOver = gateway.hub.handedOverAt(cluster);
            return stored > (gateway.hub.lastSeenAt(cluster) ?? 0) + HEARD_HERE_MARGIN_MS || (handedOver !== undefined && this.clock() - handedOver <= AGENT_SILENCE_MS);
          },
          // A stopping replica's agents are moving to the others: a cluster it holds no session
          // of is theirs to decide, never "disconnected" from here.
          draining: () => this.draining,
        },
      }),
      ...(this.auditTrail && { audit: this.auditTrail }),
      clock: this.clock,
      logger: props.logger,
    });
    const accessLog: AccessLogWriter = {
      writeBatch: (records: readonly AccessLogRecord[]) => {
        const completed = records.filter((r) => r.stage === 'completion');
        for (const r of completed) this.openStreams.ended(r.requestId);
        this.accessLog.writeBatch(completed);
        this.auditTrail?.edgeAccessLog(records);
      },
    };
    this.servers = await ControlPlaneServers.start({
      host: props.host ?? '127.0.0.1',
      port: props.port ?? 0,
      authzPort: props.authzPort ?? 0,
      statusPort: props.statusPort ?? 0,
      tls: props.tls,
      cache: this.cache,
      accessLog,
      view: () => this.access,
      authorizer,
      status: this,
      clock: this.clock,
      logger: props.logger,
      checkShutdownGraceMs: props.drain?.checkShutdownGraceMs ?? DEFAULT_DRAIN_SETTINGS.checkShutdownGraceMs,
    });
  }

  /** The edge's settings with the names of the bootstrap's clusters. */
  private get edgeSettings(): EdgeSettings {
    return { ...this.props.edge, controlPlaneCluster: this.props.controlPlaneCluster, authzCluster: this.props.authzCluster };
  }

  get port(): number {
    if (!this.servers) throw new Error('control plane is not started');
    return this.servers.grpcPort;
  }

  get authzPort(): number {
    if (!this.servers) throw new Error('control plane is not started');
    return this.servers.authzPort;
  }

  get statusPort(): number {
    if (!this.servers) throw new Error('control plane is not started');
    return this.servers.statusPort;
  }

  get nodeId(): string {
    return this.props.edge.nodeId;
  }

  get store(): Store {
    return this.props.store;
  }

  now(): number {
    return this.clock();
  }

  /** Registered clusters, then agent-registered ones not shadowed by a registered one. */
  clusters(): RegisteredCluster[] {
    return this.reconciler.clusters();
  }

  get agents(): AgentGateway | undefined {
    return this.agentGateway;
  }

  /** The ClusterRoles a user holds in a cluster now; undefined without kubectl access there. */
  rolesOf(user: string, groups: readonly string[], cluster: string) {
    const info = this.access.cluster(cluster);
    if (!info) return undefined;
    const access = this.access.engine.clusterAccess({ user, groups }, info, this.access.evaluationContext(user, this.clock()));
    return access.mode === 'kubectl' ? access.clusterRoles : undefined;
  }

  /**
   * Adds or replaces a cluster; the edge sees it after the next rebuild (refresh() waits for
   * it), without a restart. A cluster the edge would refuse is refused here, and nothing changes.
   */
  registerCluster(cluster: RegisteredCluster): void {
    const candidate = [...[...this.registered.values()].filter((c) => c.name !== cluster.name), cluster];
    // What the edge would run with it, checked as a publish checks it (translation, consistency,
    // Envoy's protos): a cluster the edge would refuse must not stop every later publish.
    const resources = translate({ edge: this.edgeSettings, clusters: candidate, certificates: this.edgeCertificates, ...(this.props.agents && { tunnels: this.props.agents.tunnels }) });
    const trial = new Snapshot(resources);
    trial.consistencyCheck();
    trial.validate();
    this.registered.set(cluster.name, cluster);
    this.clustersChanged();
    this.props.logger.info('cluster registered', { cluster: cluster.name, labels: cluster.labels ?? {} });
  }

  unregisterCluster(name: string): boolean {
    if (!this.registered.delete(name)) return false;
    this.clustersChanged();
    this.props.logger.info('cluster unregistered', { cluster: name });
    return true;
  }

  private clustersChanged(): void {
    this.reconciler.syncClusters();
    this.loop.markDirty('clusters');
  }

  /** Agents' bindings and idle periods follow the policy now, not at each user's next request. */
  private agentsFollowState(): void {
    const gateway = this.agentGateway;
    if (!gateway) return;
    gateway.hub.rolesChanged((cluster, user) => {
      const record = this.access.user(user);
      return record && !record.disabled ? this.rolesOf(user, record.groups, cluster) : undefined;
    });
    gateway.settingsChanged();
  }

  /**
   * The users who have a filter chain at `now` (enabled, holding a live certificate), each with
   * the revision that drains it when it changes, as of the store state applied last.
   */
  edgeUsers(now: number = this.clock()): EdgeUser[] {
    return this.reconciler.edgeUsers(now);
  }

  /**
   * A certificate was just issued and recorded: resolves once the edge has accepted the
   * user's chain, so that the kubeconfig handed out next works on its first request.
   */
  private async certificateIssued(cert: CertificateRecord): Promise<EdgeConfirmation> {
    await this.loop.sync('certificate');
    const confirmation = await this.reconciler.confirmations.confirm(cert.user, EDGE_CONFIRMATION_TIMEOUT_MS);
    if (confirmation === 'unconfirmed' && this.reconciler.confirmations.chainHolders.has(cert.user)) {
      this.props.logger.warn('the edge has not accepted the filter chain of a user with a new certificate in time', { user: cert.user, serial: cert.serial, waitedMs: EDGE_CONFIRMATION_TIMEOUT_MS });
    }
    return confirmation;
  }

  /**
   * Replaces the edge's serving certificate. It travels by SDS, so Envoy uses it for new
   * handshakes without a restart and without touching open connections.
   */
  setEdgeServingCertificate(serving: KeyPairPem): void {
    this.edgeCertificates = { ...this.edgeCertificates, serving };
    this.props.logger.info('edge serving certificate replaced');
    this.loop.markDirty('edge-certificate');
  }

  /**
   * Resolves once what the store holds now is in force: ext_authz decides with it (so the next
   * request sees the change) and the snapshot built from it is published; Envoy applies
   * listener changes (a drained user's chain) asynchronously, typically within a few hundred ms.
   */
  refresh(): Promise<void> {
    return this.loop.sync('api');
  }

  private onStoreChange(change: StoreChange): void {
    if (this.stopped) return;
    if (change.sessionActivity) {
      // Activity only widens what ext_authz allows; the edge's configuration does not depend on it.
      this.access.sessionActivity(change.sessionActivity);
      return;
    }
    if (change.generation === this.access.storeGeneration) return;
    this.loop.markDirty('store');
  }

  /** Snapshots the reconcile loop has published, and what publishing them cost (summed). */
  get publishStats(): { readonly count: number; readonly ms: number; readonly cpuMs: number } {
    return this.reconciler.publishStats;
  }

  /** Adds a part to /status (e.g. the policy directory's last sync and its errors). */
  addStatusSection(name: string, section: () => object): void {
    this.statusSections.set(name, section);
  }

  /** Adds a registry's metrics (prom-client, read at each scrape) to /metrics, under `name`. */
  addMetricsSection(name: string, section: Registry): void {
    this.metrics.addSection(name, section);
  }

  status(): object {
    const extra = Object.fromEntries([...this.statusSections].map(([name, section]) => [name, section()]));
    return {
      ...extra,
      clusters: this.clusters().map((c) => c.name).sort(),
      ...(this.agentGateway ? { agents: { port: this.agentGateway.port, connected: this.agentGateway.hub.connectedClusters() } } : {}),
      authz: this.authzMetrics(),
      ...(this.auditStats ? { audit: this.auditStats } : {}),
      xds: this.cache.status(),
      reconcile: { ...this.loop.stats, published: this.reconciler.publishStats.count },
      access: {
        store: this.props.store.kind,
        storeGeneration: this.access.storeGeneration,
        policyRevision: this.access.policyRevision,
        policyError: this.reconciler.policyError,
        users: this.access.allUsers().length,
        filterChains: this.reconciler.confirmations.chainHolders.size,
        openStreams: this.openStreams.size,
        openStreamsEvicted: this.openStreams.evicted,
      },
    };
  }

  metricsText(): Promise<string> {
    return this.metrics.text();
  }

  /**
   * For /readyz: nothing is decided well before the first configuration is published, and a
   * draining replica takes no new traffic.
   */
  notReadyReason(): string | undefined {
    if (this.draining) return 'draining: this replica is stopping, and its agents are moving to the other replicas';
    return this.reconciler.publishStats.count === 0 ? 'no configuration published yet' : undefined;
  }

  /** Whether drain() has begun. */
  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * The first half of a graceful stop; stop() is the second. Readiness turns off (Kubernetes
   * takes the replica out of its Services) and new agent sessions are refused; after
   * endpointsDelayMs the connected agents are asked to move to another replica, and this
   * resolves once none is left here or after agentsDeadlineMs. Meanwhile checks go on being
   * decided: those of clusters still connected here, here; the others are left to the other
   * replicas. With SQLite there is no other replica to hand over to, so it only turns readiness
   * off. Idempotent.
   */
  drain(): Promise<void> {
    this.drained ??= this.runDrain();
    return this.drained;
  }

  private async runDrain(): Promise<void> {
    const settings = { ...DEFAULT_DRAIN_SETTINGS, ...this.props.drain };
    const log = this.props.logger;
    const hub = this.agentGateway?.hub;
    this.draining = true;
    this.agentGateway?.startDraining();
    log.info('draining: /readyz answers 503 and new agent sessions are refused', { agentSessions: hub?.openSessionCount() ?? 0, endpointsDelayMs: settings.endpointsDelayMs });
    if (this.props.store.kind === 'sqlite') {
      log.info('draining: one replica (SQLite), no other to hand agents over to; stopping');
      return;
    }
    await delay(settings.endpointsDelayMs);
    if (!hub || hub.openSessionCount() === 0) {
      log.info('draining: no agent session here; ready to stop');
      return;
    }
    const asked = this.agentGateway!.askAgentsToMove();
    log.info('draining: asked the connected agents to move to another replica', { sessions: asked, clusters: hub.connectedClusters() });
    const started = this.clock();
    if (await this.agentsGone(settings.agentsDeadlineMs)) {
      log.info('draining: every agent session has left this replica', { ms: this.clock() - started });
    } else {
      log.warn('draining: agent sessions are still here at the deadline; stopping ends them and their agents reconnect elsewhere', { sessions: hub.openSessionCount(), clusters: hub.connectedClusters(), deadlineMs: settings.agentsDeadlineMs });
    }
  }

  /** Resolves true once this replica holds no agent session, false at the deadline (or a stop). */
  private async agentsGone(deadlineMs: number): Promise<boolean> {
    const hub = this.agentGateway?.hub;
    const until = Date.now() + deadlineMs;
    while (hub && hub.openSessionCount() > 0) {
      if (this.stopped || Date.now() >= until) return false;
      await delay(Math.min(DRAIN_POLL_MS, until - Date.now()));
    }
    return true;
  }

  authzMetrics(): CheckServerMetrics {
    return this.servers?.authzMetrics ?? { allowed: 0, denied: 0, errors: 0, elsewhere: 0 };
  }

  /** Audit writes so far, for /status and /metrics. */
  get auditStats(): AuditMetricsStats | undefined {
    return this.auditTrail?.stats;
  }

  /** Ingests what the edge has logged so far (tests, a clean shutdown). */
  async catchUpEdgeLog(): Promise<void> {
    await this.auditTrail?.catchUpEdgeLog();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    await this.loop.stop();
    this.reconciler.stop();
    await this.servers?.stopFront();
    await this.agentGateway?.stop();
    // What clusters reported before their streams closed is written before the writer stops.
    await this.auditTrail?.stopClusterLog();
    await this.servers?.stopGrpc();
    await this.accessLog.close();
    await this.auditTrail?.close();
  }
}
