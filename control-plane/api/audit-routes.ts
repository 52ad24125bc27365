/**
 * The audit trail over the API, for `kubegate audit` and the console to come: filtered,
 * paged queries, verification of the hash chain, and the report of allowed requests whose
 * completion record is missing. Administrators only: the audit shows everyone's activity.
 *
 * The query schemas are closed: an unknown parameter, or one given twice, is a 400 naming it,
 * so a misspelt filter (`users=alice`) is never silently ignored and answered with everybody's
 * events. An empty value counts as not given (what an empty form field sends). What a schema
 * cannot say (times, durations, cursors, ranges, parameters that exclude each other) is checked
 * here, with the same kind of 400.
 *
 * None of these routes streams: `kubegate audit --follow` polls GET /audit with `after`.
 */
import type { preValidationAsyncHookHandler } from 'fastify';
import { AUDIT_REPORTERS, AUDIT_STAGES } from '../audit/audit-event';
import { AuditCursorError, decodeAuditCursor } from '../audit/audit-cursor';
import { DEFAULT_INCOMPLETE_AGE_MS, MAX_AUDIT_QUERY_LIMIT, type AuditFilter, type AuditLog, type AuditOrder, type AuditPageRequest, type IncompleteQuery } from '../audit/audit-log';
import { AuditTimeError, parseAuditTime } from '../audit/audit-time';
import { DurationError, parseDurationMs } from '../config/duration';
import { ApiError, badRequest } from './api-errors';
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import { queryWith, type JsonSchema } from './api-schemas';
import type { AuditIncompleteView, AuditPageView, AuditVerificationView } from './api-views';

const TEXT: JsonSchema = { type: 'string' };
const REPORTERS: readonly string[] = ['edge', ...AUDIT_REPORTERS];

/** What `{field} must be ...` says of an integer parameter; the schema checks digits, the route the range. */
function integerProblem(min: number, max?: number): string {
  return max === undefined ? `{field} must be an integer of at least ${min}, got "{text}"` : `{field} must be an integer from ${min} to ${max}, got "{text}"`;
}

function integerParam(min: number, max?: number): JsonSchema {
  return { type: 'string', pattern: '^\\d{1,16}$', problems: { pattern: integerProblem(min, max) } };
}

const LIMIT = integerParam(1, MAX_AUDIT_QUERY_LIMIT);

const AUDIT_QUERY = queryWith(
  {
    user: TEXT,
    cluster: TEXT,
    verb: TEXT,
    namespace: TEXT,
    decision: { type: 'string', enum: ['allow', 'deny'], problems: { enum: '{field} must be allow or deny, got "{text}"' } },
    stage: { type: 'string', enum: AUDIT_STAGES, problems: { enum: '{field} must be one of {allowed}, got "{text}"' } },
    requestId: TEXT,
    reportedBy: {
      type: 'string',
      enum: REPORTERS,
      problems: { enum: `{field} must be ${REPORTERS.join(' or ')} (edge: the edge's own decisions and completions; cluster: what in-cluster Envoys reported), got "{text}"` },
    },
    since: TEXT,
    until: TEXT,
    limit: LIMIT,
    cursor: TEXT,
    order: { type: 'string', enum: ['desc', 'asc'], problems: { enum: '{field} must be desc (newest first) or asc (oldest first), got "{text}"' } },
    after: integerParam(0),
  },
  true,
);

const INCOMPLETE_QUERY = queryWith({ since: TEXT, until: TEXT, 'older-than': TEXT, limit: LIMIT, cursor: TEXT }, true);

const VERIFY_QUERY = queryWith({ from: integerParam(1), to: integerParam(1) }, true);

/** The filter's fields as they are (text), the times as given, and the page's own parameters. */
export type AuditQuery = Omit<AuditFilter, 'since' | 'until'> & {
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
  readonly cursor?: string;
  readonly order?: AuditOrder;
  readonly after?: string;
};

export type IncompleteQueryParams = {
  readonly since?: string;
  readonly until?: string;
  readonly 'older-than'?: string;
  readonly limit?: string;
  readonly cursor?: string;
};

/** Empty values are dropped before the schema sees them: an empty form field is no filter. */
const dropEmptyValues: preValidationAsyncHookHandler = async (request) => {
  const query = request.query as Record<string, unknown>;
  for (const [key, value] of Object.entries(query)) if (value === '') delete query[key];
};

function auditLog(deps: ApiDeps): AuditLog {
  if (!deps.audit) throw new ApiError(503, 'ERR_UNAVAILABLE', 'the audit log is not available: this control plane was started without one');
  return deps.audit;
}

