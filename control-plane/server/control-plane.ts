/**
 * The control plane process's core: it owns the registered clusters, the edge's certificates
 * and the in-memory access state loaded from the store; turns them into xDS snapshots through
 * the pure translator; and serves ADS, the access-log service (one mTLS gRPC port) and
 * ext_authz (its own mTLS port).
 *
 * Changes flow one way: the store reports a change → the access state is reloaded → open
 * streams are decided again → a new snapshot is published. Revocation, disabling a user and
 * lost access all end the same way: the user's filter chain changes or disappears, and Envoy
 * drains that user's connections. Only users holding a live certificate have a chain: issuing
 * one adds it (and waits until the edge has it), its expiry removes it.
 */
import type { Logger } from '../log/logger';
import type { KeyPairPem } from '../pki/certificates';
import { edgeUserShards, type EdgeCertificates, type EdgeSettings, type EdgeUser, type RegisteredCluster } from '../translator/input';
import { translate } from '../translator/translate';
import { userShard } from '../identity/user-identity';
import { Snapshot } from '../xds/snapshot';
import { SnapshotCache } from '../xds/snapshot-cache';
import { addAdsService } from '../xds/ads-server';
import { DigestMemo } from '../xds/content-digest';
import { FilterChainMemo } from '../translator/filter-chain-memo';
import { startGrpcServer } from '../xds/grpc-server';
import { startCheckServer, type CheckServerMetrics, type RunningCheckServer } from '../authz/check-server';
import type { Authorizer } from '../authz/decision';
import { PolicyAuthorizer, type AllowedRequestObserver } from '../authz/policy-authorizer';
import { addAccessLogService, type AccessLogWriter } from '../envoy-access-log/access-log-service';
import { addSelfReviewService } from '../self-review/self-review-service';
import { JsonLinesSink } from '../envoy-access-log/json-lines-sink';
import type { AccessLogRecord } from '../envoy-access-log/access-log-record';
import { startStatusServer, type RunningStatusServer } from './status-http';
import { ControlPlaneMetrics } from './control-plane-metrics';
import type { Registry } from 'prom-client';
import type { CertificateRecord, Store, StoreChange, StoreState } from '../store/store';
import { AccessState, type EdgeConfirmation } from '../access-state/access-state';
import { LISTENER_TYPE_URL } from '../xds/resource-types';
import { OpenStreams } from '../access-state/open-streams';
import { DecisionCache } from '../policy-engine/decision-cache';
import type { EdgeTunnelSettings } from '../translator/input';
import { AgentGateway, type AgentGatewayProps } from '../agent-gateway/agent-gateway';
import { TunnelAuthorizer } from '../agent-gateway/tunnel-authorizer';
import { AuditWriter, type AuditAppender, type AuditWriterStats } from '../audit/audit-writer';
import { AuditingAuthorizer } from '../audit/auditing-authorizer';
import { completionEvent } from '../audit/completion-event';
import { EdgeLogIngester, type EdgeLogIngesterStats } from '../audit/edge-log-ingester';
import { ClusterLogRecorder, type ClusterLogRecorderStats } from '../audit/cluster-log-recorder';
import { RecentDecisions } from '../audit/recent-decisions';
import type { AuditEvent } from '../audit/audit-event';
import type { AuditLog } from '../audit/audit-log';

/** setTimeout's ceiling; later checks are re-armed when this one fires. */
const MAX_TIMER_MS = 2_147_483_647;
/** How long issuing a certificate waits for the edge to accept the user's filter chain. */
const EDGE_CONFIRMATION_TIMEOUT_MS = 15_000;
/** Listener versions remembered with whose chains they carry, to tell when a chain is at the edge. */
const LISTENER_VERSIONS_KEPT = 16;

