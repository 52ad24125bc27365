/**
 * Per-node snapshots, kept apart from the gRPC server the way go-control-plane splits its cache
 * from its server: whoever computes configuration calls setSnapshot; the ADS server watches the
 * cache and records here what it sent and what each Envoy ACKed or NACKed, so one place can
 * answer "what is this Envoy running, and did it reject anything?".
 */
import { Registry } from 'prom-client';
import type { Logger } from '../log/logger';
import { renderMetrics, scrapedCounter, scrapedGauge } from '../metrics/scraped-metrics';
import { RESOURCE_TYPES, resourceTypeOf, type ShortTypeName, type TypeUrl } from './resource-types';
import type { Snapshot } from './snapshot';

export interface NackRecord {
  /** The version Envoy rejected (the one sent with `nonce`). */
  readonly version: string;
  readonly nonce: string;
  /** error_detail.message from Envoy's request. */
  readonly message: string;
  /** ISO 8601. */
  readonly time: string;
}

export interface TypeStatus {
  readonly type: ShortTypeName;
  /** This type's version in the node's current snapshot. */
  readonly snapshotVersion?: string;
  /** The version most recently sent to this node (on any of its streams). */
  readonly sentVersion?: string;
  /** The version this node most recently accepted. */
  readonly ackedVersion?: string;
  readonly lastNack?: NackRecord;
  /** Versions this node rejected; they are never sent to it again. */
  readonly rejectedVersions: readonly string[];
  /** Single resources this node rejected over delta xDS, as "name@version"; held back likewise. */
  readonly rejectedResources: readonly string[];
}

export interface NodeStatus {
  readonly nodeId: string;
  readonly snapshotVersion?: string;
  /** Open ADS streams from this node right now. */
  readonly connectedStreams: number;
  /** How many of those speak each ADS variant ('sotw', 'delta'); absent variants are left out. */
  readonly streamProtocols: Readonly<Partial<Record<AdsVariant, number>>>;
  /** Keyed by type URL. */
  readonly types: Readonly<Record<string, TypeStatus>>;
}

export interface CacheStatus {
  /** Keyed by node id. */
  readonly nodes: Readonly<Record<string, NodeStatus>>;
}

export type SnapshotListener = (snapshot: Snapshot) => void;

/** What a node answered to a version of a type: accepted (ACK) or rejected (NACK). */
export type AnswerListener = (typeUrl: TypeUrl, version: string, accepted: boolean) => void;

/**
 * How many rejected versions are remembered per node and type. Versions are content hashes, so a
 * rejected configuration keeps its version if it comes back; a small bound keeps memory flat
 * while still covering flapping between a few bad configurations.
 */
const REJECTED_VERSIONS_KEPT = 32;

interface TypeRecord {
  sentVersion?: string;
  ackedVersion?: string;
  lastNack?: NackRecord;
  rejected: string[];
  /** "name@version" of single resources rejected over delta xDS, oldest first. */
  rejectedResources: string[];
}

/** The two ways an Envoy can speak ADS: state of the world or incremental (delta). */
export type AdsVariant = 'sotw' | 'delta';

interface NodeRecord {
  snapshot?: Snapshot;
  streams: number;
  readonly streamProtocols: Map<AdsVariant, number>;
  readonly types: Map<TypeUrl, TypeRecord>;
  readonly listeners: Set<SnapshotListener>;
  readonly answerListeners: Set<AnswerListener>;
}

type PerType = Record<ShortTypeName, number>;
const zeroPerType = (): PerType => ({ CDS: 0, EDS: 0, LDS: 0, RDS: 0, SDS: 0 });

export class SnapshotCache {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly counters = {
    pushes: zeroPerType(),
    resourcesSent: zeroPerType(),
    acks: zeroPerType(),
    nacks: zeroPerType(),
    streamsOpened: 0,
    snapshotsSet: 0,
    snapshotsRefused: 0,
  };

