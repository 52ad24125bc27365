/**
 * An audit query as SQL, the same for both databases but for placeholders, and its rows as a
 * page. Checks the filter and page first, naming what is wrong (StoreInputError).
 *
 * Pages are keyed on seq (the primary key), never on OFFSET: a page starts strictly after the
 * last event of the one before, so appends between pages neither repeat nor skip an event. One
 * row more than the limit is read to know whether another page exists.
 */
import { AUDIT_REPORTERS, AUDIT_STAGES, type AuditStage, type StoredAuditEvent } from '../audit/audit-event';
import { decodeAuditCursor, encodeAuditCursor } from '../audit/audit-cursor';
import { DEFAULT_AUDIT_QUERY_LIMIT, MAX_AUDIT_QUERY_LIMIT, type AuditFilter, type AuditOrder, type AuditPage, type AuditPageRequest, type AuditVerifyRange, type IncompletePage, type IncompleteQuery } from '../audit/audit-log';
import { auditEventFromRow } from './audit-rows';
import type { Row } from '../store/record-rows';
import type { Dialect } from '../store/schema';
import { requireCount, requireText, requireTime, StoreInputError } from '../store/store-input';

export interface AuditQueryPlan {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly limit: number;
  readonly order: AuditOrder;
  /** The seq the page starts after (0: from the start; for desc, 0 means from the newest). */
  readonly afterSeq: number;
}

/** Filter columns compared for equality. */
const EQUALITY: readonly (readonly [keyof AuditFilter, string])[] = [
  ['user', 'user_name'],
  ['cluster', 'cluster'],
  ['verb', 'verb'],
  ['namespace', 'namespace'],
  ['decision', 'decision'],
  ['stage', 'stage'],
  ['requestId', 'request_id'],
];

export function planAuditQuery(filter: AuditFilter = {}, page: AuditPageRequest = {}, dialect: Dialect): AuditQueryPlan {
  if (typeof filter !== 'object' || filter === null) throw new StoreInputError('audit filter must be an object');
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return dialect === 'postgres' ? `$${params.length}` : '?';
  };
  const where: string[] = [];
  for (const [field, column] of EQUALITY) {
    const value = filter[field];
    if (value === undefined) continue;
    requireText(`audit filter ${field}`, value);
    where.push(`${column} = ${param(value)}`);
  }
  if (filter.decision !== undefined && filter.decision !== 'allow' && filter.decision !== 'deny') {
    throw new StoreInputError(`audit filter decision must be allow or deny, got ${JSON.stringify(filter.decision)}`);
  }
  if (filter.stage !== undefined && !AUDIT_STAGES.includes(filter.stage as AuditStage)) {
    throw new StoreInputError(`audit filter stage must be one of ${AUDIT_STAGES.join(', ')}, got ${JSON.stringify(filter.stage)}`);
  }
  if (filter.reportedBy !== undefined) {
    // The edge's records carry no reportedBy (NULL): every record written before it existed is one.
    if (filter.reportedBy === 'edge') where.push('reported_by IS NULL');
    else if (AUDIT_REPORTERS.includes(filter.reportedBy)) where.push(`reported_by = ${param(filter.reportedBy)}`);
    else throw new StoreInputError(`audit filter reportedBy must be edge or ${AUDIT_REPORTERS.join(' or ')}, got ${JSON.stringify(filter.reportedBy)}`);
  }
  // Event times are Date#toISOString text, so text comparison is time comparison.
  if (filter.since !== undefined) where.push(`event_time >= ${param(isoTime('audit filter since', filter.since))}`);
  if (filter.until !== undefined) where.push(`event_time < ${param(isoTime('audit filter until', filter.until))}`);

  const limit = page.limit === undefined ? DEFAULT_AUDIT_QUERY_LIMIT : requireCount('audit page limit', page.limit);
  if (limit < 1 || limit > MAX_AUDIT_QUERY_LIMIT) throw new StoreInputError(`audit page limit must be between 1 and ${MAX_AUDIT_QUERY_LIMIT}, got ${limit}`);
  if (page.order !== undefined && page.order !== 'asc' && page.order !== 'desc') {
    throw new StoreInputError(`audit page order must be desc (newest first) or asc (oldest first), got ${JSON.stringify(page.order)}`);
  }
  let order: AuditOrder = page.order ?? 'desc';
  let afterSeq = 0;
  if (page.cursor !== undefined) {
    if (page.afterSeq !== undefined) throw new StoreInputError('an audit page takes a cursor or afterSeq, not both');
    const cursor = decodeAuditCursor(page.cursor);
    if (page.order !== undefined && page.order !== cursor.order) {
      throw new StoreInputError(`this cursor continues a ${cursor.order === 'desc' ? 'newest-first (desc)' : 'oldest-first (asc)'} listing; ask for that order or none`);
    }
    order = cursor.order;
    afterSeq = cursor.seq;
  } else if (page.afterSeq !== undefined) {
    afterSeq = requireCount('audit page afterSeq', page.afterSeq);
    if (order === 'desc') throw new StoreInputError('afterSeq continues an oldest-first listing: ask for order asc');
  }
  // A desc cursor at seq 0 would mean "older than the first": nothing. Only a cursor says that.
  if (order === 'asc') where.push(`seq > ${param(afterSeq)}`);
  else if (page.cursor !== undefined) where.push(`seq < ${param(afterSeq)}`);

  const sql = `SELECT * FROM audit_events${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${limit + 1}`;
  return { sql, params, limit, order, afterSeq };
}