export interface ControlPlaneProps {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** The internal CA that every component's client certificate must chain to, and our identity. */
  readonly tls: { readonly caPem: string; readonly serving: KeyPairPem };
  /** Edge settings without the names of the bootstrap's clusters, which the bootstrap fixes. */
  readonly edge: Omit<EdgeSettings, 'controlPlaneCluster' | 'authzCluster'>;
  readonly edgeCertificates: EdgeCertificates;
  readonly controlPlaneCluster: string;
  /** The bootstrap's static cluster that reaches the ext_authz port. */
  readonly authzCluster: string;
  /** ext_authz port (mTLS, HTTP/2); 0 picks a free one. @default 0 */
  readonly authzPort?: number;
  /** JSON Lines file that receives one record per request. */
  readonly accessLogFile: string;
  /** Loopback port of the status endpoint (/healthz, /status, /metrics); 0 picks one. @default 0 */
  readonly statusPort?: number;
  /** Users, groups, certificates, policies, break-glass and sessions. */
  readonly store: Store;
  /** Decides every request. @default a PolicyAuthorizer over the access state */
  readonly authorizer?: Authorizer;
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
  readonly logger: Logger;
  /**
   * The audit trail: every decision is made durable here before the edge hears it (a request
   * whose record cannot be written is refused), and Envoy's access log adds progress and
   * completion events. @default no audit trail (the JSON Lines access log only)
   */
  readonly audit?: {
    readonly appender: AuditAppender;
    /**
     * The edge's file access log (EdgeSettings.auditLogFile), which progress and completion
     * events are then taken from, so none is lost while the control plane is down.
     * @default none: they come from the gRPC access-log stream
     */
    readonly edgeLog?: { readonly file: string; readonly reopen?: () => Promise<void> };
    /**
     * The audit log the appender writes to, read back for the decision records of what
     * clusters' in-cluster Envoys report (their access logs arrive on the agent port): a
     * cluster's record is written only for a request the edge let through to that cluster,
     * with the decision's attributes (audit/cluster-log-events.ts).
     * @default none: in-cluster Envoys' access logs are not taken (and not recorded)
     */
    readonly log?: Pick<AuditLog, 'query'>;
  };
  /**
   * Clusters behind firewalls: the agent port (join, sessions, in-cluster Envoys' xDS) and the
   * edge's tunnel listener. Every cluster an agent registered is then reached over tunnels.
   * @default no agents, only directly registered clusters
   */
  readonly agents?: {
    /** The idle period of per-user ServiceAccounts comes from the policies (ClusterSettings). */
    readonly gateway: Omit<AgentGatewayProps, 'store' | 'cache' | 'logger' | 'clock' | 'idleTimeoutSeconds' | 'accessLogFlushIntervalSeconds' | 'onClusterAccessLog'>;
    readonly tunnels: EdgeTunnelSettings;
  };
}