/** A parameter the schema found to be digits, within [min, max]. */
function integer(text: string | undefined, name: string, min: number, max?: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > (max ?? Number.MAX_SAFE_INTEGER)) {
    throw badRequest(name, integerProblem(min, max).replace('{field}', name).replace('{text}', text));
  }
  return n;
}

function time(text: string | undefined, name: string, now: number): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseAuditTime(text, now);
  } catch (err) {
    if (err instanceof AuditTimeError) throw badRequest(name, `${name}: ${err.message}`);
    throw err;
  }
}

/** The filter and page a GET /audit asks for. */
export function parseAuditQuery(q: AuditQuery, now: number): { filter: AuditFilter; page: AuditPageRequest } {
  const since = time(q.since, 'since', now);
  const until = time(q.until, 'until', now);
  if (since !== undefined && until !== undefined && until <= since) throw badRequest('until', 'until must be later than since');
  const filter: AuditFilter = {
    ...(q.user !== undefined && { user: q.user }),
    ...(q.cluster !== undefined && { cluster: q.cluster }),
    ...(q.verb !== undefined && { verb: q.verb }),
    ...(q.namespace !== undefined && { namespace: q.namespace }),
    ...(q.decision !== undefined && { decision: q.decision }),
    ...(q.stage !== undefined && { stage: q.stage }),
    ...(q.requestId !== undefined && { requestId: q.requestId }),
    ...(q.reportedBy !== undefined && { reportedBy: q.reportedBy }),
    ...(since !== undefined && { since }),
    ...(until !== undefined && { until }),
  };

  const order = q.order;
  const limit = integer(q.limit, 'limit', 1, MAX_AUDIT_QUERY_LIMIT);
  const after = integer(q.after, 'after', 0);
  const cursor = q.cursor;
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
    ...(after !== undefined ? { order: 'asc' as const, afterSeq: after } : order !== undefined && { order }),
  };
  return { filter, page };
}

/** What a GET /audit/incomplete asks for; `now` is the server's clock. */
export function parseIncompleteQuery(q: IncompleteQueryParams, now: number): IncompleteQuery {
  const since = time(q.since, 'since', now);
  const until = time(q.until, 'until', now);
  if (since !== undefined && until !== undefined && until <= since) throw badRequest('until', 'until must be later than since');
  let olderThanMs = DEFAULT_INCOMPLETE_AGE_MS;
  const olderThan = q['older-than'];
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
  const limit = integer(q.limit, 'limit', 1, MAX_AUDIT_QUERY_LIMIT);
  const cursor = q.cursor;
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

export function auditRoutes(app: ApiInstance, deps: ApiDeps): void {
  const admin = { admin: true };

  app.get<{ Querystring: AuditQuery }>('/audit', { config: admin, preValidation: dropEmptyValues, schema: { querystring: AUDIT_QUERY } }, async (req) => {
    const log = auditLog(deps);
    const { filter, page } = parseAuditQuery(req.query, deps.clock());
    const result = await log.query(filter, page);
    const view: AuditPageView = { events: result.events, ...(result.nextCursor !== undefined && { nextCursor: result.nextCursor }) };
    return view;
  });

  app.get<{ Querystring: IncompleteQueryParams }>(
    '/audit/incomplete',
    { config: admin, preValidation: dropEmptyValues, schema: { querystring: INCOMPLETE_QUERY } },
    async (req) => {
      const log = auditLog(deps);
      const query = parseIncompleteQuery(req.query, deps.clock());
      const result = await log.incomplete(query);
      const view: AuditIncompleteView = {
        events: result.events,
        ...(result.nextCursor !== undefined && { nextCursor: result.nextCursor }),
        ...(result.total !== undefined && { total: result.total }),
        cutoff: new Date(Math.max(0, query.now - query.olderThanMs)).toISOString(),
      };
      return view;
    },
  );

  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/audit/verify',
    { config: admin, preValidation: dropEmptyValues, schema: { querystring: VERIFY_QUERY } },
    async (req) => {
      const log = auditLog(deps);
      const from = integer(req.query.from, 'from', 1);
      const to = integer(req.query.to, 'to', 1);
      if (from !== undefined && to !== undefined && to < from) throw badRequest('to', 'to must not be below from');
      const result = await log.verify({ ...(from !== undefined && { fromSeq: from }), ...(to !== undefined && { toSeq: to }) });
      if (!result.ok) deps.logger.warn('audit chain verification failed', { by: req.caller.user, problem: result.problem });
      const view: AuditVerificationView = result;
      return view;
    },
  );
}
