/**
 * The audit trail over the API, for `kubegate audit` and the console to come: filtered,
 * paged queries, verification of the hash chain, and the report of allowed requests whose
 * completion record is missing. Administrators only: the audit shows everyone's activity.
 *
 * Query parameters are checked one by one and a bad one is a 400 naming it; unknown and
 * repeated parameters are refused too, so a misspelt filter (`users=alice`) is never silently
 * ignored and answered with everybody's events. An empty value counts as not given (what an
 * empty form field sends).
 */
import { AUDIT_REPORTERS, AUDIT_STAGES, type AuditStage } from '../audit/audit-event';
import { AuditCursorError, decodeAuditCursor } from '../audit/audit-cursor';
import { DEFAULT_INCOMPLETE_AGE_MS, MAX_AUDIT_QUERY_LIMIT, type AuditFilter, type AuditLog, type AuditOrder, type AuditPageRequest, type IncompleteQuery } from '../audit/audit-log';
import { AuditTimeError, parseAuditTime } from '../audit/audit-time';
import { DurationError, parseDurationMs } from '../config/duration';
import { ApiError, badRequest } from './api-errors';
import type { ApiDeps, Route } from './api-route';
import type { AuditIncompleteView, AuditPageView, AuditVerificationView } from './api-views';

const QUERY_PARAMS = ['user', 'cluster', 'verb', 'namespace', 'decision', 'stage', 'requestId', 'reportedBy', 'since', 'until', 'limit', 'cursor', 'order', 'after'] as const;
const VERIFY_PARAMS = ['from', 'to'] as const;
const INCOMPLETE_PARAMS = ['since', 'until', 'older-than', 'limit', 'cursor'] as const;

function auditLog(deps: ApiDeps): AuditLog {
  if (!deps.audit) throw new ApiError(503, 'ERR_UNAVAILABLE', 'the audit log is not available: this control plane was started without one');
  return deps.audit;
}

/** Each parameter at most once, and only those the endpoint knows; empty values dropped. */
function params(query: URLSearchParams, known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of query) {
    if (!known.includes(key)) throw badRequest(key, `unknown query parameter "${key}"; parameters here: ${known.join(', ')}`);
    if (query.getAll(key).length > 1) throw badRequest(key, `query parameter ${key} is given more than once`);
    if (value !== '') out.set(key, value);
  }
  return out;
}

