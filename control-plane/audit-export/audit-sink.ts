/**
 * What an exporter delivers to: a JSON Lines file or a webhook. The export worker owns reading,
 * ordering, retries and the position; a sink only turns one batch into something durable at
 * its end, or says why it could not.
 */
import type { StoredAuditEvent } from '../audit/audit-event';

export type AuditSinkKind = 'jsonl-file' | 'webhook';

export interface AuditSink {
  readonly kind: AuditSinkKind;
  /** Where it delivers, for logs and status (a file path, a URL without credentials). */
  readonly target: string;
  /**
   * How many of `events` (a prefix, at least 1) form the next batch. The batch is then fixed:
   * retries send exactly it again, never part of it or more.
   */
  batchLength(events: readonly StoredAuditEvent[]): number;
  /**
   * Delivers the whole batch, in order, and resolves only once the sink holds it durably (a
   * file synced, a webhook answering 2xx). Rejects with a DeliveryError that says how to retry.
   */
  deliver(batch: readonly StoredAuditEvent[], signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * transient: the sink is down, overloaded or unreachable; retry with backoff.
 * rejected: the sink refused this batch (a 4xx other than 429); retrying soon will not help,
 * but dropping it would lose audit records, so it is retried after a longer delay while an
 * operator looks at the logged answer.
 */
export type DeliveryFailure = 'transient' | 'rejected';

export class DeliveryError extends Error {
  readonly code: string;
  constructor(
    readonly failure: DeliveryFailure,
    code: string,
    message: string,
    readonly details: {
      readonly status?: number;
      /** The sink's own Retry-After, in ms. */
      readonly retryAfterMs?: number;
      /** The start of the sink's answer, for the log. */
      readonly body?: string;
      readonly cause?: unknown;
    } = {},
  ) {
    super(message);
    this.name = 'DeliveryError';
    this.code = code;
  }
}
