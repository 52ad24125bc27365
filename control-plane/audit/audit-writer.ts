/**
 * Group commit for the audit trail. Every request's decision must be durable before the edge
 * lets the request through, but one transaction per request would cap the edge at the disk's
 * sync rate. Callers each wait for their own event; events that arrive while a write is in
 * flight are written together in the next one, so under load one sync covers many requests.
 *
 * A write starts only once the event loop has handled the I/O that is ready (setImmediate), not
 * in the caller's own tick: an embedded store commits synchronously on this thread, and the
 * requests that arrived together must be queued before it blocks, or each would commit alone.
 * An idle edge pays one turn of the event loop, no timer.
 */
import type { AuditEvent } from './audit-event';

/** Where events are made durable: resolves only once the whole batch is. */
export interface AuditAppender {
  append(events: readonly AuditEvent[]): Promise<unknown>;
}

export interface AuditWriterProps {
  readonly appender: AuditAppender;
  /** At most this many events per write. @default 2000 */
  readonly maxBatch?: number;
  /**
   * Events waiting beyond this are refused at once (the caller denies its request) rather than
   * queued without bound while the store is slow or down. @default 50000
   */
  readonly maxQueued?: number;
}

/** The store did not take the event: its request must not go ahead. */
export class AuditWriteError extends Error {
  readonly code = 'ERR_AUDIT_WRITE';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'AuditWriteError';
  }
}

interface Waiting {
  readonly event: AuditEvent;
  resolve(): void;
  reject(err: Error): void;
}

export interface AuditWriterStats {
  readonly written: number;
  readonly failed: number;
  readonly batches: number;
  readonly queued: number;
}

export class AuditWriter {
  private queue: Waiting[] = [];
  private writing = false;
  private closed = false;
  private written = 0;
  private failed = 0;
  private batches = 0;

  constructor(private readonly props: AuditWriterProps) {}

  /** Resolves once `event` is durable; rejects with AuditWriteError when it cannot be. */
  record(event: AuditEvent): Promise<void> {
    if (this.closed) return Promise.reject(new AuditWriteError('the audit writer is stopped'));
    if (this.queue.length >= (this.props.maxQueued ?? 50_000)) {
      this.failed += 1;
      return Promise.reject(new AuditWriteError(`the audit store is behind by ${this.queue.length} events`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.writing) {
        this.writing = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  get stats(): AuditWriterStats {
    return { written: this.written, failed: this.failed, batches: this.batches, queued: this.queue.length };
  }

  /** Writes what is queued, then refuses new events. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing || this.queue.length > 0) {
      if (!this.writing) await this.drain();
      else await new Promise((r) => setImmediate(r));
    }
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      let first = true;
      while (this.queue.length > 0) {
        // Let the callers just released, and requests that arrived meanwhile, queue up first.
        if (!first) await new Promise((r) => setImmediate(r));
        first = false;
        const batch = this.queue.splice(0, this.props.maxBatch ?? 2000);
        try {
          await this.props.appender.append(batch.map((w) => w.event));
          this.written += batch.length;
          this.batches += 1;
          for (const w of batch) w.resolve();
        } catch (err) {
          this.failed += batch.length;
          const error = new AuditWriteError(`the audit store refused ${batch.length} event(s): ${(err as Error).message}`, err);
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
