/**
 * `kubegate audit`: the audit trail, filtered, as a table or JSON lines, optionally followed
 * as it grows; `kubegate audit verify`: checks the hash chain and exits 1 naming the first
 * record that was modified, removed or reordered; `kubegate audit incomplete`: lists the
 * allowed requests whose completion record is missing and exits 3 when there are any.
 * Administrators only (the API decides).
 */
import { AUDIT_REPORTERS, type StoredAuditEvent } from '../../audit/audit-event';
import { DEFAULT_INCOMPLETE_AGE_MS } from '../../audit/audit-log';
import { AuditTimeError, parseAuditTime } from '../../audit/audit-time';
import type { AuditIncompleteView, AuditPageView, AuditVerificationView } from '../../api/api-views';
import { formatDuration } from '../../api/format-duration';
import { DurationError, parseDurationMs } from '../../config/duration';
import type { ApiClient } from '../api-client';
import { UsageError } from '../cli-error';
import { flagRules, oneOf, positiveInteger, wholeNumber } from '../flag-rules';
import { apiSubcommand } from './api-command';
import { followAudit } from './audit-follow';
import { AuditTableWriter, INCOMPLETE_TABLE_HEADERS, incompleteTableRow } from './audit-table';
import { OUTPUT_OPTION, TEXT_OUTPUT_HELP, outputFormat, printJson, printTable } from './output';

/** The API's largest page; --limit beyond it is fetched page by page. */
const API_PAGE = 1000;
const DEFAULT_LIMIT = 100;
const DEFAULT_INTERVAL_MS = 2000;
/** `audit incomplete` shows one API page unless asked for more: the count says how many in all. */
const DEFAULT_INCOMPLETE_LIMIT = API_PAGE;
/** `audit incomplete` found requests without a completion record: distinct from 1 (failed) and 2 (usage). */
export const EXIT_INCOMPLETE = 3;

const write = (text: string) => process.stdout.write(text);

/** --since/--until as RFC 3339 for the API: relative times are fixed once, at the start. */
function timeOption(value: string | undefined, option: string, now: number): string | undefined {
  if (value === undefined) return undefined;
  try {
    return new Date(parseAuditTime(value, now)).toISOString();
  } catch (err) {
    if (err instanceof AuditTimeError) throw new UsageError(`${option}: ${err.message}`);
    throw err;
  }
}

/** The newest `limit` matching events, newest first, and whether more matched. */
async function newest(client: ApiClient, filter: URLSearchParams, limit: number): Promise<{ events: StoredAuditEvent[]; more: boolean }> {
  const events: StoredAuditEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const query = new URLSearchParams(filter);
    query.set('limit', String(Math.min(API_PAGE, limit - events.length)));
    if (cursor) query.set('cursor', cursor);
    const page = await client.get<AuditPageView>(`/audit?${query.toString()}`);
    events.push(...page.events);
    cursor = page.nextCursor;
    if (!cursor) return { events, more: false };
    if (events.length >= limit) return { events, more: true };
  }
}