export class ControlPlane {
  readonly cache: SnapshotCache;
  readonly accessLog: JsonLinesSink;
  readonly access: AccessState;
  readonly openStreams = new OpenStreams();
  private readonly registered = new Map<string, RegisteredCluster>();
  /** Advances for a user whose open streams lost their access, to drain their filter chain. */
  private readonly drainEpochs = new Map<string, number>();
  /**
   * By shard (EdgeSettings.userShards): advances whenever the connections of a user of that
   * shard are drained (revoked, disabled, deleted, lost access), to drain that shard's user
   * fallback chain too: see TranslatorInput.userFallbackRevisions. Only that shard's listener
   * changes, so Envoy rebuilds one shard, not every user's chain.
   */
  private readonly fallbackEpochs = new Map<number, number>();
  /**
   * Advances whenever a user whose connections must close has a stream open on the shared
   * users' chain (TranslatorInput.sharedChainRevision), so that chain is drained too.
   */
  private sharedEpoch = 0;
  /** Each user's credential revision and disabled flag at the last reload, to tell what changed. */
  private drainSensitive = new Map<string, string>();
  private readonly clock: () => number;
  private grpc?: { port: number; stop(): Promise<void> };
  private checkServer?: RunningCheckServer;
  private statusServer?: RunningStatusServer;
  private unwatch?: () => void;
  private reloading: Promise<void> | null = null;
  /** The store generation the last reload applied (and published). */
  private appliedGeneration?: number;
  private reloadAgain = false;
  private recheckTimer?: NodeJS.Timeout;
  /** When the armed recheck fires (epoch ms); MAX_SAFE_INTEGER when none is armed. */
  private recheckAt = Number.MAX_SAFE_INTEGER;
  /** Fires when the next chain holder's last certificate expires. */
  private expiryTimer?: NodeJS.Timeout;
  /** Users with a filter chain in the snapshot published last. */
  private chainHolders: ReadonlySet<string> = new Set();
  /** Recent listener versions and whose filter chains each carries (oldest first). */
  private readonly chainsByListenerVersion = new Map<string, ReadonlySet<string>>();
  /**
   * Carry unchanged users' filter chains, and their digests and references, from one push to
   * the next: at ten thousand users a push went from about 0.8 s of CPU to under 0.1 s
   * (translator/filter-chain-memo.ts).
   */
  private readonly filterChainMemo = new FilterChainMemo();
  private readonly digestMemo = new DigestMemo();
  private stopped = false;
  private lastPolicyError: string | null = null;
  private edgeCertificates: EdgeCertificates;
  private readonly statusSections = new Map<string, () => object>();
  private readonly metrics = new ControlPlaneMetrics({
    cache: () => this.cache.metrics,
    authz: () => this.authzMetrics(),
    openStreams: () => this.openStreams.size,
    policyRevision: () => this.access.policyRevision,
    audit: () => this.auditStats,
  });
  private agentGateway?: AgentGateway;
  private auditWriter?: AuditWriter;
  private edgeLogIngester?: EdgeLogIngester;
  /** What clusters' in-cluster Envoys report: with an audit trail and an audit log to read. */
  private clusterLog?: ClusterLogRecorder;
  /** The allow decisions just written, for the clusters' reports about them. */
  private recentDecisions?: RecentDecisions;
  private auditCompletionsFailed = 0;
  /** Clusters agents registered (from the store); reached over tunnels. */
  private readonly tunnelled = new Map<string, RegisteredCluster>();

  private constructor(private readonly props: ControlPlaneProps) {
    this.cache = new SnapshotCache(props.logger.child('xds'));
    this.accessLog = new JsonLinesSink(props.accessLogFile);
    this.access = new AccessState(props.edge.userServerNameSuffix, { certificateIssued: (cert) => this.certificateIssued(cert) });
    this.clock = props.clock ?? Date.now;
    this.edgeCertificates = props.edgeCertificates;
  }

