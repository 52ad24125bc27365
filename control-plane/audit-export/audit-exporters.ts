/**
 * Runs the configured audit exporters side by side, each with its own sink and position, all
 * reading the same audit store. The store is the spool: an exporter whose sink is down simply
 * stays behind (its lag grows) and catches up from the store when the sink is back, so nothing
 * is lost while the store keeps the events. lowWaterMark() tells retention how far every
 * exporter has got.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { createLogger, type Logger } from '../log/logger';
import { renderMetrics, scrapedCounter, scrapedGauge } from '../metrics/scraped-metrics';
import type { AuditExportConfig, ResolvedAuditExportConfig, ResolvedExporterConfig } from './audit-export-config';
import type { AuditSink } from './audit-sink';
import type { AuditSource } from './audit-source';
import { PositionFile } from './export-position';
import { type ExporterStatus, ExportWorker } from './export-worker';
import { JsonlFileExporter } from './jsonl-file-exporter';
import { resolveAuditExportConfig } from './validate-audit-export-config';
import { WebhookExporter } from './webhook-exporter';

export interface AuditExportersProps {
  readonly config: AuditExportConfig;
  readonly source: AuditSource;
  /** @default createLogger('audit-export') */
  readonly logger?: Logger;
  /** For jitter. @default Math.random */
  readonly random?: () => number;
  /** The clock for age-based file rotation. @default Date.now */
  readonly now?: () => number;
}

export class AuditExportersStoppedError extends Error {
  readonly code = 'ERR_AUDIT_EXPORT_STOPPED';
  constructor() {
    super('audit exporters that were stopped cannot start again: create new ones');
    this.name = 'AuditExportersStoppedError';
  }
}

export class AuditExporters {
  readonly config: ResolvedAuditExportConfig;
  private readonly workers: ExportWorker[];
  private readonly logger: Logger;
  private started = false;
  private stopped = false;
  /** Each exporter's counters and gauges as Prometheus metrics, read at each scrape. */
  readonly metrics = new Registry();

  /** Throws AuditExportConfigError naming every problem of the config. */
  constructor(private readonly props: AuditExportersProps) {
    this.config = resolveAuditExportConfig(props.config);
    this.logger = props.logger ?? createLogger('audit-export');
    this.workers = this.config.exporters.map((c) => this.worker(c));
    this.registerMetrics();
  }

  /**
   * Loads every position and starts every exporter. A position file that cannot be read stops
   * the start (PositionFileError, code ERR_AUDIT_EXPORT_POSITION): guessing would either send
   * everything again or skip events.
   */
  async start(): Promise<void> {
    if (this.started) return;
    // Workers hold an aborted signal once stopped; a restart is a new AuditExporters.
    if (this.stopped) throw new AuditExportersStoppedError();
    fs.mkdirSync(this.config.stateDir, { recursive: true, mode: 0o700 });
    const running: ExportWorker[] = [];
    try {
      for (const worker of this.workers) {
        worker.start();
        running.push(worker);
      }
    } catch (err) {
      await Promise.all(running.map((w) => w.stop()));
      throw err;
    }
    this.started = true;
  }

  /** New events were written: idle exporters read at once rather than at their next poll. */
  notify(): void {
    for (const worker of this.workers) worker.notify();
  }

  /** Stops every exporter; positions are already saved after every batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers.map((w) => w.stop()));
    this.started = false;
  }

  status(): readonly ExporterStatus[] {
    return this.workers.map((w) => w.status());
  }

  /**
   * The highest seq every exporter has delivered and saved as its position: retention may
   * remove events up to here without any exporter missing them, even after a crash (Infinity
   * when there are no exporters).
   */
  lowWaterMark(): number {
    return this.workers.reduce((low, w) => Math.min(low, w.durableSeq), Number.POSITIVE_INFINITY);
  }

  /** Counters and gauges per exporter, in the Prometheus text exposition format. */
  metricsText(): Promise<string> {
    return renderMetrics([this.metrics]);
  }

  private registerMetrics(): void {
    const metric = (kind: typeof scrapedCounter, name: string, help: string, value: (s: ExporterStatus) => number) =>
      kind(this.metrics, { name, help, labelNames: ['exporter', 'kind'], read: () => this.status().map((s) => [{ exporter: s.name, kind: s.kind }, value(s)] as const) });
    metric(scrapedCounter, 'kubegate_audit_export_events_total', 'Audit events the sink acknowledged.', (s) => s.eventsSent);
    metric(scrapedCounter, 'kubegate_audit_export_batches_total', 'Batches the sink acknowledged.', (s) => s.batchesSent);
    metric(scrapedCounter, 'kubegate_audit_export_retries_total', 'Delivery attempts that failed and were retried.', (s) => s.retries);
    metric(scrapedCounter, 'kubegate_audit_export_rejected_total', 'Delivery attempts the sink refused (4xx other than 429).', (s) => s.rejected);
    metric(scrapedCounter, 'kubegate_audit_export_missed_events_total', 'Events retention removed before the exporter delivered them.', (s) => s.missedEvents);
    metric(scrapedCounter, 'kubegate_audit_export_chain_breaks_total', 'Times the store hash chain did not continue from the exported position.', (s) => s.chainBreaks);
    metric(scrapedCounter, 'kubegate_audit_export_source_errors_total', 'Failed reads from the audit store.', (s) => s.sourceErrors);
    metric(scrapedGauge, 'kubegate_audit_export_position', 'Seq of the last event the sink acknowledged.', (s) => s.position);
    metric(scrapedGauge, 'kubegate_audit_export_lag_events', 'Events in the store the sink has not acknowledged.', (s) => s.lag);
  }

  private worker(c: ResolvedExporterConfig): ExportWorker {
    const logger = this.logger.child(c.name);
    const sink: AuditSink = c.type === 'jsonl-file' ? new JsonlFileExporter({ config: c, logger, ...(this.props.now ? { now: this.props.now } : {}) }) : new WebhookExporter({ config: c });
    return new ExportWorker({
      name: c.name,
      source: this.props.source,
      sink,
      positionFile: new PositionFile(path.join(this.config.stateDir, `${c.name}.position.json`), c.name),
      maxBatchEvents: c.maxBatchEvents,
      pollIntervalMs: this.config.pollIntervalMs,
      backoff: { initialMs: c.initialBackoffMs, maxMs: c.maxBackoffMs },
      rejectedRetryDelayMs: c.rejectedRetryDelayMs,
      logger,
      ...(this.props.random ? { random: this.props.random } : {}),
    });
  }
}