  /** The cache's counters as Prometheus metrics (kubegate_xds_*), read at each scrape. */
  readonly metrics = new Registry();

  constructor(private readonly logger: Logger) {
    this.registerMetrics();
  }

  /**
   * Publishes a snapshot for a node. It is checked first (every reference resolvable, every
   * resource valid against Envoy's protos, each resource encoded once); if that throws, the
   * node keeps its previous snapshot and no stream sees anything. Then every open stream of the
   * node is told, and answers whichever pending requests the new versions satisfy.
   */
  setSnapshot(nodeId: string, snapshot: Snapshot): void {
    if (!nodeId) throw new Error('setSnapshot needs a node id');
    const previous = this.nodes.get(nodeId)?.snapshot;
    // Only what changed since the node's last snapshot is validated and encoded (a revocation
    // changes one user's filter chain out of thousands).
    snapshot.reuseEncodingsFrom(previous);
    try {
      snapshot.consistencyCheck();
      snapshot.validate();
    } catch (err) {
      this.counters.snapshotsRefused++;
      this.logger.error('snapshot refused; the previous one stays in place', { node: nodeId, version: snapshot.version(), error: err as Error });
      throw err;
    }
    const node = this.node(nodeId);
    node.snapshot = snapshot;
    this.counters.snapshotsSet++;
    const changed = RESOURCE_TYPES.filter((t) => previous?.version(t.typeUrl) !== snapshot.version(t.typeUrl)).map((t) => t.shortName);
    this.logger.info('snapshot set', { node: nodeId, version: snapshot.version(), changed, streams: node.streams });
    for (const listener of [...node.listeners]) {
      try {
        listener(snapshot);
      } catch (err) {
        this.logger.error('snapshot listener failed', { node: nodeId, error: err as Error });
      }
    }
  }

  getSnapshot(nodeId: string): Snapshot | undefined {
    return this.nodes.get(nodeId)?.snapshot;
  }

  /** Calls `listener` after every setSnapshot for the node; returns the function that stops it. */
  watch(nodeId: string, listener: SnapshotListener): () => void {
    const node = this.node(nodeId);
    node.listeners.add(listener);
    return () => {
      node.listeners.delete(listener);
    };
  }

  /**
   * Calls `listener` whenever the node ACKs or NACKs a version (so a caller can wait until
   * configuration is in force at the edge); returns the function that stops it.
   */
  watchAnswers(nodeId: string, listener: AnswerListener): () => void {
    const node = this.node(nodeId);
    node.answerListeners.add(listener);
    return () => {
      node.answerListeners.delete(listener);
    };
  }