function integer(p: Map<string, string>, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = p.get(name);
  if (text === undefined) return undefined;
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw badRequest(name, max === Number.MAX_SAFE_INTEGER ? `${name} must be an integer of at least ${min}, got "${text}"` : `${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

function time(p: Map<string, string>, name: string, now: number): number | undefined {
  const text = p.get(name);
  if (text === undefined) return undefined;
  try {
    return parseAuditTime(text, now);
  } catch (err) {
    if (err instanceof AuditTimeError) throw badRequest(name, `${name}: ${err.message}`);
    throw err;
  }
}

/** The filter and page a GET /audit asks for. */
export function parseAuditQuery(query: URLSearchParams, now: number): { filter: AuditFilter; page: AuditPageRequest } {
  const p = params(query, QUERY_PARAMS);
  const decision = p.get('decision');
  if (decision !== undefined && decision !== 'allow' && decision !== 'deny') throw badRequest('decision', `decision must be allow or deny, got "${decision}"`);
  const stage = p.get('stage');
  if (stage !== undefined && !AUDIT_STAGES.includes(stage as AuditStage)) throw badRequest('stage', `stage must be one of ${AUDIT_STAGES.join(', ')}, got "${stage}"`);
  const reportedBy = p.get('reportedBy');
  const reporters: readonly string[] = ['edge', ...AUDIT_REPORTERS];
  if (reportedBy !== undefined && !reporters.includes(reportedBy)) {
    throw badRequest('reportedBy', `reportedBy must be ${reporters.join(' or ')} (edge: the edge's own decisions and completions; cluster: what in-cluster Envoys reported), got "${reportedBy}"`);
  }
  const since = time(p, 'since', now);
  const until = time(p, 'until', now);
  if (since !== undefined && until !== undefined && until <= since) throw badRequest('until', 'until must be later than since');
  const filter: AuditFilter = {
    ...(p.has('user') && { user: p.get('user')! }),
    ...(p.has('cluster') && { cluster: p.get('cluster')! }),
    ...(p.has('verb') && { verb: p.get('verb')! }),
    ...(p.has('namespace') && { namespace: p.get('namespace')! }),
    ...(decision !== undefined && { decision }),
    ...(stage !== undefined && { stage: stage as AuditStage }),
    ...(p.has('requestId') && { requestId: p.get('requestId')! }),
    ...(reportedBy !== undefined && { reportedBy: reportedBy as NonNullable<AuditFilter['reportedBy']> }),
    ...(since !== undefined && { since }),
    ...(until !== undefined && { until }),
  };

  const order = p.get('order');
  if (order !== undefined && order !== 'asc' && order !== 'desc') throw badRequest('order', `order must be desc (newest first) or asc (oldest first), got "${order}"`);
  const limit = integer(p, 'limit', 1, MAX_AUDIT_QUERY_LIMIT);
  const after = integer(p, 'after', 0);
  const cursor = p.get('cursor');
  if (cursor !== undefined) {
    if (after !== undefined) throw badRequest('after', 'give cursor or after, not both');
    let cursorOrder: AuditOrder;
    try {
      cursorOrder = decodeAuditCursor(cursor).order;
    } catch (err) {
      if (err instanceof AuditCursorError) throw badRequest('cursor', err.message);
      throw err;
    }
    if (order !== undefined && order !== cursorOrder) throw badRequest('order', `this cursor continues a ${cursorOrder} listing; ask for order ${cursorOrder} or none`);
  }
  // `after` resumes an oldest-first listing from an event the caller has.
  if (after !== undefined && order === 'desc') throw badRequest('order', 'after continues an oldest-first listing: ask for order asc or none');
  const page: AuditPageRequest = {
    ...(limit !== undefined && { limit }),
    ...(cursor !== undefined && { cursor }),
    ...(after !== undefined ? { order: 'asc' as const, afterSeq: after } : order !== undefined && { order: order as AuditOrder }),
  };
  return { filter, page };
}

/** What a GET /audit/incomplete asks for; `now` is the server's clock. */
export function parseIncompleteQuery(query: URLSearchParams, now: number): IncompleteQuery {
  const p = params(query, INCOMPLETE_PARAMS);
  const reportedBy = p.get('reportedBy');
  const reporters: readonly string[] = ['edge', ...AUDIT_REPORTERS];
  if (reportedBy !== undefined && !reporters.includes(reportedBy)) {
    throw badRequest('reportedBy', `reportedBy must be ${reporters.join(' or ')} (edge: the edge's own decisions and completions; cluster: what in-cluster Envoys reported), got "${reportedBy}"`);
  }
  const since = time(p, 'since', now);
  const until = time(p, 'until', now);
  if (since !== undefined && until !== undefined && until <= since) throw badRequest('until', 'until must be later than since');
  let olderThanMs = DEFAULT_INCOMPLETE_AGE_MS;
  const olderThan = p.get('older-than');
  if (olderThan !== undefined) {
    try {
      olderThanMs = parseDurationMs(olderThan);
    } catch (err) {
      if (err instanceof DurationError) throw badRequest('older-than', `older-than: ${err.message}`);
      throw err;
    }
    // Beyond what the clock can count back (999999999d): no record is that old.
    if (!Number.isSafeInteger(olderThanMs)) throw badRequest('older-than', `older-than: "${olderThan}" is longer than any audit trail`);
  }
  const limit = integer(p, 'limit', 1, MAX_AUDIT_QUERY_LIMIT);
  const cursor = p.get('cursor');
  if (cursor !== undefined) {
    let order: AuditOrder;
    try {
      order = decodeAuditCursor(cursor).order;
    } catch (err) {
      if (err instanceof AuditCursorError) throw badRequest('cursor', err.message);
      throw err;
    }
    // The report pages newest first; an oldest-first cursor belongs to a followed GET /audit.
    if (order !== 'desc') throw badRequest('cursor', 'this cursor continues an oldest-first GET /audit listing; pass the nextCursor of a previous /audit/incomplete page');
  }
  return {
    olderThanMs,
    now,
    ...(since !== undefined && { since }),
    ...(until !== undefined && { until }),
    ...(limit !== undefined && { limit }),
    ...(cursor !== undefined && { cursor }),
  };
}

export const auditRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/audit',
    admin: true,
    handler: async (req, deps) => {
      const log = auditLog(deps);
      const { filter, page } = parseAuditQuery(req.query, deps.clock());
      const result = await log.query(filter, page);
      const view: AuditPageView = { events: result.events, ...(result.nextCursor !== undefined && { nextCursor: result.nextCursor }) };
      return { body: view };
    },
  },
  {
    method: 'GET',
    path: '/audit/incomplete',
    admin: true,
    handler: async (req, deps) => {
      const log = auditLog(deps);
      const query = parseIncompleteQuery(req.query, deps.clock());
      const result = await log.incomplete(query);
      const view: AuditIncompleteView = {
        events: result.events,
        ...(result.nextCursor !== undefined && { nextCursor: result.nextCursor }),
        ...(result.total !== undefined && { total: result.total }),
        cutoff: new Date(Math.max(0, query.now - query.olderThanMs)).toISOString(),
      };
      return { body: view };
    },
  },
  {
    method: 'GET',
    path: '/audit/verify',
    admin: true,
    handler: async (req, deps) => {
      const log = auditLog(deps);
      const p = params(req.query, VERIFY_PARAMS);
      const from = integer(p, 'from', 1);
      const to = integer(p, 'to', 1);
      if (from !== undefined && to !== undefined && to < from) throw badRequest('to', 'to must not be below from');
      const result = await log.verify({ ...(from !== undefined && { fromSeq: from }), ...(to !== undefined && { toSeq: to }) });
      if (!result.ok) deps.logger.warn('audit chain verification failed', { by: req.caller.user, problem: result.problem });
      const view: AuditVerificationView = result;
      return { body: view };
    },
  },
];
