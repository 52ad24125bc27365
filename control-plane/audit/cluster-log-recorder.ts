/**
 * Puts what clusters' in-cluster Envoys report into the audit trail (cluster-log-events.ts):
 * for each gRPC message, reads the decisions of its request ids from the audit log (one query
 * per id, all at once; the (request_id, stage, time) index answers each without a scan),
 * converts the entries and hands the events on to `record`, the path the edge's completions
 * take. Messages are handled one at a time in arrival order, so a stream's progress records
 * come before its completion in the chain.
 *
 * Best effort, like the Envoy side that sends them: the edge's file log is the record that
 * nothing is lost. Entries are dropped (counted, logged) when their decisions cannot be read
 * or when too many are waiting for a slow store; rejected ones (a cluster reporting a request
 * it was not sent) are counted and logged once per message.
 */
import type { AccessLogRecord } from '../envoy-access-log/access-log-record';
import type { Logger } from '../log/logger';
import type { AuditEvent } from './audit-event';
import type { DecisionSource } from './recent-decisions';
import { CLUSTER_LOG_REJECTIONS, clusterLogEvents, requestIdsOf, type ClusterLogRejection } from './cluster-log-events';

export interface ClusterLogRecorderProps {
  /** Where the requests' decision records are read: the audit log, or recent ones in memory over it. */
  readonly decisions: DecisionSource;
  /** Makes an event durable, counting a failure to (the control plane's completion path). */
  readonly record: (event: AuditEvent) => void;
  /** Epoch ms. */
  readonly clock: () => number;
  readonly logger: Logger;
  /** Entries waiting beyond this are dropped rather than queued without bound. @default 50000 */
  readonly maxPending?: number;
}

export const CLUSTER_LOG_DROPS = ['lookup-failed', 'overloaded'] as const;
export type ClusterLogDrop = (typeof CLUSTER_LOG_DROPS)[number];

export interface ClusterLogRecorderStats {
  /** Events handed on to be written. */
  readonly recorded: number;
  /** Entries about requests the reporting cluster was not sent, by reason. */
  readonly rejected: Readonly<Record<ClusterLogRejection, number>>;
  /** Entries that could not be checked, by reason. */
  readonly dropped: Readonly<Record<ClusterLogDrop, number>>;
}

/** Decisions per request id looked at: more means a client reused an x-request-id that often. */
const DECISIONS_PER_REQUEST = 10;
/** Request ids named in a rejection's log line; the counts cover them all. */
const LOGGED_REQUEST_IDS = 5;

export class ClusterLogRecorder {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private stopped = false;
  private recorded = 0;
  private readonly rejected = Object.fromEntries(CLUSTER_LOG_REJECTIONS.map((r) => [r, 0])) as Record<ClusterLogRejection, number>;
  private readonly dropped = Object.fromEntries(CLUSTER_LOG_DROPS.map((r) => [r, 0])) as Record<ClusterLogDrop, number>;

  constructor(private readonly props: ClusterLogRecorderProps) {}

  get stats(): ClusterLogRecorderStats {
    return { recorded: this.recorded, rejected: { ...this.rejected }, dropped: { ...this.dropped } };
  }

  /** One gRPC message's entries from `cluster` (the one its certificate names). Never throws. */
  report(cluster: string, records: readonly AccessLogRecord[]): void {
    if (this.stopped || records.length === 0) return;
    if (this.pending + records.length > (this.props.maxPending ?? 50_000)) {
      this.dropped.overloaded += records.length;
      this.props.logger.error('cluster-side access-log entries dropped: too many are waiting for the audit store', { cluster, entries: records.length, waiting: this.pending });
      return;
    }
    this.pending += records.length;
    this.tail = this.tail
      .then(() => this.handle(cluster, records))
      // One message's failure must not stop the ones after it.
      .catch((err: Error) => this.props.logger.error('cluster-side access-log entries not recorded', { cluster, entries: records.length, error: err.message }))
      .finally(() => (this.pending -= records.length));
  }

  /** Handles what has arrived, then takes nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.tail;
  }

  private async handle(cluster: string, records: readonly AccessLogRecord[]): Promise<void> {
    const decisions = new Map<string, readonly AuditEvent[]>();
    try {
      const ids = requestIdsOf(records);
      const pages = await Promise.all(ids.map((requestId) => this.props.decisions.query({ requestId, stage: 'decision' }, { limit: DECISIONS_PER_REQUEST })));
      ids.forEach((id, i) => decisions.set(id, pages[i]!.events));
    } catch (err) {
      this.dropped['lookup-failed'] += records.length;
      this.props.logger.error('cluster-side access-log entries dropped: their decision records could not be read', { cluster, entries: records.length, error: (err as Error).message });
      return;
    }
    const { events, rejected } = clusterLogEvents(cluster, records, decisions, this.props.clock());
    for (const event of events) this.props.record(event);
    this.recorded += events.length;
    if (rejected.length > 0) {
      const byReason: Partial<Record<ClusterLogRejection, number>> = {};
      for (const r of rejected) {
        this.rejected[r.reason] += 1;
        byReason[r.reason] = (byReason[r.reason] ?? 0) + 1;
      }
      this.props.logger.warn('a cluster reported requests it was not sent; not recorded', {
        cluster,
        rejected: byReason,
        requestIds: rejected.slice(0, LOGGED_REQUEST_IDS).map((r) => r.requestId),
      });
    }
  }
}
