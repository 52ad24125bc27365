/**
 * The AuditLog contract as tests, run unchanged against SQLite and PostgreSQL: each
 * implementation's test file calls describeAuditLogContract with a function that opens a log
 * on a fresh, empty database and gives a way to run SQL on that database behind the log's back
 * (the tampering an attacker with database access could do), and one that opens a log on a
 * database an older kubegate left at an earlier schema version (to test a migration).
 */
import type { AuditEvent, StoredAuditEvent } from '../../control-plane/audit/audit-event';
import { AuditCursorError } from '../../control-plane/audit/audit-cursor';
import { auditEventHash, canonicalAuditJson } from '../../control-plane/audit/audit-hash-chain';
import type { AuditLog, AuditPage } from '../../control-plane/audit/audit-log';
import { auditValues, AUDIT_COLUMNS } from '../../control-plane/audit-storage/audit-rows';
import { SCHEMA_VERSION } from '../../control-plane/store/schema';
import { StoreInputError } from '../../control-plane/store/store-input';
import { auditEvent, chainOf, completionEvent, iso, manyEvents, T0 } from '../audit/audit-fixtures';
import { rejection } from './store-contract';

export interface AuditLogUnderTest {
  readonly log: AuditLog;
  /** Runs SQL on the log's database directly (no parameters). */
  sql(statement: string): Promise<void>;
  /** Runs a query on the log's database directly and returns its rows (BIGINTs may be strings). */
  rows(statement: string): Promise<Record<string, unknown>[]>;
  /** Another log on the same database (another replica, another process). */
  another(): Promise<AuditLog>;
}

/**
 * Opens a log on a fresh database that was first brought to schema `version` only, as an older
 * kubegate left it, and then given `statements` (its records, written the way that version did).
 */
export type OpenAtSchemaVersion = (version: number, statements: readonly string[]) => Promise<AuditLogUnderTest>;

const DAY = 86_400_000;

/** What retention by size counts for a record: the UTF-8 bytes of its canonical JSON. */
const sizeOf = (e: AuditEvent) => Buffer.byteLength(canonicalAuditJson(e), 'utf8');
const bytesOf = (events: readonly AuditEvent[]) => events.reduce((sum, e) => sum + sizeOf(e), 0);