  static async start(props: ControlPlaneProps): Promise<ControlPlane> {
    const cp = new ControlPlane(props);
    await cp.reloadNow();
    cp.unwatch = props.store.watch((change) => cp.onStoreChange(change));
    // A stream that starts between reloads must be checked again when its allowance ends (a
    // window closing, a grant expiring), so tracking it arms the recheck timer.
    const observer: AllowedRequestObserver = {
      allowed: (request, decision, attributes, now) => {
        if (cp.openStreams.allowed(request, decision, attributes, now) && decision.validUntil !== undefined) cp.armRecheck(decision.validUntil);
      },
    };
    let authorizer = props.authorizer ?? new PolicyAuthorizer({ view: () => cp.access, clock: cp.clock, cache: new DecisionCache(), observer });
    if (props.audit) cp.auditWriter = new AuditWriter({ appender: props.audit.appender });
    if (props.agents) {
      const writer = cp.auditWriter;
      if (writer && props.audit?.log) {
        cp.recentDecisions = new RecentDecisions(props.audit.log);
        cp.clusterLog = new ClusterLogRecorder({
          decisions: cp.recentDecisions,
          record: (event) => cp.recordCompletion(writer, event),
          clock: cp.clock,
          logger: props.logger.child('cluster-log'),
        });
      } else if (writer) {
        props.logger.warn('what in-cluster Envoys log is not recorded: the control plane has no audit log to read the decisions from');
      }
      const clusterLog = cp.clusterLog;
      cp.agentGateway = await AgentGateway.start({
        ...props.agents.gateway,
        store: props.store,
        cache: cp.cache,
        logger: props.logger,
        clock: cp.clock,
        idleTimeoutSeconds: (name, labels) => cp.access.serviceAccountIdleTimeoutSeconds({ name, labels }),
        // The clusters log open streams as often as the edge does.
        ...(props.edge.accessLogFlushIntervalSeconds !== undefined && { accessLogFlushIntervalSeconds: props.edge.accessLogFlushIntervalSeconds }),
        ...(clusterLog && { onClusterAccessLog: (cluster: string, records: readonly AccessLogRecord[]) => clusterLog.report(cluster, records) }),
      });
      authorizer = new TunnelAuthorizer({
        inner: authorizer,
        hub: cp.agentGateway.hub,
        signer: cp.agentGateway.signer,
        isTunnelCluster: (name) => cp.tunnelled.has(name) && !cp.registered.has(name),
        rolesOf: (user, groups, cluster) => cp.rolesOf(user, groups, cluster) ?? [],
        clock: cp.clock,
      });
    }
    if (props.audit && cp.auditWriter) {
      const recent = cp.recentDecisions;
      authorizer = new AuditingAuthorizer({
        inner: authorizer,
        writer: cp.auditWriter,
        clock: cp.clock,
        logger: props.logger.child('audit'),
        ...(recent && { recorded: (event: AuditEvent) => recent.remember(event) }),
      });
      if (props.audit.edgeLog) {
        cp.edgeLogIngester = new EdgeLogIngester({ ...props.audit.edgeLog, appender: props.audit.appender, clock: cp.clock, logger: props.logger.child('edge-log') });
        cp.edgeLogIngester.start();
      }
    }
    const accessLogWriter: AccessLogWriter = {
      writeBatch: (records: readonly AccessLogRecord[]) => {
        const completed = records.filter((r) => r.stage === 'completion');
        for (const r of completed) cp.openStreams.ended(r.requestId);
        cp.accessLog.writeBatch(completed);
        if (cp.auditWriter && !cp.edgeLogIngester) cp.recordCompletions(cp.auditWriter, records);
      },
    };
    cp.grpc = await startGrpcServer({
      host: props.host ?? '127.0.0.1',
      port: props.port ?? 0,
      tls: { caPem: props.tls.caPem, certPem: props.tls.serving.certPem, keyPem: props.tls.serving.keyPem },
      logger: props.logger.child('grpc'),
      register: (server) => {
        addAdsService(server, cp.cache, props.logger.child('ads'));
        addAccessLogService(server, accessLogWriter, props.logger.child('accesslog'));
        addSelfReviewService(server, { view: () => cp.access, clock: cp.clock, logger: props.logger.child('self-review') });
      },
    });
    cp.checkServer = await startCheckServer({
      host: props.host ?? '127.0.0.1',
      port: props.authzPort ?? 0,
      tls: { caPem: props.tls.caPem, certPem: props.tls.serving.certPem, keyPem: props.tls.serving.keyPem },
      authorizer,
      logger: props.logger.child('authz'),
    });
    cp.statusServer = await startStatusServer(cp, props.statusPort ?? 0);
    props.logger.info('control plane serving', { port: cp.grpc.port, statusPort: cp.statusServer.port, node: props.edge.nodeId, store: props.store.kind });
    return cp;
  }