/** Stops on Ctrl-C or SIGTERM; `release` removes the handlers again. */
function interruption(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    release() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

const auditQueryCommand = apiSubcommand({
  summary: 'show and follow the audit trail; `audit verify` checks its hash chain',
  usage:
    'audit [--user U] [--cluster C] [--verb V] [--namespace N] [--decision allow|deny] [--since T] [--until T] [--limit N] [-o table|json] [--follow]\n       kubegate audit verify [--from SEQ] [--to SEQ]\n       kubegate audit incomplete [--since T] [--until T] [--older-than 5m] [--limit N] [-o table|json]',
  description: `Shows audit events (every request's decision, and what Envoy saw of it when it
completed), oldest first: the newest --limit that match, then with --follow those that
arrive after, until Ctrl-C. Times for --since and --until are RFC 3339
(2026-01-31T09:00:00Z) or durations back from now (15m, 2h, 7d). -o json prints one JSON
object per line. 'kubegate audit verify --help' for the chain check, 'kubegate audit
incomplete --help' for the requests whose completion record is missing. Administrators only.`,
  options: {
    user: { type: 'string' },
    cluster: { type: 'string' },
    verb: { type: 'string' },
    namespace: { type: 'string' },
    decision: { type: 'string' },
    stage: { type: 'string' },
    'request-id': { type: 'string' },
    'reported-by': { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    interval: { type: 'string' },
    ...OUTPUT_OPTION,
  },
  optionsHelp: `  --user U              only this user's requests
  --cluster C           only requests to this cluster
  --verb V              only this verb (get, list, watch, create, delete, ...)
  --namespace N         only this namespace
  --decision D          allow or deny
  --stage S             decision, progress or completion
  --request-id ID       only this request (all its stages)
  --reported-by R       edge (the edge's decisions and completions) or cluster (what
                        in-cluster Envoys reported for requests the edge let through)
  --since T             at or after T (RFC 3339, or a duration back from now: 15m, 2h, 7d)
  --until T             before T (same forms)
  --limit N             how many of the newest to show (default ${DEFAULT_LIMIT})
  -f, --follow          keep printing new events as they arrive, until Ctrl-C
  --interval D          how often --follow asks for new events (default 2s)
  -o, --output FORMAT   table (default) or json (one event per line)
`,
  flagRules: flagRules({
    decision: oneOf('--decision', ['allow', 'deny']),
    'reported-by': oneOf('--reported-by', ['edge', ...AUDIT_REPORTERS]),
    limit: positiveInteger('--limit'),
  }),
  async run(values, _args, client) {
    const format = outputFormat(values.output, ['table', 'json']);
    const now = Date.now();
    const limit = wholeNumber(values.limit, '--limit', DEFAULT_LIMIT);
    let intervalMs = DEFAULT_INTERVAL_MS;
    if (values.interval !== undefined) {
      try {
        intervalMs = parseDurationMs(values.interval);
      } catch (err) {
        if (err instanceof DurationError) throw new UsageError(`--interval: ${err.message}`);
        throw err;
      }
    }
    const filter = new URLSearchParams();
    const set = (name: string, value: string | undefined) => value !== undefined && filter.set(name, value);
    set('user', values.user);
    set('cluster', values.cluster);
    set('verb', values.verb);
    set('namespace', values.namespace);
    set('decision', values.decision);
    set('stage', values.stage);
    set('requestId', values['request-id']);
    set('reportedBy', values['reported-by']);
    set('since', timeOption(values.since, '--since', now));
    set('until', timeOption(values.until, '--until', now));

    const api = client();
    const table = new AuditTableWriter(write);
    const print = (events: readonly StoredAuditEvent[]) => {
      if (format === 'json') write(events.map((e) => JSON.stringify(e) + '\n').join(''));
      else table.add(events);
    };
    const { events, more } = await newest(api, filter, limit);
    print([...events].reverse());
    if (more) process.stderr.write(`# showing the newest ${limit} matching events; --limit N or --since/--until for others\n`);
    if (!values.follow) {
      if (events.length === 0 && format === 'table') write('no audit events match\n');
      return 0;
    }
    const stop = interruption();
    try {
      await followAudit(api, {
        filter,
        afterSeq: events[0]?.seq ?? 0,
        intervalMs,
        signal: stop.signal,
        onEvents: print,
        onRetry: (message) => process.stderr.write(`kubegate audit: ${message}\n`),
      });
    } finally {
      stop.release();
    }
    return 0;
  },
});

const auditVerifyCommand = apiSubcommand({
  summary: 'check the audit hash chain',
  usage: 'audit verify [--from SEQ] [--to SEQ] [-o text|json]',
  description:
    'Walks the audit trail in the store from its start (or --from) to its newest record (or --to), checking that each record matches its hash and is chained to the record before it. Exits 0 when the chain is intact, 1 naming the first record that was modified, removed or reordered. Records that retention removed are not missing: the chain continues from the last one removed. Administrators only.',
  options: { from: { type: 'string' }, to: { type: 'string' }, ...OUTPUT_OPTION },
  optionsHelp: `  --from SEQ            start at this record (default: the oldest kept)
  --to SEQ              end at this record (default: the newest)
${TEXT_OUTPUT_HELP}`,
  flagRules: flagRules({ from: positiveInteger('--from'), to: positiveInteger('--to') }),
  async run(values, _args, client) {
    const format = outputFormat(values.output, ['text', 'json']);
    const query = new URLSearchParams();
    if (values.from !== undefined) query.set('from', String(wholeNumber(values.from, '--from', 1)));
    if (values.to !== undefined) query.set('to', String(wholeNumber(values.to, '--to', 1)));
    const r = await client().get<AuditVerificationView>(`/audit/verify${query.size > 0 ? `?${query.toString()}` : ''}`);
    if (format === 'json') printJson(r);
    else if (!r.ok && r.problem) write(`audit chain BROKEN at record ${r.problem.seq} (${r.problem.kind}): ${r.problem.message}\n`);
    else if (r.from > r.to) write(`audit chain intact: no records to check (head is record ${r.head.seq})\n`);
    else {
      const retention = r.anchor.seq > 0 ? `; records up to ${r.anchor.seq} were removed by retention` : '';
      write(`audit chain intact: records ${r.from} to ${r.to} verified (${r.checked})${retention}\nhead: record ${r.head.seq} ${r.head.hash}\n`);
    }
    return r.ok ? 0 : 1;
  },
});

/** --older-than, checked here so a mistake is a usage error before anything is sent. */
function olderThanOption(value: string | undefined): { text: string; ms: number } | undefined {
  if (value === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDurationMs(value);
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(`--older-than: ${err.message}`);
    throw err;
  }
  if (!Number.isSafeInteger(ms)) throw new UsageError(`--older-than: "${value}" is longer than any audit trail`);
  return { text: value.trim(), ms };
}

const auditIncompleteCommand = apiSubcommand({
  summary: 'list allowed requests whose completion record is missing',
  usage: 'audit incomplete [--since T] [--until T] [--older-than 5m] [--limit N] [-o table|json]',
  description: `Lists the requests that were allowed (their decision record is in the audit
trail) but have no completion record: what Envoy saw of them never reached the trail. A
request still running has none yet, so only those whose decision, and latest progress record
for an open stream, are older than --older-than are listed (default 5m, well above the edge's
60 s progress interval). After the control plane was down or restarted, this is the check
that nothing went missing silently: the edge's file log is ingested when it comes back, and
what is still missing then is reported here, not hidden.

Prints the newest --limit requests (default ${DEFAULT_INCOMPLETE_LIMIT}), oldest first, then how many there are
in all. -o json prints their decision records, one JSON object per line, and the count on
standard error. --since and --until select by the time of the decision: RFC 3339 or
durations back from now (15m, 2h, 7d). Administrators only.

Exit codes (for scripts and alerts):
  0   no allowed request is missing its completion record
  3   some are: they are listed, with their count
  1   the check could not be made (API unreachable, not an administrator, ...)
  2   a usage mistake`,
  options: {
    since: { type: 'string' },
    until: { type: 'string' },
    'older-than': { type: 'string' },
    limit: { type: 'string' },
    ...OUTPUT_OPTION,
  },
  optionsHelp: `  --since T             decided at or after T (RFC 3339, or a duration back from now: 15m, 2h, 7d)
  --until T             decided before T (same forms)
  --older-than D        only requests silent for longer than D (default ${formatDuration(DEFAULT_INCOMPLETE_AGE_MS)})
  --limit N             how many of the newest to list (default ${DEFAULT_INCOMPLETE_LIMIT}); the count is of all
  -o, --output FORMAT   table (default) or json (one decision record per line)
`,
  flagRules: flagRules({ limit: positiveInteger('--limit') }),
  async run(values, _args, client) {
    const format = outputFormat(values.output, ['table', 'json']);
    const now = Date.now();
    const limit = wholeNumber(values.limit, '--limit', DEFAULT_INCOMPLETE_LIMIT);
    const olderThan = olderThanOption(values['older-than']);
    const query = new URLSearchParams();
    const set = (name: string, value: string | undefined) => value !== undefined && query.set(name, value);
    set('since', timeOption(values.since, '--since', now));
    set('until', timeOption(values.until, '--until', now));
    set('older-than', olderThan?.text);

    const api = client();
    const events: StoredAuditEvent[] = [];
    let total: number | undefined;
    let cursor: string | undefined;
    do {
      const page = new URLSearchParams(query);
      page.set('limit', String(Math.min(API_PAGE, limit - events.length)));
      if (cursor) page.set('cursor', cursor);
      const r = await api.get<AuditIncompleteView>(`/audit/incomplete?${page.toString()}`);
      events.push(...r.events);
      total ??= r.total;
      cursor = r.nextCursor;
    } while (cursor && events.length < limit);
    // The first page's count is of all of them, in one snapshot; without one (an older
    // server), what was listed is what there is.
    const count = Math.max(total ?? events.length, events.length);
    const age = formatDuration(olderThan?.ms ?? DEFAULT_INCOMPLETE_AGE_MS);
    const summary =
      count === 0
        ? `no allowed request older than ${age} is missing its completion record`
        : `${count} allowed request${count === 1 ? ' has' : 's have'} no completion record (older than ${age})${count > events.length ? `; the newest ${events.length} are listed` : ''}`;

    const oldestFirst = [...events].reverse();
    if (format === 'json') {
      write(oldestFirst.map((e) => JSON.stringify(e) + '\n').join(''));
      process.stderr.write(`# ${summary}\n`);
    } else {
      if (oldestFirst.length > 0) printTable(INCOMPLETE_TABLE_HEADERS, oldestFirst.map(incompleteTableRow));
      write(`${summary}\n`);
    }
    return count === 0 ? 0 : EXIT_INCOMPLETE;
  },
});

export const auditCommand = {
  summary: auditQueryCommand.summary,
  /** Besides the query itself (`kubegate audit [filters]`). */
  subcommands: ['verify', 'incomplete'],
  run(args: string[]): Promise<number> {
    if (args[0] === 'verify') return auditVerifyCommand.run(args.slice(1));
    if (args[0] === 'incomplete') return auditIncompleteCommand.run(args.slice(1));
    return auditQueryCommand.run(args);
  },
};
