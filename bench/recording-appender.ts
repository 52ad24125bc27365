/**
 * An audit appender that passes every batch on and notes what group commit made of the load:
 * how many events each write carried and how long the write took (for SQLite and PostgreSQL,
 * the commit with its fsync). Only successful writes are noted.
 */
import type { AuditEvent } from '../control-plane/audit/audit-event';
import type { AuditAppender } from '../control-plane/audit/audit-writer';
import { round, summarize } from './bench-support';

export interface BatchFigures {
  readonly batches: number;
  readonly events: number;
  /** Events per write. */
  readonly size: { readonly mean: number; readonly p50: number; readonly p99: number; readonly max: number };
  /** Time of one write, ms. */
  readonly writeMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /**
   * All writes together, ms. For SQLite this is time the event loop was held (better-sqlite3
   * commits, fsync included, on the calling thread); for PostgreSQL, time a write was in flight.
   */
  readonly busyMs: number;
}

export class RecordingAppender implements AuditAppender {
  private sizes: number[] = [];
  private durations: number[] = [];

  constructor(private readonly inner: AuditAppender) {}

  async append(events: readonly AuditEvent[]): Promise<void> {
    const start = performance.now();
    await this.inner.append(events);
    this.durations.push(performance.now() - start);
    this.sizes.push(events.length);
  }

  /** The figures since the last take, and a fresh start. */
  take(): BatchFigures {
    const sizes = summarize(this.sizes);
    const ms = summarize(this.durations);
    const events = this.sizes.reduce((s, n) => s + n, 0);
    const busyMs = this.durations.reduce((s, d) => s + d, 0);
    this.sizes = [];
    this.durations = [];
    return {
      batches: sizes.n,
      events,
      size: { mean: round(sizes.mean), p50: sizes.p50, p99: sizes.p99, max: sizes.max },
      writeMs: { p50: round(ms.p50, 3), p99: round(ms.p99, 3), max: round(ms.max, 3) },
      busyMs: round(busyMs, 1),
    };
  }
}