/** A SQL literal both dialects read alike (strings with quotes doubled). */
function sqlLiteral(value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') return String(value);
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** The schema version that added a column to audit_events after version 4. */
const COLUMN_ADDED_IN: Partial<Record<(typeof AUDIT_COLUMNS)[number], number>> = { size_bytes: 5, reported_by: 6 };

/** The INSERT a kubegate at schema `version` (4 or later) wrote for a record: the columns it knew. */
function insertAtVersion(version: number, record: StoredAuditEvent): string {
  const values = auditValues(record);
  const kept = AUDIT_COLUMNS.map((column, i) => [column, values[i]] as const).filter(([column]) => (COLUMN_ADDED_IN[column] ?? 0) <= version);
  return `INSERT INTO audit_events (${kept.map(([c]) => c).join(', ')}) VALUES (${kept.map(([, v]) => sqlLiteral(v)).join(', ')})`;
}

/** Every page of a query, following nextCursor until a page has none (desc) or is empty (asc). */
async function allPages(log: AuditLog, filter: Parameters<AuditLog['query']>[0], page: { limit: number; order?: 'asc' | 'desc' }): Promise<{ pages: AuditPage[]; events: StoredAuditEvent[] }> {
  const pages: AuditPage[] = [];
  let cursor: string | undefined;
  for (;;) {
    const p = await log.query(filter, { ...page, ...(cursor !== undefined && { cursor }) });
    pages.push(p);
    if (!p.nextCursor || p.events.length === 0) break;
    cursor = p.nextCursor;
  }
  return { pages, events: pages.flatMap((p) => p.events) };
}

const seqs = (events: readonly StoredAuditEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

export function describeAuditLogContract(name: string, openEmpty: () => Promise<AuditLogUnderTest>, openAtSchemaVersion: OpenAtSchemaVersion): void {
  describe(`${name} honours the AuditLog contract`, () => {
    let t: AuditLogUnderTest;
    let log: AuditLog;
    let closeLater: AuditLog[] = [];

    beforeEach(async () => {
      t = await openEmpty();
      log = t.log;
      closeLater.push(log);
    });
    afterEach(async () => {
      await Promise.all(closeLater.map((l) => l.close()));
      closeLater = [];
    });

    describe('append', () => {
      test('numbers events from 1 and chains each to the one before; the head follows', async () => {
        expect(await log.head()).toEqual({ seq: 0, hash: '' });
        const first = await log.append([auditEvent({ requestId: 'a' }), completionEvent({ requestId: 'a' })]);
        const second = await log.append([auditEvent({ requestId: 'b', decision: 'deny', reason: 'kubegate: no policy allows it' })]);
        const all = [...first, ...second];
        expect(seqs(all)).toEqual([1, 2, 3]);
        expect(all[0]!.prevHash).toBe('');
        for (let i = 1; i < all.length; i++) expect(all[i]!.prevHash).toBe(all[i - 1]!.hash);
        for (const e of all) expect(e.hash).toBe(auditEventHash(e.prevHash, e));
        expect(await log.head()).toEqual({ seq: 3, hash: all[2]!.hash });
        expect((await log.verify()).ok).toBe(true);
      });

      test('events read back exactly as appended: optional fields, unicode, fractional durations, empty strings', async () => {
        const odd = completionEvent({
          requestId: 'ü-1',
          user: 'zoë@example.com',
          groups: [],
          path: '/api/v1/namespaces/%E2%9C%93/pods?labelSelector=app%3Dweb',
          userAgent: 'kubectl 🚀',
          durationMs: 0.125,
          bytesSent: 2 ** 40,
          responseFlags: ['UC', 'DC'],
          upgrade: 'SPDY/3.1',
          terminationDetails: 'upstream_reset_before_response_started{connection termination}',
          namespace: '',
          name: '',
        });
        const stored = await log.append([auditEvent(), odd]);
        expect((await log.readFrom(0)).map((e) => ({ ...e }))).toEqual(stored);
        expect(stored[1]).toEqual({ seq: 2, prevHash: stored[0]!.hash, hash: stored[1]!.hash, ...odd });
        expect(canonicalAuditJson((await log.readFrom(1))[0]!)).toBe(canonicalAuditJson(odd));
        // Absent optional fields stay absent (not undefined, not null).
        expect(Object.keys((await log.readFrom(0))[0]!)).not.toContain('status');
        expect((await log.verify()).ok).toBe(true);
      });

      test("a cluster's record keeps reportedBy through the store; the edge's have none, and each can be asked for", async () => {
        const edge = completionEvent({ requestId: 'r-c' });
        const cluster = completionEvent({ requestId: 'r-c', upstreamAddress: '10.96.0.1:443', reportedBy: 'cluster' });
        const stored = await log.append([auditEvent({ requestId: 'r-c' }), edge, cluster]);
        expect(stored[2]).toMatchObject({ reportedBy: 'cluster' });
        const read = await log.readFrom(0);
        expect(read.map((e) => ({ ...e }))).toEqual(stored);
        expect(read.map((e) => e.reportedBy)).toEqual([undefined, undefined, 'cluster']);
        expect(Object.keys(read[1]!)).not.toContain('reportedBy');
        expect((await t.rows('SELECT reported_by FROM audit_events ORDER BY seq')).map((r) => r.reported_by)).toEqual([null, null, 'cluster']);
        expect(seqs((await log.query({ reportedBy: 'cluster' })).events)).toEqual([3]);
        expect(seqs((await log.query({ requestId: 'r-c', reportedBy: 'edge' }, { order: 'asc' })).events)).toEqual([1, 2]);
        expect((await rejection(log.query({ reportedBy: 'agent' as 'cluster' }))).message).toBe('audit filter reportedBy must be edge or cluster, got "agent"');
        expect((await log.verify()).ok).toBe(true);
        // Altering who reported it is tampering like any other change.
        await t.sql("UPDATE audit_events SET reported_by = NULL WHERE seq = 3");
        expect(await log.verify()).toMatchObject({ ok: false, problem: { kind: 'modified', seq: 3 } });
      });

      test('an empty batch changes nothing; a batch with one bad event is refused whole, naming it', async () => {
        expect(await log.append([])).toEqual([]);
        await log.append([auditEvent()]);
        const head = await log.head();
        const bad = [auditEvent({ requestId: 'ok' }), { ...auditEvent({ requestId: 'r-7' }), time: '2026-01-01 09:00' }];
        const err = await rejection(log.append(bad as AuditEvent[]));
        expect(err).toBeInstanceOf(StoreInputError);
        expect(err.message).toBe('audit event 1 (request "r-7"): time must be an ISO 8601 time in UTC with milliseconds (as Date#toISOString writes it), got "2026-01-01 09:00"');
        expect((await rejection(log.append([auditEvent({ userAgent: 'a\u0000b' })]))).message).toBe(
          'audit event 0 (request "req-1"): userAgent contains a NUL character, which the audit store cannot keep',
        );
        expect((await rejection(log.append([{ ...auditEvent(), decision: 'maybe' } as unknown as AuditEvent]))).message).toContain('decision must be allow or deny');
        expect(await log.head()).toEqual(head);
        expect(await log.readFrom(0)).toHaveLength(1);
      });

      test('readFrom returns what follows a seq, oldest first, at most limit', async () => {
        await log.append(manyEvents(10));
        expect(seqs(await log.readFrom(0, 3))).toEqual([1, 2, 3]);
        expect(seqs(await log.readFrom(7))).toEqual([8, 9, 10]);
        expect(await log.readFrom(10)).toEqual([]);
        expect(await rejection(log.readFrom(0, 0))).toBeInstanceOf(StoreInputError);
        expect(await rejection(log.readFrom(-1))).toBeInstanceOf(StoreInputError);
      });

      test('two logs on the same database append concurrently into one linear chain', async () => {
        const other = await t.another();
        closeLater.push(other);
        const rounds = 10;
        const results = await Promise.all(
          Array.from({ length: rounds }, (_, r) => [log, other].map((l, i) => l.append(manyEvents(25, (r * 2 + i) * 25)))).flat(),
        );
        const appended = results.flat().sort((a, b) => a.seq - b.seq);
        expect(seqs(appended)).toEqual(range(1, rounds * 2 * 25));
        // Each batch got a contiguous run of numbers.
        for (const batch of results) expect(seqs(batch)).toEqual(range(batch[0]!.seq, batch[0]!.seq + batch.length - 1));
        expect(await other.verify()).toMatchObject({ ok: true, checked: 500, head: { seq: 500 } });
        expect(await log.head()).toEqual(await other.head());
      });
    });

    describe('query', () => {
      const N = 60;
      beforeEach(async () => {
        await log.append(manyEvents(N));
      });

      test('newest first by default, the default limit 100, every field filter', async () => {
        const page = await log.query();
        expect(seqs(page.events)).toEqual(range(1, N).reverse());
        expect(page.nextCursor).toBeUndefined();
        const expectMatch = async (filter: Parameters<AuditLog['query']>[0], predicate: (e: AuditEvent) => boolean) => {
          const expected = manyEvents(N)
            .map((e, i) => ({ e, seq: i + 1 }))
            .filter(({ e }) => predicate(e))
            .map(({ seq }) => seq)
            .reverse();
          expect(expected.length).toBeGreaterThan(0);
          expect([filter, seqs((await log.query(filter)).events)]).toEqual([filter, expected]);
        };
        await expectMatch({ user: 'bob' }, (e) => e.user === 'bob');
        await expectMatch({ cluster: 'staging' }, (e) => e.cluster === 'staging');
        await expectMatch({ verb: 'delete' }, (e) => e.verb === 'delete');
        await expectMatch({ namespace: '' }, (e) => e.namespace === '');
        await expectMatch({ decision: 'deny' }, (e) => e.decision === 'deny');
        await expectMatch({ stage: 'completion' }, (e) => e.stage === 'completion');
        await expectMatch({ requestId: 'req-17' }, (e) => e.requestId === 'req-17');
        await expectMatch({ since: T0 + 10_000, until: T0 + 20_000 }, (e) => e.time >= iso(T0 + 10_000) && e.time < iso(T0 + 20_000));
        await expectMatch({ user: 'alice', cluster: 'prod', decision: 'allow', since: T0 + 5000 }, (e) => e.user === 'alice' && e.cluster === 'prod' && e.decision === 'allow' && e.time >= iso(T0 + 5000));
        expect((await log.query({ user: 'nobody' })).events).toEqual([]);
      });

      test('paging newest first: no duplicates, no gaps, nextCursor only while more remain', async () => {
        const { pages, events } = await allPages(log, {}, { limit: 7 });
        expect(seqs(events)).toEqual(range(1, N).reverse());
        expect(pages.map((p) => p.events.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 7, 4]);
        expect(pages[pages.length - 1]!.nextCursor).toBeUndefined();
        // An exact multiple of the limit ends without an empty page.
        const exact = await allPages(log, {}, { limit: 20 });
        expect(exact.pages.map((p) => p.events.length)).toEqual([20, 20, 20]);
        const filtered = await allPages(log, { user: 'carol' }, { limit: 3 });
        expect(seqs(filtered.events)).toEqual(range(1, N).filter((s) => (s - 1) % 3 === 2).reverse());
      });

      test('paging oldest first continues after appends, with a cursor that always resumes', async () => {
        const first = await log.query({}, { order: 'asc', limit: 25 });
        expect(seqs(first.events)).toEqual(range(1, 25));
        await log.append(manyEvents(10, N));
        const rest = await allPages(log, {}, { order: 'asc', limit: 25 });
        expect(seqs(rest.events)).toEqual(range(1, N + 10));
        // The last page still has a cursor: new events appear through it.
        const tail = rest.pages[rest.pages.length - 1]!;
        expect(tail.events).toEqual([]);
        const quiet = await log.query({}, { cursor: tail.nextCursor! });
        expect(quiet).toEqual({ events: [], nextCursor: tail.nextCursor });
        await log.append(manyEvents(2, N + 10));
        expect(seqs((await log.query({}, { cursor: tail.nextCursor! })).events)).toEqual([N + 11, N + 12]);
      });

      test('a follower with a narrow filter resumes from the head, not from its last match', async () => {
        const page = await log.query({ requestId: 'req-3' }, { order: 'asc' });
        expect(seqs(page.events)).toEqual([4]);
        await log.append([auditEvent({ requestId: 'req-3', time: iso(T0 + DAY) })]);
        const next = await log.query({ requestId: 'req-3' }, { cursor: page.nextCursor! });
        expect(seqs(next.events)).toEqual([N + 1]);
        expect((await log.query({}, { afterSeq: 58, order: 'asc' })).events.map((e) => e.seq)).toEqual([59, 60, 61]);
      });

      test('pages are keyed on seq: appends between pages neither repeat nor skip an event', async () => {
        const first = await log.query({}, { limit: 10 });
        await log.append(manyEvents(5, N));
        const second = await log.query({}, { limit: 10, cursor: first.nextCursor! });
        expect(seqs(second.events)).toEqual(range(41, 50).reverse());
      });

      test('bad pages are refused, naming what is wrong', async () => {
        const { nextCursor } = await log.query({}, { limit: 5 });
        expect((await rejection(log.query({}, { limit: 0 }))).message).toBe('audit page limit must be between 1 and 1000, got 0');
        expect((await rejection(log.query({}, { limit: 1001 }))).message).toBe('audit page limit must be between 1 and 1000, got 1001');
        expect(await rejection(log.query({}, { cursor: 'nonsense!' }))).toBeInstanceOf(AuditCursorError);
        expect(await rejection(log.query({}, { cursor: Buffer.from('a1:desc:x').toString('base64url') }))).toBeInstanceOf(AuditCursorError);
        expect((await rejection(log.query({}, { cursor: nextCursor!, order: 'asc' }))).message).toBe('this cursor continues a newest-first (desc) listing; ask for that order or none');
        expect((await rejection(log.query({ decision: 'maybe' as 'allow' }))).message).toBe('audit filter decision must be allow or deny, got "maybe"');
        expect((await rejection(log.query({ since: -5 }))).message).toContain('audit filter since must be a time');
        expect((await rejection(log.query({}, { afterSeq: 3 }))).message).toBe('afterSeq continues an oldest-first listing: ask for order asc');
      });
    });

    describe('incomplete: allowed requests without a completion record', () => {
      const MINUTE = 60_000;
      const NOW = T0 + DAY;
      const OLDER = 5 * MINUTE;
      const CUTOFF = NOW - OLDER;
      const at = (ms: number) => ({ time: iso(ms) });
      const decision = (requestId: string, time: number, over: Partial<AuditEvent> = {}) => auditEvent({ requestId, ...at(time), ...over });
      const progress = (requestId: string, time: number) => completionEvent({ requestId, stage: 'progress', status: 101, ...at(time) });
      const completion = (requestId: string, time: number) => completionEvent({ requestId, ...at(time) });
      const ids = (page: { events: readonly StoredAuditEvent[] }) => page.events.map((e) => e.requestId);

      test('reports an old allowed decision without completion; not a complete, young, streaming or denied one', async () => {
        await log.append([
          decision('done', T0),
          decision('lost', T0 + 1000),
          decision('denied', T0 + 2000, { decision: 'deny', reason: 'kubegate: no policy allows it' }),
          decision('stream-open', T0 + 3000, { verb: 'watch' }),
          decision('stream-stale', T0 + 4000, { verb: 'watch' }),
          progress('stream-open', T0 + 63_000),
          progress('stream-stale', T0 + 64_000),
          completion('done', T0 + 1500),
          // The open stream's latest progress record is younger than the threshold: still running.
          progress('stream-open', NOW - MINUTE),
          decision('young', NOW - 2 * MINUTE),
          // Exactly at the cutoff is not older than it; a millisecond before is.
          decision('at-cutoff', CUTOFF),
          decision('just-older', CUTOFF - 1),
        ]);
        const page = await log.incomplete({ olderThanMs: OLDER, now: NOW });
        expect(ids(page)).toEqual(['just-older', 'stream-stale', 'lost']);
        expect(page.total).toBe(3);
        expect(page.nextCursor).toBeUndefined();
        // The decision records as stored, chain fields and all.
        expect(page.events[2]).toEqual((await log.query({ requestId: 'lost' })).events[0]);

        // A completion ingested late (the edge's file log read after a restart) takes it off the
        // report, and so does a progress record of the stale stream; a longer threshold leaves
        // out what is younger than it.
        await log.append([completion('lost', T0 + 2000), progress('stream-stale', NOW - 1000)]);
        expect(ids(await log.incomplete({ olderThanMs: OLDER, now: NOW }))).toEqual(['just-older']);
        expect(await log.incomplete({ olderThanMs: 2 * OLDER, now: NOW })).toEqual({ events: [], total: 0 });
        // A day later the young ones are old enough too, and so are both streams, silent since.
        expect(ids(await log.incomplete({ olderThanMs: OLDER, now: NOW + DAY }))).toEqual(['just-older', 'at-cutoff', 'young', 'stream-stale', 'stream-open']);
      });

      test('since and until narrow by the decision\'s time; an empty log reports nothing', async () => {
        expect(await log.incomplete({ olderThanMs: 0, now: NOW })).toEqual({ events: [], total: 0 });
        await log.append([decision('a', T0), decision('b', T0 + 10_000), decision('c', T0 + 20_000), completion('b', T0 + 30_000)]);
        expect(ids(await log.incomplete({ olderThanMs: OLDER, now: NOW, since: T0 + 1 }))).toEqual(['c']);
        expect(ids(await log.incomplete({ olderThanMs: OLDER, now: NOW, until: T0 + 20_000 }))).toEqual(['a']);
        expect(ids(await log.incomplete({ olderThanMs: OLDER, now: NOW, since: T0, until: T0 + 20_001 }))).toEqual(['c', 'a']);
        // A threshold reaching back before the epoch: nothing is that old.
        expect(await log.incomplete({ olderThanMs: NOW + DAY, now: NOW })).toEqual({ events: [], total: 0 });
      });

      test('paging newest first by cursor: no duplicates, no gaps, the total with the first page', async () => {
        // 11 lost among 25 complete requests, appended in several batches.
        const events: AuditEvent[] = [];
        for (let i = 0; i < 36; i++) {
          events.push(decision(`r-${i}`, T0 + i * 1000));
          if (i % 3 !== 0 || i === 0) events.push(completion(`r-${i}`, T0 + i * 1000 + 500));
        }
        await log.append(events.slice(0, 30));
        await log.append(events.slice(30));
        const lost = range(1, 35).filter((i) => i % 3 === 0).map((i) => `r-${i}`).reverse();
        expect(lost).toHaveLength(11);

        const pages = [];
        let cursor: string | undefined;
        do {
          const page = await log.incomplete({ olderThanMs: OLDER, now: NOW, limit: 4, ...(cursor !== undefined && { cursor }) });
          pages.push(page);
          cursor = page.nextCursor;
        } while (cursor);
        expect(pages.map((p) => p.events.length)).toEqual([4, 4, 3]);
        expect(pages.map((p) => p.total)).toEqual([11, undefined, undefined]);
        expect(pages.flatMap(ids)).toEqual(lost);
        // An exact multiple of the limit ends without an empty page.
        const first = await log.incomplete({ olderThanMs: OLDER, now: NOW, limit: 11 });
        expect(first).toMatchObject({ total: 11 });
        expect(first.nextCursor).toBeUndefined();

        // Completions arriving between pages neither repeat nor skip the others.
        const page1 = await log.incomplete({ olderThanMs: OLDER, now: NOW, limit: 4 });
        await log.append([completion('r-33', NOW), completion('r-21', NOW)]);
        const page2 = await log.incomplete({ olderThanMs: OLDER, now: NOW, limit: 4, cursor: page1.nextCursor! });
        expect([...ids(page1), ...ids(page2)]).toEqual(['r-33', 'r-30', 'r-27', 'r-24', 'r-18', 'r-15', 'r-12', 'r-9']);
      });

      test('a long log: the report and its count are whole, however the store walks it', async () => {
        // 6000 requests, 12,000 records; every thousandth request's completion is missing.
        const lostAt = (i: number) => i % 1000 === 7;
        for (let b = 0; b < 6; b++) {
          const batch: AuditEvent[] = [];
          for (let i = b * 1000; i < (b + 1) * 1000; i++) {
            batch.push(decision(`r-${i}`, T0 + i * 100));
            if (!lostAt(i)) batch.push(completion(`r-${i}`, T0 + i * 100 + 50));
          }
          await log.append(batch);
        }
        const lost = range(0, 5999).filter(lostAt).map((i) => `r-${i}`).reverse();
        const first = await log.incomplete({ olderThanMs: OLDER, now: NOW, limit: 4 });
        expect(first).toMatchObject({ total: 6 });
        const second = await log.incomplete({ olderThanMs: OLDER, now: NOW, limit: 4, cursor: first.nextCursor! });
        expect([...ids(first), ...ids(second)]).toEqual(lost);
        expect(second.nextCursor).toBeUndefined();
        const since = await log.incomplete({ olderThanMs: OLDER, now: NOW, since: T0 + 2000 * 100 });
        expect(since).toMatchObject({ total: 4 });
        expect(ids(since)).toEqual(['r-5007', 'r-4007', 'r-3007', 'r-2007']);
        expect(ids(await log.incomplete({ olderThanMs: OLDER, now: NOW, since: T0 + 1007 * 100, until: T0 + 3007 * 100 }))).toEqual(['r-2007', 'r-1007']);
        expect(await log.incomplete({ olderThanMs: OLDER, now: NOW, since: T0 + 6000 * 100 })).toEqual({ events: [], total: 0 });
      });

      test('bad queries are refused, naming what is wrong', async () => {
        await log.append(manyEvents(3));
        const asc = (await log.query({}, { order: 'asc' })).nextCursor!;
        expect((await rejection(log.incomplete({ olderThanMs: -1, now: NOW }))).message).toBe('incomplete olderThanMs must be a non-negative integer, got -1');
        expect((await rejection(log.incomplete({ olderThanMs: OLDER } as never))).message).toBe('incomplete now must be a time in epoch milliseconds (a non-negative integer), got undefined');
        expect((await rejection(log.incomplete({ olderThanMs: OLDER, now: NOW, limit: 1001 }))).message).toBe('incomplete page limit must be between 1 and 1000, got 1001');
        expect((await rejection(log.incomplete({ olderThanMs: OLDER, now: NOW, since: 1.5 }))).message).toContain('incomplete since must be a time');
        expect(await rejection(log.incomplete({ olderThanMs: OLDER, now: NOW, cursor: 'nonsense!' }))).toBeInstanceOf(AuditCursorError);
        expect((await rejection(log.incomplete({ olderThanMs: OLDER, now: NOW, cursor: asc }))).message).toBe(
          'this cursor continues an oldest-first audit query, not a listing of incomplete requests; pass the nextCursor of an incomplete page',
        );
      });
    });

    describe('verify', () => {
      beforeEach(async () => {
        await log.append(manyEvents(40));
      });

      test('an intact chain verifies, whole or in part', async () => {
        const head = await log.head();
        expect(await log.verify()).toEqual({ ok: true, from: 1, to: 40, checked: 40, head, anchor: { seq: 0, hash: '' } });
        expect(await log.verify({ fromSeq: 10, toSeq: 20 })).toMatchObject({ ok: true, from: 10, to: 20, checked: 11 });
        expect(await log.verify({ fromSeq: 41 })).toMatchObject({ ok: true, from: 41, to: 40, checked: 0 });
      });

      test('a record changed in the database: modified, at its seq', async () => {
        await t.sql(`UPDATE audit_events SET verb = 'get' WHERE seq = 23 AND verb <> 'get'`);
        await t.sql(`UPDATE audit_events SET user_name = 'mallory' WHERE seq = 23`);
        expect(await log.verify()).toMatchObject({
          ok: false,
          checked: 22,
          problem: { kind: 'modified', seq: 23, message: 'record 23 was modified: its content does not match its hash' },
        });
        // A range that ends before it is still intact.
        expect((await log.verify({ toSeq: 22 })).ok).toBe(true);
      });

      test('a record rewritten with a recomputed hash: the next record no longer links to it', async () => {
        const [e] = await log.readFrom(11, 1);
        const forged = { ...e!, decision: 'deny' as const };
        await t.sql(`UPDATE audit_events SET decision = 'deny', hash = '${auditEventHash(forged.prevHash, forged)}' WHERE seq = 12`);
        expect(await log.verify()).toMatchObject({
          ok: false,
          problem: { kind: 'modified', seq: 12, message: 'record 12 was modified and its hash recomputed: record 13 was chained to a different record 12' },
        });
      });

      test('records deleted from the middle: removed, naming the range', async () => {
        await t.sql('DELETE FROM audit_events WHERE seq BETWEEN 15 AND 17');
        expect(await log.verify()).toMatchObject({ ok: false, checked: 14, problem: { kind: 'removed', seq: 15, toSeq: 17, message: 'records 15 to 17 are missing: they were removed' } });
      });

      test('records deleted from the end: removed, against the chain head', async () => {
        await t.sql('DELETE FROM audit_events WHERE seq >= 39');
        expect(await log.verify()).toMatchObject({
          ok: false,
          checked: 38,
          problem: { kind: 'removed', seq: 39, toSeq: 40, message: 'records 39 to 40 are missing: removed from the end (the chain head is record 40)' },
        });
      });

      test('records deleted from the start outside retention: removed', async () => {
        await t.sql('DELETE FROM audit_events WHERE seq <= 2');
        expect(await log.verify()).toMatchObject({ ok: false, checked: 0, problem: { kind: 'removed', seq: 1, toSeq: 2 } });
      });

      test('two records swapped (their seqs exchanged): reordered', async () => {
        await t.sql('UPDATE audit_events SET seq = -1 WHERE seq = 30');
        await t.sql('UPDATE audit_events SET seq = 30 WHERE seq = 31');
        await t.sql('UPDATE audit_events SET seq = 31 WHERE seq = -1');
        expect(await log.verify()).toMatchObject({
          ok: false,
          checked: 29,
          problem: { kind: 'reordered', seq: 30, message: 'record 30 is chained to record 31, not to record 29 before it: the records were reordered' },
        });
      });

      test('a record moved far from where it belongs is found across pages: reordered', async () => {
        await log.append(manyEvents(2500, 40));
        await t.sql('UPDATE audit_events SET seq = -1 WHERE seq = 5');
        await t.sql('UPDATE audit_events SET seq = 5 WHERE seq = 2400');
        await t.sql('UPDATE audit_events SET seq = 2400 WHERE seq = -1');
        expect(await log.verify()).toMatchObject({
          ok: false,
          checked: 4,
          problem: { kind: 'reordered', seq: 5, message: 'record 5 is chained to record 2399, not to record 4 before it: the records were reordered' },
        });
      });

      test('a long chain is verified page by page, and a problem far in is found', async () => {
        await log.append(manyEvents(2500, 40));
        expect(await log.verify()).toMatchObject({ ok: true, checked: 2540 });
        await t.sql(`UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 2001`);
        expect(await log.verify()).toMatchObject({ ok: false, checked: 2000, problem: { kind: 'modified', seq: 2001 } });
      });
    });

    describe('retention', () => {
      test('by count: keeps the newest maxRecords, moves the anchor, and the rest still verifies', async () => {
        const stored = await log.append(manyEvents(30));
        const result = await log.applyRetention({ maxRecords: 12, now: T0 });
        expect(result).toEqual({ removed: 18, fromSeq: 1, toSeq: 18, anchor: { seq: 18, hash: stored[17]!.hash } });
        expect(seqs(await log.readFrom(0))).toEqual(range(19, 30));
        expect(await log.verify()).toMatchObject({ ok: true, from: 19, to: 30, checked: 12, anchor: { seq: 18 } });
        // Nothing more to remove.
        expect(await log.applyRetention({ maxRecords: 12, now: T0 })).toEqual({ removed: 0, anchor: { seq: 18, hash: stored[17]!.hash } });
        // Appending continues the chain, which verifies from the anchor.
        await log.append(manyEvents(3, 30));
        expect(await log.verify()).toMatchObject({ ok: true, checked: 15 });
      });

      test('keepAfterSeq holds back what an exporter has not delivered, whatever count and age say', async () => {
        await log.append(manyEvents(30));
        expect(await log.applyRetention({ maxRecords: 5, keepAfterSeq: 10, now: T0 })).toMatchObject({ removed: 10, fromSeq: 1, toSeq: 10 });
        expect(seqs(await log.readFrom(0))).toEqual(range(11, 30));
        // Once the exporter has caught up, the rest of what the count allows goes.
        expect(await log.applyRetention({ maxRecords: 5, keepAfterSeq: 30, now: T0 })).toMatchObject({ removed: 15, fromSeq: 11, toSeq: 25 });
      });

      test('by age: removes the run of events older than the cutoff from the start, and nothing younger', async () => {
        await log.append(manyEvents(30)); // one a second from T0
        const result = await log.applyRetention({ maxAgeMs: DAY, now: T0 + DAY + 10_500 });
        // Events at T0 .. T0+10s are older than the cutoff T0+10.5s.
        expect(result).toMatchObject({ removed: 11, fromSeq: 1, toSeq: 11 });
        expect((await log.readFrom(0, 1))[0]!.time).toBe(iso(T0 + 11_000));
        expect((await log.verify()).ok).toBe(true);
        // An event out of time order ends the run: nothing younger than the cutoff goes, even
        // if older ones follow it.
        await log.append([auditEvent({ time: iso(T0) })]);
        expect(await log.applyRetention({ maxAgeMs: DAY, now: T0 + DAY + 20_500 })).toMatchObject({ removed: 10, toSeq: 21 });
        expect(await log.applyRetention({ maxAgeMs: DAY, now: T0 + DAY + 40_000 })).toMatchObject({ removed: 10, toSeq: 31 });
        expect(seqs(await log.readFrom(0))).toEqual([]);
        expect(await log.verify()).toMatchObject({ ok: true, checked: 0, anchor: { seq: 31 } });
      });

      test('age and count together: whichever removes more; an empty log and a zero policy remove nothing', async () => {
        expect(await log.applyRetention({ maxRecords: 0, maxAgeMs: 0, now: T0 })).toEqual({ removed: 0, anchor: { seq: 0, hash: '' } });
        await log.append(manyEvents(20));
        expect(await log.applyRetention({ now: T0 + DAY })).toMatchObject({ removed: 0 });
        expect(await log.applyRetention({ maxRecords: 15, maxAgeMs: DAY, now: T0 + DAY + 9_500 })).toMatchObject({ removed: 10, toSeq: 10 });
        expect(await log.applyRetention({ maxRecords: 5, maxAgeMs: DAY, now: T0 + DAY + 11_500 })).toMatchObject({ removed: 5, toSeq: 15 });
        expect((await log.verify()).ok).toBe(true);
      });

      test('removing more than one chunk works in steps and removes exactly what it should', async () => {
        await log.append(manyEvents(1000));
        await log.append(manyEvents(1000, 1000));
        await log.append(manyEvents(1000, 2000));
        const result = await log.applyRetention({ maxRecords: 500, now: T0 });
        expect(result).toMatchObject({ removed: 2500, fromSeq: 1, toSeq: 2500 });
        expect(await log.verify()).toMatchObject({ ok: true, from: 2501, checked: 500 });
      });

      test('after retention, a record deleted at the new start is still reported as removed', async () => {
        await log.append(manyEvents(20));
        await log.applyRetention({ maxRecords: 10, now: T0 });
        await t.sql('DELETE FROM audit_events WHERE seq = 11');
        expect(await log.verify()).toMatchObject({ ok: false, problem: { kind: 'removed', seq: 11, toSeq: 11 } });
      });

      test('retention never erases tampering: it stops before a bad record, and verify still reports it', async () => {
        await log.append(manyEvents(20));
        await t.sql(`UPDATE audit_events SET user_name = 'mallory' WHERE seq = 6`);
        const result = await log.applyRetention({ maxRecords: 5, now: T0 });
        expect(result).toMatchObject({ removed: 5, toSeq: 5, stoppedAt: { kind: 'modified', seq: 6 } });
        expect(await log.verify()).toMatchObject({ ok: false, problem: { kind: 'modified', seq: 6 } });

        // A gap is not swept away either.
        await t.sql(`UPDATE audit_events SET user_name = '${manyEvents(20)[5]!.user}' WHERE seq = 6`);
        expect(await log.verify({ toSeq: 8 })).toMatchObject({ ok: true });
        await t.sql('DELETE FROM audit_events WHERE seq = 9');
        const next = await log.applyRetention({ maxRecords: 5, now: T0 });
        expect(next).toMatchObject({ removed: 3, toSeq: 8, stoppedAt: { kind: 'removed', seq: 9 } });
        expect(await log.verify()).toMatchObject({ ok: false, problem: { kind: 'removed', seq: 9 } });
      });

      test('a retention policy with bad values is refused', async () => {
        expect((await rejection(log.applyRetention({ maxRecords: -1, now: T0 }))).message).toBe('retention maxRecords must be a non-negative integer, got -1');
        expect((await rejection(log.applyRetention({ maxAgeMs: 1.5, now: T0 }))).message).toBe('retention maxAgeMs must be a non-negative integer, got 1.5');
        expect((await rejection(log.applyRetention({ maxBytes: -1, now: T0 }))).message).toBe('retention maxBytes must be a non-negative integer, got -1');
        expect((await rejection(log.applyRetention({ maxBytes: '10Gi' as unknown as number, now: T0 }))).message).toBe('retention maxBytes must be a non-negative integer, got 10Gi');
      });
    });

    describe('retention by size', () => {
      test('a record weighs the UTF-8 bytes of its canonical JSON, recorded when it is appended', async () => {
        const wide = auditEvent({ requestId: 'ü-1', user: 'zoë@example.com', reason: 'erlaubt ✓ 🚀', groups: ['développeurs'] });
        const narrow = completionEvent({ requestId: 'ü-1', durationMs: 0.0000125 });
        const stored = await log.append([wide, narrow]);
        const recorded = await t.rows('SELECT seq, size_bytes FROM audit_events ORDER BY seq');
        expect(recorded.map((r) => [Number(r.seq), Number(r.size_bytes)])).toEqual([
          [1, sizeOf(wide)],
          [2, sizeOf(narrow)],
        ]);
        // Bytes, not UTF-16 code units: ü ë é one more each, ✓ two more, 🚀 (two code units) two more.
        expect(sizeOf(wide) - canonicalAuditJson(wide).length).toBe(7);
        // The size is outside the hash: the records verify as they always did.
        expect(await log.verify()).toMatchObject({ ok: true, checked: 2 });
        expect(await log.applyRetention({ maxBytes: bytesOf(stored), now: T0 })).toEqual({ removed: 0, anchor: { seq: 0, hash: '' }, remainingBytes: bytesOf([wide, narrow]) });
      });

      test('keeps the newest records whose sizes add up to at most maxBytes, moves the anchor, and the rest verifies', async () => {
        const events = manyEvents(30);
        const stored = await log.append(events);
        const kept = bytesOf(events.slice(18));
        // Record 18 would fit but for one byte.
        const result = await log.applyRetention({ maxBytes: kept + sizeOf(events[17]!) - 1, now: T0 });
        expect(result).toEqual({ removed: 18, fromSeq: 1, toSeq: 18, anchor: { seq: 18, hash: stored[17]!.hash }, remainingBytes: kept });
        expect(seqs(await log.readFrom(0))).toEqual(range(19, 30));
        expect(await log.verify()).toMatchObject({ ok: true, from: 19, to: 30, checked: 12, anchor: { seq: 18, hash: stored[17]!.hash } });
        // Exactly the limit is within it; a byte less and the oldest record goes.
        expect(await log.applyRetention({ maxBytes: kept, now: T0 })).toEqual({ removed: 0, anchor: { seq: 18, hash: stored[17]!.hash }, remainingBytes: kept });
        expect(await log.applyRetention({ maxBytes: kept - 1, now: T0 })).toMatchObject({ removed: 1, fromSeq: 19, toSeq: 19, remainingBytes: kept - sizeOf(events[18]!) });
        // Appending continues the chain, which verifies from the anchor.
        await log.append(manyEvents(3, 30));
        expect(await log.verify()).toMatchObject({ ok: true, from: 20, checked: 14 });
      });

      test('together with count and age: whichever removes more', async () => {
        const events = manyEvents(20); // one a second from T0
        await log.append(events);
        const newest = (n: number) => bytesOf(events.slice(events.length - n));
        // Size would keep 15, count keeps 10: count.
        expect(await log.applyRetention({ maxBytes: newest(15), maxRecords: 10, now: T0 })).toMatchObject({ removed: 10, toSeq: 10, remainingBytes: newest(10) });
        // Size keeps 6, count would keep 8: size.
        expect(await log.applyRetention({ maxBytes: newest(6), maxRecords: 8, now: T0 })).toMatchObject({ removed: 4, toSeq: 14, remainingBytes: newest(6) });
        // Age removes what is older than T0+16.5s (through record 17), size would keep 5: age.
        expect(await log.applyRetention({ maxBytes: newest(5), maxAgeMs: DAY, now: T0 + DAY + 16_500 })).toMatchObject({ removed: 3, toSeq: 17, remainingBytes: newest(3) });
        // Age would remove record 18 only, size keeps 1: size.
        expect(await log.applyRetention({ maxBytes: newest(1), maxAgeMs: DAY, now: T0 + DAY + 17_500 })).toMatchObject({ removed: 2, toSeq: 19, remainingBytes: newest(1) });
        expect(await log.verify()).toMatchObject({ ok: true, from: 20, checked: 1 });
      });

      test('keepAfterSeq holds back what an exporter has not delivered, whatever the size says', async () => {
        const events = manyEvents(30);
        const stored = await log.append(events);
        expect(await log.applyRetention({ maxBytes: 0, keepAfterSeq: 10, now: T0 })).toEqual({
          removed: 10,
          fromSeq: 1,
          toSeq: 10,
          anchor: { seq: 10, hash: stored[9]!.hash },
          remainingBytes: bytesOf(events.slice(10)),
        });
        expect(seqs(await log.readFrom(0))).toEqual(range(11, 30));
        // Once the exporter has caught up, the rest of what the size allows goes.
        expect(await log.applyRetention({ maxBytes: bytesOf(events.slice(25)), keepAfterSeq: 30, now: T0 })).toMatchObject({ removed: 15, fromSeq: 11, toSeq: 25 });
        expect((await log.verify()).ok).toBe(true);
      });

      test('nothing is removed while the records fit; an empty log weighs nothing', async () => {
        expect(await log.applyRetention({ maxBytes: 0, now: T0 })).toEqual({ removed: 0, anchor: { seq: 0, hash: '' }, remainingBytes: 0 });
        const events = manyEvents(10);
        await log.append(events);
        expect(await log.applyRetention({ maxBytes: bytesOf(events), now: T0 })).toEqual({ removed: 0, anchor: { seq: 0, hash: '' }, remainingBytes: bytesOf(events) });
        expect(await log.applyRetention({ maxBytes: Number.MAX_SAFE_INTEGER, maxRecords: 10, now: T0 })).toEqual({ removed: 0, anchor: { seq: 0, hash: '' }, remainingBytes: bytesOf(events) });
        expect(seqs(await log.readFrom(0))).toEqual(range(1, 10));
        // Without maxBytes nothing is weighed.
        expect(await log.applyRetention({ maxRecords: 10, now: T0 })).toEqual({ removed: 0, anchor: { seq: 0, hash: '' } });
      });

      test('over a long log the limit is found wherever it falls, and the removal goes in chunks', async () => {
        const events = manyEvents(12_000);
        for (let b = 0; b < 12; b++) await log.append(events.slice(b * 1000, (b + 1) * 1000));
        const keep = 7321;
        const result = await log.applyRetention({ maxBytes: bytesOf(events.slice(-keep)), now: T0 });
        expect(result).toMatchObject({ removed: 12_000 - keep, fromSeq: 1, toSeq: 12_000 - keep, remainingBytes: bytesOf(events.slice(-keep)) });
        expect(await log.verify()).toMatchObject({ ok: true, from: 12_000 - keep + 1, to: 12_000, checked: keep });
      });

      test('records without a size (appended by an older kubegate) are measured before retention by size', async () => {
        const events = manyEvents(20);
        await log.append(events);
        await t.sql('UPDATE audit_events SET size_bytes = NULL WHERE seq > 5');
        expect(await log.applyRetention({ maxBytes: bytesOf(events.slice(12)), now: T0 })).toMatchObject({ removed: 12, toSeq: 12, remainingBytes: bytesOf(events.slice(12)) });
        expect((await t.rows('SELECT size_bytes FROM audit_events ORDER BY seq')).map((r) => Number(r.size_bytes))).toEqual(events.slice(12).map(sizeOf));
      });

      test('migration 5 gives the records written before it their sizes; the chain carries on', async () => {
        const events = [
          ...manyEvents(8),
          auditEvent({ requestId: 'ü-9', user: 'zoë', reason: 'erlaubt ✓ 🚀' }),
          completionEvent({ requestId: 'ü-9', durationMs: 0.0000125, bytesSent: 2 ** 40, responseFlags: ['UC', "it's"] }),
        ];
        const written = chainOf(events);
        const last = written[written.length - 1]!;
        const old = await openAtSchemaVersion(4, [
          ...written.map((record) => insertAtVersion(4, record)),
          `UPDATE audit_chain SET head_seq = ${last.seq}, head_hash = '${last.hash}' WHERE id = 1`,
        ]);
        closeLater.push(old.log);
        expect((await old.rows('SELECT MAX(version) AS v FROM schema_version')).map((r) => Number(r.v))).toEqual([SCHEMA_VERSION]);
        expect((await old.rows('SELECT size_bytes FROM audit_events ORDER BY seq')).map((r) => Number(r.size_bytes))).toEqual(events.map(sizeOf));
        expect(await old.log.verify()).toMatchObject({ ok: true, checked: 10, head: { seq: 10, hash: last.hash } });
        const [next] = await old.log.append([auditEvent({ requestId: 'after' })]);
        expect(next).toMatchObject({ seq: 11, prevHash: last.hash });
        const newest = bytesOf(events.slice(8)) + sizeOf(next!);
        expect(await old.log.applyRetention({ maxBytes: newest, now: T0 })).toMatchObject({ removed: 8, toSeq: 8, remainingBytes: newest });
        expect(await old.log.verify()).toMatchObject({ ok: true, from: 9, checked: 3 });
      });
    });

    describe('who reported a record', () => {
      test('migration 6 adds reported_by to a database at version 5: its records stay the edge\'s and verify; cluster records follow', async () => {
        const events = [...manyEvents(4), completionEvent({ requestId: 'req-0', terminationDetails: 'x' })];
        const written = chainOf(events);
        const last = written[written.length - 1]!;
        const old = await openAtSchemaVersion(5, [
          ...written.map((record) => insertAtVersion(5, record)),
          `UPDATE audit_chain SET head_seq = ${last.seq}, head_hash = '${last.hash}' WHERE id = 1`,
        ]);
        closeLater.push(old.log);
        expect((await old.rows('SELECT MAX(version) AS v FROM schema_version')).map((r) => Number(r.v))).toEqual([SCHEMA_VERSION]);
        expect((await old.rows('SELECT reported_by FROM audit_events ORDER BY seq')).map((r) => r.reported_by)).toEqual([null, null, null, null, null]);
        expect(await old.log.verify()).toMatchObject({ ok: true, checked: 5, head: { seq: 5, hash: last.hash } });
        expect((await old.log.readFrom(0)).map((e) => ({ ...e }))).toEqual(written);
        const [next] = await old.log.append([completionEvent({ requestId: 'req-0', reportedBy: 'cluster' })]);
        expect(next).toMatchObject({ seq: 6, prevHash: last.hash, reportedBy: 'cluster' });
        expect((await old.log.readFrom(5))[0]).toMatchObject({ reportedBy: 'cluster' });
        expect(await old.log.verify()).toMatchObject({ ok: true, checked: 6 });
      });
    });
  });
}
