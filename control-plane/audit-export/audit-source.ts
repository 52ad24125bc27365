/**
 * Where exporters read the audit trail from: the audit store, seen through the two calls they
 * need. The store keeps every event until retention removes it, so an exporter's only state is
 * how far it has got (its position); nothing is queued in memory or on disk besides it.
 */
import type { StoredAuditEvent } from '../audit/audit-event';

export interface AuditSource {
  /**
   * Up to `limit` events with seq > afterSeq, in seq order. Gapless, except that retention may
   * have removed the oldest ones (the first event returned then has a higher seq than
   * afterSeq + 1, which exporters report as missed).
   */
  readFrom(afterSeq: number, limit: number): Promise<readonly StoredAuditEvent[]>;
  /** The seq of the newest event (0 when there is none): how far behind an exporter is. */
  lastSeq(): Promise<number>;
}