/**
 * The page from the rows `plan.sql` returned. `headSeq` is the chain head as read before the
 * query ran: an oldest-first page that reached the end continues from there, so a follower
 * with a narrow filter does not rescan what it has already passed.
 */
export function auditPageFromRows(plan: AuditQueryPlan, rows: readonly Row[], headSeq: number): AuditPage {
  const events: StoredAuditEvent[] = rows.slice(0, plan.limit).map(auditEventFromRow);
  const last = events[events.length - 1];
  const more = rows.length > plan.limit;
  if (plan.order === 'desc') return more ? { events, nextCursor: encodeAuditCursor({ order: 'desc', seq: last!.seq }) } : { events };
  const resumeAt = more ? last!.seq : Math.max(last?.seq ?? plan.afterSeq, headSeq, plan.afterSeq);
  return { events, nextCursor: encodeAuditCursor({ order: 'asc', seq: resumeAt }) };
}

export interface IncompletePlan {
  /** The page in one statement: one row more than the limit, newest first. */
  readonly sql: string;
  readonly params: readonly unknown[];
  /** How many match in all; only for the first page (no cursor). */
  readonly count?: { readonly sql: string; readonly params: readonly unknown[] };
  readonly limit: number;
  /**
   * The same conditions on `d` without any seq bound, and their parameters, for a store that
   * walks the seqs in chunks of its own (SQLite) and adds its bounds after them.
   */
  readonly where: string;
  readonly whereParams: readonly unknown[];
  /** From the cursor: the page holds decisions below this seq. */
  readonly beforeSeq?: number;
  /**
   * With `since`: the times a listed decision lies in ([from, to), ISO), so a chunked walk can
   * first find the seqs that hold such times (the time index) instead of walking all of them.
   */
  readonly timeRange?: { readonly from: string; readonly to: string };
}

/**
 * `incomplete` as SQL: allowed decisions older than the cutoff with neither a completion nor a
 * progress record at or after the cutoff for their request id. Each NOT EXISTS is one probe of
 * the (request_id, stage, event_time) index (migration 4) that never reads the table, so the
 * cost is one walk over the records in range (by seq, or by time when since/until narrow it)
 * and two index seeks per allowed decision, however long a stream's progress.
 *
 * The cutoff is a decision's (or its latest progress record's) time compared with
 * `now - olderThanMs`: a request counts as still running while any of its records is at or
 * after it, and as missing its completion once all of them are before it.
 */
