/**
 * One exporter at work: reads the audit trail after its position, hands the sink one batch at a
 * time, saves the position once the sink acknowledged the batch, and retries with backoff while
 * the sink is down. One batch is in flight at a time, so the sink receives events in seq order;
 * a batch, once formed, is retried exactly as it is (never split, merged or reordered).
 *
 * Delivery is at-least-once: the position moves only after the sink acknowledged, so the only
 * events a sink can see twice are those of a batch whose acknowledgement was lost (the answer
 * never arrived, the exporter was stopped mid-request, or the process died before the position
 * was saved). Nothing is skipped except what retention removed before the exporter got to it,
 * and that is counted and logged as missed, never hidden.
 */
import type { StoredAuditEvent } from '../audit/audit-event';
import type { Logger } from '../log/logger';
import type { AuditSource } from './audit-source';
import { type AuditSink, type AuditSinkKind, DeliveryError } from './audit-sink';
import { type BackoffPolicy, backoffDelayMs } from './backoff';
import { type ExportPosition, type PositionFile, START_POSITION } from './export-position';

export interface ExportWorkerProps {
  readonly name: string;
  readonly source: AuditSource;
  readonly sink: AuditSink;
  readonly positionFile: PositionFile;
  /** Events read from the store at a time; the sink may take fewer into one batch. */
  readonly maxBatchEvents: number;
  /** How long to wait for new events when nobody calls notify(). */
  readonly pollIntervalMs: number;
  readonly backoff: BackoffPolicy;
  /** The wait after the sink refused a batch (a 4xx other than 429). */
  readonly rejectedRetryDelayMs: number;
  readonly logger: Logger;
  /** @default Math.random */
  readonly random?: () => number;
}

export type ExporterState = 'created' | 'idle' | 'delivering' | 'retrying' | 'stopped';

export interface ExporterStatus {
  readonly name: string;
  readonly kind: AuditSinkKind;
  readonly target: string;
  readonly state: ExporterState;
  /** The seq of the last event the sink acknowledged. */
  readonly position: number;
  /** The newest seq in the store when last asked. */
  readonly headSeq: number;
  /** Events in the store the sink has not acknowledged yet. */
  readonly lag: number;
  /** Events and batches the sink acknowledged. */
  readonly eventsSent: number;
  readonly batchesSent: number;
  /** Delivery attempts that failed and were retried. */
  readonly retries: number;
  /** Of those, attempts the sink refused (a 4xx other than 429). */
  readonly rejected: number;
  /** Failed attempts since the last success. */
  readonly consecutiveFailures: number;
  /** Reads from the audit store that failed (retried with backoff). */
  readonly sourceErrors: number;
  /** Events retention removed from the store before this exporter delivered them. */
  readonly missedEvents: number;
  /** Times the store's hash chain did not continue from the exported position. */
  readonly chainBreaks: number;
  /** Position saves that failed (kept in memory, saved with the next batch). */
  readonly positionSaveFailures: number;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: string };
  readonly lastDeliveredAt?: string;
}

type MutableCounters = {
  -readonly [K in 'eventsSent' | 'batchesSent' | 'retries' | 'rejected' | 'consecutiveFailures' | 'sourceErrors' | 'missedEvents' | 'chainBreaks' | 'positionSaveFailures']: number;
};

