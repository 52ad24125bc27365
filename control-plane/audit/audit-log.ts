/**
 * The durable audit log: where every AuditEvent is kept, numbered and hash-chained, and read
 * back for queries, exports and verification. Two implementations stand behind it, in the same
 * database as the rest of kubegate's records (control-plane/store/): SQLite for one control
 * plane, PostgreSQL for several replicas appending to one chain. `openAuditLog(url)` in
 * store/open-store.ts opens the one a store URL names.
 *
 * Times passed in are epoch milliseconds (like the store's); times in events are ISO 8601
 * strings, as AuditEvent defines them.
 */
import type { AuditEvent, AuditReporter, AuditStage, StoredAuditEvent } from './audit-event';
import type { ChainPoint, ChainProblem } from './audit-hash-chain';

/** A query's page size when none is asked for. */
export const DEFAULT_AUDIT_QUERY_LIMIT = 100;
/** The largest page a query returns: bounds the memory and time one call can take. */
export const MAX_AUDIT_QUERY_LIMIT = 1000;

/**
 * How long a request may go without a decision or progress record before `incomplete` reports
 * its missing completion, where the caller names no threshold: well above the edge's progress
 * interval (60 s) plus the moment its file log takes to reach the trail, so open streams and
 * requests in flight are not reported, and short enough to see a loss soon after a restart.
 */
export const DEFAULT_INCOMPLETE_AGE_MS = 5 * 60_000;

/** Which events a query returns; every field given must match (exact, case-sensitive). */
export interface AuditFilter {
  readonly user?: string;
  readonly cluster?: string;
  readonly verb?: string;
  readonly namespace?: string;
  readonly decision?: 'allow' | 'deny';
  readonly stage?: AuditStage;
  readonly requestId?: string;
  /** Who reported the event: 'edge' (no reportedBy; decisions too) or 'cluster' (AuditEvent.reportedBy). */
  readonly reportedBy?: 'edge' | AuditReporter;
  /** Events whose time is at or after this (epoch ms). */
  readonly since?: number;
  /** Events whose time is before this (epoch ms). */
  readonly until?: number;
}

/** Newest first (descending seq) or oldest first (ascending seq). */
export type AuditOrder = 'desc' | 'asc';

export interface AuditPageRequest {
  /** @default DEFAULT_AUDIT_QUERY_LIMIT; at most MAX_AUDIT_QUERY_LIMIT. */
  readonly limit?: number;
  /** A previous page's nextCursor: continue after its last event (the order is the cursor's). */
  readonly cursor?: string;
  /** @default 'desc' */
  readonly order?: AuditOrder;
  /**
   * Only events with a seq above this one (an event the caller already has): how a follower
   * starts after what it printed. Not together with `cursor`.
   */
  readonly afterSeq?: number;
}

export interface AuditPage {
  readonly events: readonly StoredAuditEvent[];
  /**
   * Where the next page starts. Newest first: present while older matching events remain.
   * Oldest first: always present, since newer events may still be appended; polling with it
   * returns them as they arrive (`kubegate audit --follow`).
   */
  readonly nextCursor?: string;
}

/** The range `verify` checks; both ends inclusive, clipped to what the log holds. */
export interface AuditVerifyRange {
  readonly fromSeq?: number;
  readonly toSeq?: number;
}

export interface AuditVerification {
  readonly ok: boolean;
  /** The seq range that was checked (from > to when there was nothing to check). */
  readonly from: number;
  readonly to: number;
  /** Records whose hash and link were checked before the first problem (all, when ok). */
  readonly checked: number;
  /** The last record appended. */
  readonly head: ChainPoint;
  /** The last record retention removed (seq 0, hash '' when none was). */
  readonly anchor: ChainPoint;
  readonly problem?: ChainProblem;
}

/**
 * Which allowed requests `incomplete` looks for: those whose decision record is older than
 * `olderThanMs` and that have no completion record. The age matters because a request that is
 * still running legitimately has none yet; the same goes for an open stream (watch, exec,
 * logs -f) whose latest progress record is younger than `olderThanMs`.
 */
export interface IncompleteQuery {
  /** Decisions whose time is at or after this (epoch ms). */
  readonly since?: number;
  /** Decisions whose time is before this (epoch ms). */
  readonly until?: number;
  /**
   * How long a request may go without a decision or progress record before a missing
   * completion counts. Longer than the edge's progress interval (60 s by default) plus the
   * time its file log takes to be ingested, or open streams are reported.
   */
  readonly olderThanMs: number;
  /** Epoch ms the age is measured from (the caller's clock; the store never reads one). */
  readonly now: number;
  /** @default DEFAULT_AUDIT_QUERY_LIMIT; at most MAX_AUDIT_QUERY_LIMIT. */
  readonly limit?: number;
  /** A previous page's nextCursor; send the same since, until and olderThanMs with it. */
  readonly cursor?: string;
}