export function planIncompleteQuery(query: IncompleteQuery, dialect: Dialect): IncompletePlan {
  if (typeof query !== 'object' || query === null) throw new StoreInputError('incomplete query must be an object');
  const now = requireTime('incomplete now', query.now);
  const olderThanMs = requireCount('incomplete olderThanMs', query.olderThanMs);
  const limit = query.limit === undefined ? DEFAULT_AUDIT_QUERY_LIMIT : requireCount('incomplete page limit', query.limit);
  if (limit < 1 || limit > MAX_AUDIT_QUERY_LIMIT) throw new StoreInputError(`incomplete page limit must be between 1 and ${MAX_AUDIT_QUERY_LIMIT}, got ${limit}`);
  let beforeSeq: number | undefined;
  if (query.cursor !== undefined) {
    const cursor = decodeAuditCursor(query.cursor);
    // An oldest-first cursor comes from a followed query(), whose position means something else.
    if (cursor.order !== 'desc') throw new StoreInputError('this cursor continues an oldest-first audit query, not a listing of incomplete requests; pass the nextCursor of an incomplete page');
    beforeSeq = cursor.seq;
  }
  // A cutoff before the epoch is no time at all: nothing is older than it.
  const cutoffIso = isoTime('incomplete cutoff', Math.max(0, now - olderThanMs));
  const sinceIso = query.since === undefined ? undefined : isoTime('incomplete since', query.since);
  const untilIso = query.until === undefined ? undefined : isoTime('incomplete until', query.until);

  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return dialect === 'postgres' ? `$${params.length}` : '?';
  };
  // The cutoff is bound once per use: SQLite's `?` are positional.
  const conditions = [`d.stage = 'decision'`, `d.decision = 'allow'`, `d.event_time < ${param(cutoffIso)}`];
  if (sinceIso !== undefined) conditions.push(`d.event_time >= ${param(sinceIso)}`);
  if (untilIso !== undefined) conditions.push(`d.event_time < ${param(untilIso)}`);
  conditions.push(
    `NOT EXISTS (SELECT 1 FROM audit_events c WHERE c.request_id = d.request_id AND c.stage = 'completion')`,
    `NOT EXISTS (SELECT 1 FROM audit_events p WHERE p.request_id = d.request_id AND p.stage = 'progress' AND p.event_time >= ${param(cutoffIso)})`,
  );
  const where = conditions.join(' AND ');
  const whereParams = [...params];
  const count = { sql: `SELECT COUNT(*) AS n FROM audit_events d WHERE ${where}`, params: whereParams };
  const sql = `SELECT d.* FROM audit_events d WHERE ${where}${beforeSeq === undefined ? '' : ` AND d.seq < ${param(beforeSeq)}`} ORDER BY d.seq DESC LIMIT ${limit + 1}`;
  const to = untilIso !== undefined && untilIso < cutoffIso ? untilIso : cutoffIso;
  return {
    sql,
    params,
    limit,
    where,
    whereParams,
    ...(beforeSeq === undefined ? { count } : { beforeSeq }),
    ...(sinceIso !== undefined && { timeRange: { from: sinceIso, to } }),
  };
}

/** The page from the rows `plan.sql` returned and, on a first page, the count. */
export function incompletePageFromRows(plan: IncompletePlan, rows: readonly Row[], total?: number): IncompletePage {
  const events = rows.slice(0, plan.limit).map(auditEventFromRow);
  const more = rows.length > plan.limit;
  return {
    events,
    ...(more && { nextCursor: encodeAuditCursor({ order: 'desc', seq: events[events.length - 1]!.seq }) }),
    ...(total !== undefined && { total }),
  };
}

/** The last millisecond of year 9999: later ISO times have six-digit years and no longer sort as text. */
const LAST_FOUR_DIGIT_YEAR_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function isoTime(what: string, ms: unknown): string {
  return new Date(Math.min(requireTime(what, ms), LAST_FOUR_DIGIT_YEAR_MS)).toISOString();
}

/** A readFrom limit: at least 1; one above MAX_AUDIT_QUERY_LIMIT reads that maximum. */
export function readLimit(limit: unknown): number {
  const n = requireCount('readFrom limit', limit);
  if (n < 1) throw new StoreInputError('readFrom limit must be at least 1');
  return Math.min(n, MAX_AUDIT_QUERY_LIMIT);
}

/** A verify range with its ends checked. */
export function verifyRange(range: AuditVerifyRange): AuditVerifyRange {
  if (typeof range !== 'object' || range === null) throw new StoreInputError('verify range must be an object');
  return {
    ...(range.fromSeq !== undefined && { fromSeq: requireCount('verify fromSeq', range.fromSeq) }),
    ...(range.toSeq !== undefined && { toSeq: requireCount('verify toSeq', range.toSeq) }),
  };
}