/** The audit store could not be read; retried with backoff like a sink that is down. */
class SourceReadError extends Error {
  readonly code = 'ERR_AUDIT_EXPORT_SOURCE';
  constructor(override readonly cause: unknown) {
    super(`reading the audit store failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'SourceReadError';
  }
}

export class ExportWorker {
  private position: ExportPosition = START_POSITION;
  private savedSeq = 0;
  /** The batch being delivered: kept across retries so it is sent again exactly as it was. */
  private pending: readonly StoredAuditEvent[] | undefined;
  private state: ExporterState = 'created';
  private headSeq = 0;
  private readonly counters: MutableCounters = {
    eventsSent: 0,
    batchesSent: 0,
    retries: 0,
    rejected: 0,
    consecutiveFailures: 0,
    sourceErrors: 0,
    missedEvents: 0,
    chainBreaks: 0,
    positionSaveFailures: 0,
  };
  private lastError: ExporterStatus['lastError'];
  private lastDeliveredAt: string | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  /** Set by notify(): new events may be there, so an idle wait ends at once. */
  private notified = false;
  private wake: ((why: 'notify' | 'stop') => void) | undefined;
  private storeBehindLogged = false;
  private readonly log: Logger;

  constructor(private readonly props: ExportWorkerProps) {
    this.log = props.logger;
  }

  get name(): string {
    return this.props.name;
  }

  /** Loads the saved position (throws PositionFileError when it cannot) and starts exporting. */
  start(): void {
    if (this.loop) return;
    this.position = this.props.positionFile.load();
    this.savedSeq = this.position.seq;
    this.log.info('audit exporter starting', { exporter: this.name, kind: this.props.sink.kind, target: this.props.sink.target, position: this.position.seq });
    this.loop = this.run();
  }

  /** New events were written: an idle exporter looks at once instead of at its next poll. */
  notify(): void {
    this.notified = true;
    this.wake?.('notify');
  }

  /**
   * Stops after the current step. A delivery in flight is aborted: if the sink had already
   * taken it, that batch is sent again after the restart (the at-least-once allowance).
   */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.abort.abort();
      this.wake?.('stop');
    }
    await this.loop;
    if (this.state !== 'stopped') {
      this.state = 'stopped';
      await this.props.sink.close();
      this.log.info('audit exporter stopped', { exporter: this.name, position: this.position.seq });
    }
  }

  /**
   * The position as saved on disk: where a restart resumes. Retention must not go beyond it
   * (the in-memory position can be ahead of it for the moment of a save, or longer when saves
   * fail, and a crash then would resume from the saved one).
   */
  get durableSeq(): number {
    return this.savedSeq;
  }

  status(): ExporterStatus {
    return {
      name: this.name,
      kind: this.props.sink.kind,
      target: this.props.sink.target,
      state: this.state,
      position: this.position.seq,
      headSeq: this.headSeq,
      lag: Math.max(0, this.headSeq - this.position.seq),
      ...this.counters,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.lastDeliveredAt ? { lastDeliveredAt: this.lastDeliveredAt } : {}),
    };
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      try {
        if (!this.pending) {
          this.notified = false;
          const events = await this.read();
          if (events.length === 0) {
            this.state = 'idle';
            await this.sleep(this.props.pollIntervalMs, true);
            continue;
          }
          this.pending = this.formBatch(events);
        }
        this.state = 'delivering';
        await this.props.sink.deliver(this.pending, this.abort.signal);
        await this.acknowledged(this.pending);
        this.pending = undefined;
        attempt = 0;
      } catch (err) {
        if (this.stopping) break;
        const delay = this.failed(err, attempt);
        attempt += 1;
        this.state = 'retrying';
        await this.sleep(delay, false);
      }
    }
  }

  private async read(): Promise<readonly StoredAuditEvent[]> {
    try {
      const events = await this.props.source.readFrom(this.position.seq, this.props.maxBatchEvents);
      const head = await this.props.source.lastSeq();
      this.headSeq = Math.max(head, events.length > 0 ? events[events.length - 1]!.seq : 0);
      if (head < this.position.seq && !this.storeBehindLogged) {
        // A replaced or restored store: its seqs restart below what was exported. Exporting
        // resumes once it passes the position; deleting the position file exports it all.
        this.storeBehindLogged = true;
        this.log.error('the audit store ends before this exporter position: was the store replaced?', {
          exporter: this.name,
          position: this.position.seq,
          storeLastSeq: head,
          positionFile: this.props.positionFile.file,
        });
      }
      // The store promises seq > position; anything else would be sent twice.
      return events.filter((e) => e.seq > this.position.seq);
    } catch (err) {
      throw new SourceReadError(err);
    }
  }

  /** The next batch: contiguous seqs from the first event read, as many as the sink takes. */
  private formBatch(events: readonly StoredAuditEvent[]): readonly StoredAuditEvent[] {
    let contiguous = 1;
    while (contiguous < events.length && events[contiguous]!.seq === events[contiguous - 1]!.seq + 1) contiguous += 1;
    const candidates = events.slice(0, contiguous);
    const length = Math.min(candidates.length, Math.max(1, this.props.sink.batchLength(candidates)));
    const batch = candidates.slice(0, length);
    this.checkContinuity(batch[0]!);
    return batch;
  }

  private checkContinuity(first: StoredAuditEvent): void {
    const expected = this.position.seq + 1;
    if (first.seq > expected) {
      this.counters.missedEvents += first.seq - expected;
      this.log.error('audit events were removed from the store before this exporter delivered them', {
        exporter: this.name,
        fromSeq: expected,
        toSeq: first.seq - 1,
        missed: first.seq - expected,
      });
    } else if (this.position.hash !== '' && first.prevHash !== this.position.hash) {
      this.counters.chainBreaks += 1;
      this.log.error('the audit store hash chain does not continue from the last exported event (store replaced or modified; run kubegate audit verify)', {
        exporter: this.name,
        seq: first.seq,
        prevHash: first.prevHash,
        exportedHash: this.position.hash,
      });
    }
  }

  private async acknowledged(batch: readonly StoredAuditEvent[]): Promise<void> {
    const last = batch[batch.length - 1]!;
    this.position = { seq: last.seq, hash: last.hash };
    this.counters.eventsSent += batch.length;
    this.counters.batchesSent += 1;
    this.lastDeliveredAt = new Date().toISOString();
    if (this.counters.consecutiveFailures > 0) {
      this.log.info('audit sink accepts again', { exporter: this.name, failedAttempts: this.counters.consecutiveFailures, position: last.seq });
      this.counters.consecutiveFailures = 0;
    }
    this.headSeq = Math.max(this.headSeq, last.seq);
    try {
      const saving = this.position;
      await this.props.positionFile.save(saving);
      this.savedSeq = saving.seq;
    } catch (err) {
      // The sink has the batch; only a restart before the next successful save repeats it.
      this.counters.positionSaveFailures += 1;
      this.log.error('could not save the audit export position; it is kept in memory and saved with the next batch', {
        exporter: this.name,
        position: last.seq,
        file: this.props.positionFile.file,
        error: err as Error,
      });
    }
    this.log.debug('audit batch delivered', { exporter: this.name, fromSeq: batch[0]!.seq, toSeq: last.seq, events: batch.length });
  }

  /** Counts and logs a failed step and says how long to wait before the next. */
  private failed(err: unknown, attempt: number): number {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    this.lastError = { code: typeof code === 'string' ? code : 'ERR_AUDIT_EXPORT', message, at: new Date().toISOString() };
    const random = this.props.random ?? Math.random;
    const range = this.pending ? { fromSeq: this.pending[0]!.seq, toSeq: this.pending[this.pending.length - 1]!.seq } : {};
    if (err instanceof SourceReadError) {
      this.counters.sourceErrors += 1;
      const delayMs = backoffDelayMs(this.props.backoff, attempt, random);
      this.log.warn('cannot read the audit store; retrying', { exporter: this.name, error: message, attempt: attempt + 1, delayMs });
      return delayMs;
    }
    this.counters.retries += 1;
    this.counters.consecutiveFailures += 1;
    // A refused batch, and an event that cannot be converted (which would be refused the same
    // way every time), wait the long delay: retrying fast cannot help, dropping would lose it.
    const rejected = err instanceof DeliveryError ? err.failure === 'rejected' : code === 'ERR_AUDIT_EXPORT_BAD_TIME';
    if (rejected) {
      this.counters.rejected += 1;
      const details = err instanceof DeliveryError ? err.details : {};
      this.log.error('the audit sink refused a batch; it is kept and retried, fix the sink or its configuration', {
        exporter: this.name,
        target: this.props.sink.target,
        code: this.lastError.code,
        error: message,
        ...(details.status !== undefined ? { status: details.status } : {}),
        ...(details.body !== undefined ? { body: details.body } : {}),
        ...range,
        delayMs: this.props.rejectedRetryDelayMs,
      });
      return this.props.rejectedRetryDelayMs;
    }
    const retryAfterMs = err instanceof DeliveryError ? err.details.retryAfterMs : undefined;
    const delayMs = backoffDelayMs(this.props.backoff, attempt, random, retryAfterMs);
    this.log.warn('audit sink unavailable; retrying', {
      exporter: this.name,
      target: this.props.sink.target,
      code: this.lastError.code,
      error: message,
      ...(err instanceof DeliveryError && err.details.status !== undefined ? { status: err.details.status } : {}),
      ...range,
      attempt: attempt + 1,
      delayMs,
    });
    return delayMs;
  }

  /** Waits `ms`; stop() ends any wait, notify() only an idle one (not a backoff). */
  private sleep(ms: number, endOnNotify: boolean): Promise<void> {
    if (this.stopping || (endOnNotify && this.notified)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = (why) => {
        if (why === 'stop' || endOnNotify) done();
      };
    });
  }
}
