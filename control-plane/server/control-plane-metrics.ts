/**
 * /metrics of the control plane: the xDS cache's metrics, the control plane's own (authz
 * decisions, open streams, policy revision, audit writes) and the sections other parts add
 * (the controller's check for incomplete audit records). Kept out of ControlPlane so that
 * class keeps to its servers and reloads; prom-client renders the text (scraped-metrics.ts
 * says why), each metric reading the counts the control plane keeps for /status too.
 */
import { Registry } from 'prom-client';
import type { CheckServerMetrics } from '../authz/check-server';
import type { AuditWriterStats } from '../audit/audit-writer';
import type { EdgeLogIngesterStats } from '../audit/edge-log-ingester';
import { CLUSTER_LOG_DROPS, type ClusterLogRecorderStats } from '../audit/cluster-log-recorder';
import { CLUSTER_LOG_REJECTIONS } from '../audit/cluster-log-events';
import { renderMetrics, scrapedCounter as counter, scrapedGauge as gauge } from '../metrics/scraped-metrics';

export type AuditMetricsStats = AuditWriterStats & { completionsFailed: number; edgeLog?: EdgeLogIngesterStats; clusterLog?: ClusterLogRecorderStats };

export interface ControlPlaneMetricsSource {
  /** The xDS cache's registry, listed first. */
  readonly cache: () => Registry;
  readonly authz: () => CheckServerMetrics;
  readonly openStreams: () => number;
  readonly openStreamsEvicted: () => number;
  readonly policyRevision: () => number;
  /** Undefined without an audit trail: then no audit metrics are listed at all. */
  readonly audit: () => AuditMetricsStats | undefined;
}

export class ControlPlaneMetrics {
  private readonly core = new Registry();
  /** Listed only with an audit trail, and the edge log and cluster log parts only with those. */
  private readonly audit = new Registry();
  private readonly edgeLog = new Registry();
  private readonly clusterLog = new Registry();
  private readonly sections = new Map<string, Registry>();

  constructor(private readonly source: ControlPlaneMetricsSource) {
    // Read only when the registry is listed, so the audit stats are there.
    const audit = () => source.audit()!;

    counter(this.core, {
      name: 'kubegate_authz_decisions_total',
      help: 'Authorization decisions by outcome (elsewhere: left to the replica the cluster\'s agent is connected to).',
      labelNames: ['decision'],
      read: () => {
        const m = source.authz();
        return [
          [{ decision: 'allow' }, m.allowed],
          [{ decision: 'deny' }, m.denied],
          [{ decision: 'error' }, m.errors],
          [{ decision: 'elsewhere' }, m.elsewhere],
        ];
      },
    });
    gauge(this.core, { name: 'kubegate_open_streams', help: 'Long-lived requests (watch, exec, logs -f) being tracked for revalidation.', read: source.openStreams });
    counter(this.core, {
      name: 'kubegate_open_streams_evicted_total',
      help: 'Tracked long-lived requests forgotten because too many were open: a later loss of access does not close them (the maximum stream duration still does).',
      read: source.openStreamsEvicted,
    });
    gauge(this.core, { name: 'kubegate_policy_revision', help: 'Revision of the policy set in force.', read: source.policyRevision });

    counter(this.audit, { name: 'kubegate_audit_events_written_total', help: 'Audit events made durable (decisions, progress, completions).', read: () => audit().written });
    counter(this.audit, { name: 'kubegate_audit_events_failed_total', help: 'Audit events the store did not take (their requests were refused, or their completion is missing).', read: () => audit().failed });
    counter(this.audit, { name: 'kubegate_audit_completions_failed_total', help: 'Progress or completion records that could not be written.', read: () => audit().completionsFailed });
    gauge(this.audit, { name: 'kubegate_audit_queue', help: 'Audit events waiting to be written.', read: () => audit().queued });

    gauge(this.edgeLog, { name: 'kubegate_audit_edge_log_lag_bytes', help: 'Bytes of the edge access log not yet in the audit trail.', read: () => audit().edgeLog!.lagBytes });
    counter(this.edgeLog, { name: 'kubegate_audit_edge_log_bad_lines_total', help: 'Edge access-log lines that were not entries (skipped and logged).', read: () => audit().edgeLog!.badLines });

    counter(this.clusterLog, {
      name: 'kubegate_audit_cluster_log_recorded_total',
      help: "Progress and completion records reported by clusters' in-cluster Envoys, handed on to be written.",
      read: () => audit().clusterLog!.recorded,
    });
    counter(this.clusterLog, {
      name: 'kubegate_audit_cluster_log_rejected_total',
      help: 'Cluster-reported entries not recorded because the edge did not send that request to that cluster.',
      labelNames: ['reason'],
      read: () => CLUSTER_LOG_REJECTIONS.map((reason) => [{ reason }, audit().clusterLog!.rejected[reason]] as const),
    });
    counter(this.clusterLog, {
      name: 'kubegate_audit_cluster_log_dropped_total',
      help: 'Cluster-reported entries not recorded because they could not be checked (the store unreadable or behind).',
      labelNames: ['reason'],
      read: () => CLUSTER_LOG_DROPS.map((reason) => [{ reason }, audit().clusterLog!.dropped[reason]] as const),
    });
  }

  /** Adds a registry's metrics to /metrics, under `name` (the same name again replaces it). */
  addSection(name: string, registry: Registry): void {
    this.sections.set(name, registry);
  }

  /** The Prometheus text of /metrics. */
  text(): Promise<string> {
    const audit = this.source.audit();
    return renderMetrics([
      this.source.cache(),
      this.core,
      ...(audit ? [this.audit] : []),
      ...(audit?.edgeLog ? [this.edgeLog] : []),
      ...(audit?.clusterLog ? [this.clusterLog] : []),
      ...this.sections.values(),
    ]);
  }
}
