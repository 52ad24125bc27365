/**
 * Where the control plane's audit records go once decided: decisions are written (durably,
 * before the edge hears them) by the auditing authorizer; progress and completion events come
 * from the edge's access log (its file when it has one, or the gRPC stream) and from clusters'
 * in-cluster Envoys, and follow their decision record. This holds those writers, routes the
 * events, and counts what could not be written.
 */
import type { Logger } from '../log/logger';
import { AuditWriter, type AuditAppender } from '../audit/audit-writer';
import { completionEvent } from '../audit/completion-event';
import { EdgeLogIngester } from '../audit/edge-log-ingester';
import { ClusterLogRecorder } from '../audit/cluster-log-recorder';
import { RecentDecisions } from '../audit/recent-decisions';
import type { AuditEvent } from '../audit/audit-event';
import type { AuditLog } from '../audit/audit-log';
import type { AccessLogRecord } from '../envoy-access-log/access-log-record';
import type { AuditMetricsStats } from './control-plane-metrics';

export interface AuditTrailProps {
  readonly appender: AuditAppender;
  /** The edge's file access log; see ControlPlaneProps.audit.edgeLog. */
  readonly edgeLog?: { readonly file: string; readonly reopen?: () => Promise<void> };
  /** The audit log read back for clusters' reports; see ControlPlaneProps.audit.log. */
  readonly log?: Pick<AuditLog, 'query'>;
  /** Whether clusters report (agents are served). */
  readonly clustersReport: boolean;
  readonly clock: () => number;
  readonly logger: Logger;
}

export class AuditTrail {
  readonly writer: AuditWriter;
  /** The allow decisions just written, for the clusters' reports about them. */
  readonly recentDecisions?: RecentDecisions;
  /** What clusters' in-cluster Envoys report: with agents and an audit log to read. */
  readonly clusterLog?: ClusterLogRecorder;
  readonly edgeLogIngester?: EdgeLogIngester;
  private completionsFailed = 0;

  constructor(private readonly props: AuditTrailProps) {
    this.writer = new AuditWriter({ appender: props.appender });
    if (props.clustersReport && props.log) {
      this.recentDecisions = new RecentDecisions(props.log);
      this.clusterLog = new ClusterLogRecorder({
        decisions: this.recentDecisions,
        record: (event) => this.recordCompletion(event),
        clock: props.clock,
        logger: props.logger.child('cluster-log'),
      });
    } else if (props.clustersReport) {
      props.logger.warn('what in-cluster Envoys log is not recorded: the control plane has no audit log to read the decisions from');
    }
    if (props.edgeLog) {
      this.edgeLogIngester = new EdgeLogIngester({ ...props.edgeLog, appender: props.appender, clock: props.clock, logger: props.logger.child('edge-log') });
      this.edgeLogIngester.start();
    }
  }

  /** Records from the gRPC access-log stream; ignored when the edge's file is the source. */
  edgeAccessLog(records: readonly AccessLogRecord[]): void {
    if (this.edgeLogIngester) return;
    const now = this.props.clock();
    for (const r of records) this.recordCompletion(completionEvent(r, now));
  }

  /**
   * One progress or completion event, the edge's or a cluster's. Nothing waits on it, but a
   * failure to write it is logged and counted (kubegate_audit_completions_failed_total), never
   * dropped silently.
   */
  recordCompletion(event: AuditEvent): void {
    this.writer.record(event).catch((err: Error) => {
      this.completionsFailed += 1;
      this.props.logger.error('could not write an audit completion record', { requestId: event.requestId, stage: event.stage, ...(event.reportedBy && { reportedBy: event.reportedBy }), error: err.message });
    });
  }

  /** Audit writes so far, for /status and /metrics. */
  get stats(): AuditMetricsStats {
    return {
      ...this.writer.stats,
      completionsFailed: this.completionsFailed,
      ...(this.edgeLogIngester ? { edgeLog: this.edgeLogIngester.stats } : {}),
      ...(this.clusterLog ? { clusterLog: this.clusterLog.stats } : {}),
    };
  }

  /** Ingests what the edge has logged so far (tests, a clean shutdown). */
  async catchUpEdgeLog(): Promise<void> {
    await this.edgeLogIngester?.catchUp();
  }

  /** Stops the clusters' recorder (what they reported is written first). */
  async stopClusterLog(): Promise<void> {
    await this.clusterLog?.stop();
  }

  /** Stops reading the edge's file and closes the writer. */
  async close(): Promise<void> {
    await this.edgeLogIngester?.stop();
    await this.writer.close();
  }
}
