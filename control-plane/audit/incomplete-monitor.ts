/**
 * Keeps an eye on allowed requests whose outcome the audit trail does not know: a decision with
 * no completion (an edge that lost its unflushed log lines, a cluster that dropped off). The
 * report exists (`kubegate audit incomplete`), but someone has to ask; this asks every minute
 * and exposes the answer on /metrics, so an alert can fire instead of a gap going unnoticed.
 */
import { Registry } from 'prom-client';
import { DEFAULT_INCOMPLETE_AGE_MS, type AuditLog } from './audit-log';
import type { Logger } from '../log/logger';
import { renderMetrics, scrapedCounter, scrapedGauge } from '../metrics/scraped-metrics';

export interface IncompleteMonitorProps {
  readonly audit: Pick<AuditLog, 'incomplete'>;
  /**
   * How long a request may go without a decision or progress record before its missing
   * completion counts: longer than the edge's progress interval plus the time its file log
   * takes to be ingested, or open streams would be counted. @default DEFAULT_INCOMPLETE_AGE_MS (5 minutes)
   */
  readonly graceMs?: number;
  /** How far back to look. @default 24 hours */
  readonly windowMs?: number;
  /** @default 60 s */
  readonly intervalMs?: number;
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
  readonly logger: Logger;
}

export interface IncompleteMonitorState {
  /** Allowed requests without a completion in the window at the last check; undefined before the first. */
  readonly incomplete?: number;
  /** When the last check finished (epoch ms), successful or not. */
  readonly checkedAt?: number;
  readonly failedChecks: number;
}

const DEFAULT_WINDOW_MS = 24 * 3_600_000;
const DEFAULT_INTERVAL_MS = 60_000;

export class IncompleteMonitor {
  private state: IncompleteMonitorState = { failedChecks: 0 };
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly clock: () => number;
  /** The last check's answer for /metrics, read at each scrape. */
  readonly metrics = new Registry();

  constructor(private readonly props: IncompleteMonitorProps) {
    this.clock = props.clock ?? Date.now;
    scrapedGauge(this.metrics, {
      name: 'kubegate_audit_incomplete_requests',
      help: 'Allowed requests of the last 24 hours whose completion record is missing (see kubegate audit incomplete).',
      // No sample before the first check has answered.
      read: () => this.state.incomplete,
    });
    scrapedCounter(this.metrics, {
      name: 'kubegate_audit_incomplete_check_failures_total',
      help: 'Checks for incomplete audit records that failed.',
      read: () => this.state.failedChecks,
    });
  }

  get current(): IncompleteMonitorState {
    return this.state;
  }

  start(): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.props.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  /** One check now (a check already running is waited for instead). */
  check(): Promise<void> {
    this.running ??= this.checkOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkOnce(): Promise<void> {
    const now = this.clock();
    const windowMs = this.props.windowMs ?? DEFAULT_WINDOW_MS;
    try {
      // The first page carries the total; one record is enough to get it.
      const page = await this.props.audit.incomplete({ since: now - windowMs, olderThanMs: this.props.graceMs ?? DEFAULT_INCOMPLETE_AGE_MS, now, limit: 1 });
      const incomplete = page.total ?? page.events.length;
      if (incomplete > 0 && incomplete !== this.state.incomplete) {
        this.props.logger.warn('allowed requests without a completion record in the audit trail (kubegate audit incomplete lists them)', { incomplete, windowHours: windowMs / 3_600_000 });
      }
      this.state = { incomplete, checkedAt: this.clock(), failedChecks: this.state.failedChecks };
    } catch (err) {
      this.state = { ...this.state, checkedAt: this.clock(), failedChecks: this.state.failedChecks + 1 };
      this.props.logger.warn('could not count incomplete audit records; trying again later', { error: (err as Error).message });
    }
  }

  /** Prometheus text for /metrics. */
  metricsText(): Promise<string> {
    return renderMetrics([this.metrics]);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