  /**
   * Resolves true once the node has accepted (ACKed) a version of the type for which `wanted`
   * holds, at once if the version it last accepted does; false after `timeoutMs`.
   */
  whenAccepted(nodeId: string, typeUrl: TypeUrl, wanted: (version: string) => boolean, timeoutMs: number): Promise<boolean> {
    const acked = this.nodes.get(nodeId)?.types.get(typeUrl)?.ackedVersion;
    if (acked !== undefined && wanted(acked)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        clearTimeout(timer);
        stop();
        resolve(result);
      };
      const stop = this.watchAnswers(nodeId, (type, version, accepted) => {
        if (type === typeUrl && accepted && wanted(version)) done(true);
      });
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
    });
  }

  // What the ADS server reports as the protocol runs.

  streamOpened(nodeId: string, variant: AdsVariant): void {
    const node = this.node(nodeId);
    node.streams++;
    node.streamProtocols.set(variant, (node.streamProtocols.get(variant) ?? 0) + 1);
    this.counters.streamsOpened++;
  }

  streamClosed(nodeId: string, variant: AdsVariant): void {
    const node = this.node(nodeId);
    node.streams = Math.max(0, node.streams - 1);
    const open = (node.streamProtocols.get(variant) ?? 0) - 1;
    if (open > 0) node.streamProtocols.set(variant, open);
    else node.streamProtocols.delete(variant);
    // A node we never had configuration for (a typo in an Envoy's node id, say) leaves no trace.
    if (node.streams === 0 && !node.snapshot && node.listeners.size === 0 && node.answerListeners.size === 0) this.nodes.delete(nodeId);
  }

  /** A response went out: `resources` is how many resources it carried (delta: removals too). */
  recordSent(nodeId: string, typeUrl: TypeUrl, version: string, resources = 0): void {
    this.typeRecord(nodeId, typeUrl).sentVersion = version;
    const type = resourceTypeOf(typeUrl).shortName;
    this.counters.pushes[type]++;
    this.counters.resourcesSent[type] += resources;
  }

  /** Resources sent so far, by type (what Envoy had to take in; delta keeps this small). */
  resourcesSent(): Readonly<Record<ShortTypeName, number>> {
    return { ...this.counters.resourcesSent };
  }

  recordAck(nodeId: string, typeUrl: TypeUrl, version: string): void {
    const record = this.typeRecord(nodeId, typeUrl);
    record.ackedVersion = version;
    // Accepted after all (e.g. by an Envoy restarted with a fix): no reason to hold it back.
    record.rejected = record.rejected.filter((v) => v !== version);
    this.counters.acks[resourceTypeOf(typeUrl).shortName]++;
    this.tellAnswer(nodeId, typeUrl, version, true);
  }

  /**
   * Delta xDS: what the node has matches this version of the type resource for resource
   * without anything being sent (the snapshot went back to what it runs, say after rejected
   * changes). Counts as accepted for whoever waits on it, not as an ACK in the counters.
   */
  recordInSync(nodeId: string, typeUrl: TypeUrl, version: string): void {
    const record = this.typeRecord(nodeId, typeUrl);
    if (record.ackedVersion === version) return;
    record.ackedVersion = version;
    this.tellAnswer(nodeId, typeUrl, version, true);
  }

  recordNack(nodeId: string, typeUrl: TypeUrl, nack: NackRecord): void {
    const record = this.typeRecord(nodeId, typeUrl);
    record.lastNack = nack;
    record.rejected = [...record.rejected.filter((v) => v !== nack.version), nack.version].slice(-REJECTED_VERSIONS_KEPT);
    this.counters.nacks[resourceTypeOf(typeUrl).shortName]++;
    this.tellAnswer(nodeId, typeUrl, nack.version, false);
  }

  private tellAnswer(nodeId: string, typeUrl: TypeUrl, version: string, accepted: boolean): void {
    for (const listener of [...(this.nodes.get(nodeId)?.answerListeners ?? [])]) {
      try {
        listener(typeUrl, version, accepted);
      } catch (err) {
        this.logger.error('answer listener failed', { node: nodeId, error: err as Error });
      }
    }
  }

  /** Whether this node rejected this version of this type; such a version is never sent to it again. */
  isRejected(nodeId: string, typeUrl: TypeUrl, version: string): boolean {
    return this.nodes.get(nodeId)?.types.get(typeUrl)?.rejected.includes(version) ?? false;
  }

  /**
   * Delta xDS: the node rejected this version of one resource (a response carrying it alone was
   * NACKed). Resource versions are content hashes, so the same content is never sent to the
   * node again, while a changed resource is.
   */
  recordRejectedResource(nodeId: string, typeUrl: TypeUrl, name: string, version: string): void {
    const record = this.typeRecord(nodeId, typeUrl);
    const key = `${name}@${version}`;
    record.rejectedResources = [...record.rejectedResources.filter((k) => k !== key), key].slice(-REJECTED_VERSIONS_KEPT);
  }

  /** Whether this node rejected this version of this resource (recordRejectedResource). */
  isResourceRejected(nodeId: string, typeUrl: TypeUrl, name: string, version: string): boolean {
    const rejected = this.nodes.get(nodeId)?.types.get(typeUrl)?.rejectedResources;
    return rejected !== undefined && rejected.length > 0 && rejected.includes(`${name}@${version}`);
  }

  /** Per node: snapshot version, and per type what was sent, ACKed and NACKed; open streams. */
  status(): CacheStatus {
    const nodes: Record<string, NodeStatus> = {};
    for (const nodeId of [...this.nodes.keys()].sort()) nodes[nodeId] = this.nodeStatus(nodeId)!;
    return { nodes };
  }

  nodeStatus(nodeId: string): NodeStatus | undefined {
    const node = this.nodes.get(nodeId);
    if (!node) return undefined;
    const types: Record<string, TypeStatus> = {};
    for (const type of RESOURCE_TYPES) {
      const record = node.types.get(type.typeUrl);
      types[type.typeUrl] = {
        type: type.shortName,
        snapshotVersion: node.snapshot?.version(type.typeUrl),
        sentVersion: record?.sentVersion,
        ackedVersion: record?.ackedVersion,
        lastNack: record?.lastNack,
        rejectedVersions: [...(record?.rejected ?? [])],
        rejectedResources: [...(record?.rejectedResources ?? [])],
      };
    }
    const streamProtocols = Object.fromEntries([...node.streamProtocols].sort(([a], [b]) => a.localeCompare(b)));
    return { nodeId, snapshotVersion: node.snapshot?.version(), connectedStreams: node.streams, streamProtocols, types };
  }

  /** Counters in the Prometheus text exposition format. */
  metricsText(): Promise<string> {
    return renderMetrics([this.metrics]);
  }

  private registerMetrics(): void {
    const perType = (counts: PerType) => () => RESOURCE_TYPES.map((t) => [{ type: t.shortName }, counts[t.shortName]] as const);
    const counter = (name: string, help: string, read: () => number) => scrapedCounter(this.metrics, { name, help, read });
    const byType = (name: string, help: string, counts: PerType) => scrapedCounter(this.metrics, { name, help, labelNames: ['type'], read: perType(counts) });
    byType('kubegate_xds_pushes_total', 'xDS responses sent to Envoy.', this.counters.pushes);
    byType('kubegate_xds_resources_sent_total', 'Resources carried by xDS responses (delta: changed and removed ones only).', this.counters.resourcesSent);
    byType('kubegate_xds_acks_total', 'xDS responses Envoy accepted.', this.counters.acks);
    byType('kubegate_xds_nacks_total', 'xDS responses Envoy rejected.', this.counters.nacks);
    counter('kubegate_xds_streams_total', 'ADS streams opened.', () => this.counters.streamsOpened);
    scrapedGauge(this.metrics, {
      name: 'kubegate_xds_streams_active',
      help: 'ADS streams open now.',
      read: () => {
        let active = 0;
        for (const node of this.nodes.values()) active += node.streams;
        return active;
      },
    });
    counter('kubegate_xds_snapshots_set_total', 'Snapshots published.', () => this.counters.snapshotsSet);
    counter('kubegate_xds_snapshots_refused_total', 'Snapshots refused by the consistency or validity check.', () => this.counters.snapshotsRefused);
  }

  private node(nodeId: string): NodeRecord {
    let node = this.nodes.get(nodeId);
    if (!node) {
      node = { streams: 0, streamProtocols: new Map(), types: new Map(), listeners: new Set(), answerListeners: new Set() };
      this.nodes.set(nodeId, node);
    }
    return node;
  }

  private typeRecord(nodeId: string, typeUrl: TypeUrl): TypeRecord {
    const node = this.node(nodeId);
    let record = node.types.get(typeUrl);
    if (!record) {
      record = { rejected: [], rejectedResources: [] };
      node.types.set(typeUrl, record);
    }
    return record;
  }
}