export interface IncompletePage {
  /** The decision records of the requests, newest first. */
  readonly events: StoredAuditEvent[];
  /** Present while more remain: pass as `cursor` for the next page. */
  readonly nextCursor?: string;
  /**
   * How many requests match in all: on the first page (the call without a cursor) only. When
   * they do not all fit on it, counting them is a second walk over the range, which later
   * pages do not repeat.
   */
  readonly total?: number;
}

export interface RetentionPolicy {
  /** Remove events older than this. */
  readonly maxAgeMs?: number;
  /** Keep at most this many events (the newest). */
  readonly maxRecords?: number;
  /**
   * Keep the newest events whose sizes add up to at most this many bytes. An event's size is
   * the UTF-8 length of its canonical JSON (what it takes in an export), recorded when it is
   * appended: a logical size, the same on either database and smaller at once after a removal,
   * unlike the files' or relations' size on disk (PostgreSQL's shrinks only after VACUUM).
   */
  readonly maxBytes?: number;
  /**
   * Never remove events after this seq, whatever the age, count and size say: what an exporter has
   * not yet delivered stays (AuditExporters.lowWaterMark()). @default no such bound
   */
  readonly keepAfterSeq?: number;
  /** Epoch ms the age is measured from. */
  readonly now: number;
}

export interface RetentionResult {
  /** How many events were removed. */
  readonly removed: number;
  /** The seq range removed, when something was. */
  readonly fromSeq?: number;
  readonly toSeq?: number;
  /** The chain anchor afterwards: the last removed record. */
  readonly anchor: ChainPoint;
  /**
   * Set when retention stopped short because the records it was about to remove do not verify:
   * it never erases the evidence of tampering. `verify` reports the same problem.
   */
  readonly stoppedAt?: ChainProblem;
  /**
   * With `maxBytes` in the policy: the size of what remains afterwards (the sum of the sizes,
   * as `maxBytes` counts them, of every event after the anchor, those appended meanwhile
   * included). Absent otherwise, since it takes a walk over the remaining events.
   */
  readonly remainingBytes?: number;
}

export interface AuditLog {
  /** 'sqlite' or 'postgres'. */
  readonly kind: string;

  /**
   * Numbers the events (seq), chains them (prevHash, hash) in the order given, and stores them
   * in one transaction: all or none. Resolves once the batch is durable (see each
   * implementation for what that means there), with the events as stored. A batch with an
   * invalid event is refused whole (StoreInputError naming the event and field); check events
   * first with requireAuditEvent to keep one bad event from failing the others.
   */
  append(events: readonly AuditEvent[]): Promise<StoredAuditEvent[]>;

  /** A page of the events matching `filter`, newest first unless `page.order` says otherwise. */
  query(filter?: AuditFilter, page?: AuditPageRequest): Promise<AuditPage>;

  /**
   * The allowed requests that have no completion record (see IncompleteQuery for which count):
   * their decision events, newest first, paged by seq like `query`. Nothing is hidden: a
   * request whose completion never arrived (the edge's file log lost, the ingester stuck) is
   * listed here rather than silently absent from the trail.
   */
  incomplete(query: IncompleteQuery): Promise<IncompletePage>;

  /**
   * Events with seq > `afterSeq`, oldest first, at most `limit` (default MAX_AUDIT_QUERY_LIMIT,
   * which also caps a larger limit): for exporters, which keep the seq
   * they have reached and ask for what follows. Retention may have removed the start of what
   * was asked for: the first event's seq is then above afterSeq + 1.
   */
  readFrom(afterSeq: number, limit?: number): Promise<StoredAuditEvent[]>;

  /** The last event appended (seq 0 and hash '' before the first). */
  head(): Promise<ChainPoint>;

  /**
   * Walks the chain in the store, page by page, from the retention anchor (or `range.fromSeq`)
   * to the head (or `range.toSeq`), and reports either that it is intact or its first problem.
   */
  verify(range?: AuditVerifyRange): Promise<AuditVerification>;

  /**
   * Removes the oldest events, from the start of the chain only, so what remains still
   * verifies from the new anchor: by age (the longest run of events from the start that are
   * all older than `now - maxAgeMs`), by count (all but the newest `maxRecords`) and by size
   * (all but the newest events whose sizes add up to at most `maxBytes`), whichever removes
   * more. Works in short transactions, so appends are never held up for long.
   */
  applyRetention(policy: RetentionPolicy): Promise<RetentionResult>;

  close(): Promise<void>;
}