  get port(): number {
    if (!this.grpc) throw new Error('control plane is not started');
    return this.grpc.port;
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

  /** Directly registered clusters, then agent-registered ones not shadowed by a direct one. */
  clusters(): RegisteredCluster[] {
    return [...this.registered.values(), ...[...this.tunnelled.values()].filter((c) => !this.registered.has(c.name))];
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

  /** Adds or replaces a cluster; the edge sees it with its next xDS push, without a restart. */
  registerCluster(cluster: RegisteredCluster): void {
    const previous = this.registered.get(cluster.name);
    this.registered.set(cluster.name, cluster);
    try {
      this.clustersChanged();
    } catch (err) {
      // A cluster the translator refuses must not stay registered half-way.
      if (previous) this.registered.set(cluster.name, previous);
      else this.registered.delete(cluster.name);
      this.access.setClusters(this.clusterInfos());
      throw err;
    }
    this.props.logger.info('cluster registered', { cluster: cluster.name, labels: cluster.labels ?? {} });
  }

  unregisterCluster(name: string): boolean {
    if (!this.registered.has(name)) return false;
    this.registered.delete(name);
    this.clustersChanged();
    this.props.logger.info('cluster unregistered', { cluster: name });
    return true;
  }

  private clusterInfos() {
    return this.clusters().map((c) => ({ name: c.name, labels: { ...(c.labels ?? {}) } }));
  }

  private clustersChanged(): void {
    this.access.setClusters(this.clusterInfos());
    this.revalidateOpenStreams();
    this.publish();
  }

  /**
   * The users who get a filter chain (enabled, holding a live certificate at `now`), each with
   * the revision that drains it when it changes and when their last certificate expires.
   */
  edgeUsers(now: number = this.clock()): EdgeUser[] {
    const users: EdgeUser[] = [];
    for (const u of this.access.allUsers()) {
      if (u.disabled) continue;
      const certificateNotAfter = this.access.certificateNotAfter(u.name, now);
      if (certificateNotAfter === undefined) continue;
      users.push({ name: u.name, revision: `${u.credentialRevision}.${this.drainEpochs.get(u.name) ?? 0}`, certificateNotAfter });
    }
    return users;
  }

  /** Translates the current state and hands the snapshot to the cache. */
  publish(): Snapshot {
    const now = this.clock();
    const users = this.edgeUsers(now);
    const resources = translate(
      {
        edge: { ...this.props.edge, controlPlaneCluster: this.props.controlPlaneCluster, authzCluster: this.props.authzCluster },
        clusters: this.clusters(),
        certificates: this.edgeCertificates,
        users,
        now,
        userFallbackRevisions: Object.fromEntries([...this.fallbackEpochs].map(([shard, epoch]) => [String(shard), String(epoch)])),
        sharedChainRevision: String(this.sharedEpoch),
        ...(this.props.agents ? { tunnels: this.props.agents.tunnels } : {}),
      },
      { memo: this.filterChainMemo },
    );
    // The translator's output is ours alone: frozen where it is, not copied.
    const snapshot = new Snapshot(resources, { adopt: true, memo: this.digestMemo });
    this.cache.setSnapshot(this.props.edge.nodeId, snapshot);
    this.chainHolders = new Set(users.map((u) => u.name));
    const version = snapshot.version(LISTENER_TYPE_URL);
    this.chainsByListenerVersion.delete(version);
    this.chainsByListenerVersion.set(version, this.chainHolders);
    if (this.chainsByListenerVersion.size > LISTENER_VERSIONS_KEPT) this.chainsByListenerVersion.delete(this.chainsByListenerVersion.keys().next().value!);
    let nextExpiry = Number.MAX_SAFE_INTEGER;
    for (const u of users) nextExpiry = Math.min(nextExpiry, u.certificateNotAfter!);
    this.armExpiry(nextExpiry);
    return snapshot;
  }

  /**
   * A certificate was just issued: the user's chain goes to the edge now (unless it is there
   * already), and this resolves once the edge has accepted it, so that the kubeconfig handed out
   * next works on its first request.
   */
  private async certificateIssued(cert: CertificateRecord): Promise<EdgeConfirmation> {
    if (!this.chainHolders.has(cert.user)) this.publish();
    // Disabled meanwhile, or not known here yet: no chain to wait for.
    if (!this.chainHolders.has(cert.user)) return 'unconfirmed';
    const nodeId = this.props.edge.nodeId;
    // An edge that connects later receives the whole configuration before it serves.
    if ((this.cache.nodeStatus(nodeId)?.connectedStreams ?? 0) === 0) return 'no-edge';
    const carriesChain = (version: string) => this.chainsByListenerVersion.get(version)?.has(cert.user) === true;
    const accepted = await this.cache.whenAccepted(nodeId, LISTENER_TYPE_URL, carriesChain, EDGE_CONFIRMATION_TIMEOUT_MS);
    if (!accepted) this.props.logger.warn('the edge has not accepted the filter chain of a user with a new certificate in time', { user: cert.user, serial: cert.serial, waitedMs: EDGE_CONFIRMATION_TIMEOUT_MS });
    return accepted ? 'confirmed' : 'unconfirmed';
  }

  /** Publishes again when the next chain holder's last certificate expires, so their chain goes. */
  private armExpiry(at: number): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (this.stopped || at >= Number.MAX_SAFE_INTEGER) return;
    const delay = Math.min(Math.max(at - this.clock(), 0) + 5, MAX_TIMER_MS);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.certificatesExpired().catch((err: Error) => this.props.logger.error('could not publish after certificates expired', { error: err.message }));
    }, delay);
    this.expiryTimer.unref();
  }

  private async certificatesExpired(): Promise<void> {
    await this.reloading?.catch(() => undefined);
    if (this.stopped) return;
    // Users whose last certificate just expired lose their chain in this publish; their streams
    // on the shared chain must close as well.
    const holders = new Set(this.edgeUsers().map((u) => u.name));
    const lost = [...this.chainHolders].filter((user) => !holders.has(user));
    if (this.openStreams.onSharedChain(lost)) this.drainSharedChain();
    this.publish();
  }

  /**
   * Replaces the edge's serving certificate. It travels by SDS, so Envoy uses it for new
   * handshakes without a restart and without touching open connections.
   */
  setEdgeServingCertificate(serving: KeyPairPem): Snapshot {
    this.edgeCertificates = { ...this.edgeCertificates, serving };
    this.props.logger.info('edge serving certificate replaced');
    return this.publish();
  }

  /**
   * Reloads from the store now. When it resolves, ext_authz decides with the new state (so the
   * next request sees the change) and the new snapshot is published; Envoy applies listener
   * changes (a drained user's chain) asynchronously, typically within a few hundred ms.
   */
  async refresh(): Promise<void> {
    // Callers refresh after changing the store. When a reload has already applied the store's
    // current generation (the store's own change notice usually starts one before the caller
    // gets here), that change is in force at the edge: another reload would push the same
    // configuration again, which at ten thousand users costs half a second of CPU and delays
    // the next push a revocation waits for.
    if (!this.reloading && this.appliedGeneration !== undefined) {
      const generation = await this.props.store.generation();
      if (generation === this.appliedGeneration && !this.reloading) return;
    }
    await this.reloadNow();
  }

  private onStoreChange(change: StoreChange): void {
    if (this.stopped) return;
    if (change.sessionActivity) {
      this.access.sessionActivity(change.sessionActivity);
      return;
    }
    if (change.generation === this.access.storeGeneration) return;
    void this.reloadNow().catch((err: Error) => this.props.logger.error('could not reload from the store', { error: err.message }));
  }

  /** One reload at a time; a change during a reload causes one more afterwards. */
  private reloadNow(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        let applied: number | undefined;
        do {
          this.reloadAgain = false;
          const state = await this.props.store.loadState(this.clock());
          if (this.stopped) return;
          // Asked again while this reload ran (the store's own notice and the caller's refresh
          // both ask), but nothing changed since: the push would be the same, and at ten
          // thousand chains a push costs a second.
          if (state.generation === applied) continue;
          applied = state.generation;
          const policyError = this.access.applyStoreState(state);
          this.reportPolicyError(policyError);
          this.noteRevokedOrDisabled();
          if (this.props.agents) this.syncTunnelledClusters(state.clusters);
          // Every live certificate, wherever it was issued (another replica records it, and
          // that is a store change like any other): a restarted control plane gives the edge
          // every chain it had and drains nobody, and a renewed user's chain stays.
          this.access.noteCertificates(state.liveCertificates, this.clock());
          this.revalidateOpenStreams();
          this.publish();
          this.appliedGeneration = state.generation;
        } while (this.reloadAgain && !this.stopped);
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  /**
   * A user revoked, disabled or deleted since the last reload loses their chain or gets a new
   * revision of it; their shard's user fallback chain is drained with it (see fallbackEpochs).
   */
  private noteRevokedOrDisabled(): void {
    const current = new Map(this.access.allUsers().map((u) => [u.name, `${u.credentialRevision}.${u.disabled}`]));
    const changed: string[] = [];
    for (const [user, before] of this.drainSensitive) {
      if (current.get(user) !== before) changed.push(user);
    }
    this.drainFallbackChainsOf(changed);
    if (this.openStreams.onSharedChain(changed)) this.drainSharedChain();
    this.drainSensitive = current;
  }

  /**
   * Drains the user fallback chain of each of these users' shards, once per shard: a connection
   * one of them opened before the edge had their own chain is there, and only in their shard.
   */
  private drainFallbackChainsOf(users: Iterable<string>): void {
    const shards = edgeUserShards(this.props.edge);
    for (const shard of new Set([...users].map((user) => userShard(user, shards)))) {
      this.fallbackEpochs.set(shard, (this.fallbackEpochs.get(shard) ?? 0) + 1);
    }
  }

  /** Closes every connection on the shared users' chain: a user who must lose theirs has one there. */
  private drainSharedChain(): void {
    this.sharedEpoch++;
    this.props.logger.info("draining the edge's shared users' chain: a user whose streams must close has one open on it");
  }

  /** Agent-registered clusters follow the store, so every replica routes to every cluster. */
  private syncTunnelledClusters(records: StoreState['clusters']): void {
    this.tunnelled.clear();
    for (const r of records) this.tunnelled.set(r.name, { name: r.name, labels: { ...r.labels }, connection: 'tunnel' });
    this.access.setClusters(this.clusterInfos());
    // Bindings follow the policy now, not at each user's next request.
    this.agentGateway?.hub.rolesChanged((cluster, user) => {
      const record = this.access.user(user);
      return record && !record.disabled ? this.rolesOf(user, record.groups, cluster) : undefined;
    });
    // So do the agents' idle periods (ClusterSettings serviceAccountIdleTimeout).
    this.agentGateway?.settingsChanged();
  }

  private reportPolicyError(err: Error | null): void {
    const message = err ? ((err as Error & { format?: () => string }).format?.() ?? err.message) : null;
    if (message && message !== this.lastPolicyError) {
      this.props.logger.error('the stored policy set does not load; the previous one stays in force', { error: message });
    }
    this.lastPolicyError = message;
  }

  /**
   * Decides every open stream again; users who lost access get a new drain epoch (so a new
   * filter chain revision), and a timer is set for the next moment a decision can change.
   */
  private revalidateOpenStreams(): boolean {
    const now = this.clock();
    const { usersToDrain, drainSharedChain, nextCheckAt } = this.openStreams.revalidate(this.access, now);
    if (drainSharedChain) this.drainSharedChain();
    for (const user of usersToDrain) {
      this.drainEpochs.set(user, (this.drainEpochs.get(user) ?? 0) + 1);
      this.props.logger.info('closing open streams of a user who lost access', { user });
    }
    this.drainFallbackChainsOf(usersToDrain);
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
    this.recheckAt = Number.MAX_SAFE_INTEGER;
    this.armRecheck(nextCheckAt);
    return usersToDrain.size > 0;
  }

  /** Makes sure open streams are decided again no later than `at` (epoch ms). */
  private armRecheck(at: number): void {
    if (this.stopped || at >= Number.MAX_SAFE_INTEGER || at >= this.recheckAt) return;
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.recheckAt = at;
    const delay = Math.min(Math.max(at - this.clock(), 0) + 5, MAX_TIMER_MS);
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined;
      this.recheckAt = Number.MAX_SAFE_INTEGER;
      if (this.revalidateOpenStreams()) this.publish();
    }, delay);
    this.recheckTimer.unref();
  }

  get authzPort(): number {
    if (!this.checkServer) throw new Error('control plane is not started');
    return this.checkServer.port;
  }

  get statusPort(): number {
    if (!this.statusServer) throw new Error('control plane is not started');
    return this.statusServer.port;
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
      access: {
        store: this.props.store.kind,
        storeGeneration: this.access.storeGeneration,
        policyRevision: this.access.policyRevision,
        policyError: this.lastPolicyError,
        users: this.access.allUsers().length,
        filterChains: this.chainHolders.size,
        openStreams: this.openStreams.size,
      },
    };
  }

  metricsText(): Promise<string> {
    return this.metrics.text();
  }

  authzMetrics(): CheckServerMetrics {
    return { ...(this.checkServer?.metrics ?? { allowed: 0, denied: 0, errors: 0 }) };
  }

  /**
   * Progress and completion events follow their decision record; nothing waits on them, but a
   * failure to write one is logged and counted (kubegate_audit_completions_failed_total), never
   * dropped silently.
   */
  private recordCompletions(writer: AuditWriter, records: readonly AccessLogRecord[]): void {
    const now = this.clock();
    for (const r of records) this.recordCompletion(writer, completionEvent(r, now));
  }

  /** One progress or completion event, the edge's or a cluster's; see recordCompletions. */
  private recordCompletion(writer: AuditWriter, event: AuditEvent): void {
    writer.record(event).catch((err: Error) => {
      this.auditCompletionsFailed += 1;
      this.props.logger.error('could not write an audit completion record', { requestId: event.requestId, stage: event.stage, ...(event.reportedBy && { reportedBy: event.reportedBy }), error: err.message });
    });
  }

  /** Audit writes so far, for /status and /metrics. */
  get auditStats(): (AuditWriterStats & { completionsFailed: number; edgeLog?: EdgeLogIngesterStats; clusterLog?: ClusterLogRecorderStats }) | undefined {
    if (!this.auditWriter) return undefined;
    return {
      ...this.auditWriter.stats,
      completionsFailed: this.auditCompletionsFailed,
      ...(this.edgeLogIngester ? { edgeLog: this.edgeLogIngester.stats } : {}),
      ...(this.clusterLog ? { clusterLog: this.clusterLog.stats } : {}),
    };
  }

  /** Ingests what the edge has logged so far (tests, a clean shutdown). */
  async catchUpEdgeLog(): Promise<void> {
    await this.edgeLogIngester?.catchUp();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    await this.reloading?.catch(() => undefined);
    await this.statusServer?.stop();
    await this.checkServer?.stop();
    await this.agentGateway?.stop();
    // What clusters reported before their streams closed is written before the writer stops.
    await this.clusterLog?.stop();
    await this.grpc?.stop();
    await this.accessLog.close();
    await this.edgeLogIngester?.stop();
    await this.auditWriter?.close();
  }
}
