/**
 * GET /api/v1/audit, /audit/incomplete and /audit/verify over real HTTPS, against a real SQLite
 * audit log: who may read it, every filter, paging by cursor, the 400s that name the bad
 * parameter, the report of allowed requests without a completion record, verification of an
 * intact and a tampered chain, and the 503 of a server started without an audit log.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AuditLog } from '../../control-plane/audit/audit-log';
import { SqliteAuditLog } from '../../control-plane/audit-storage/sqlite-audit-log';
import { auditEvent, completionEvent, iso, manyEvents, T0 } from '../audit/audit-fixtures';
import { ApiHarness } from './api-harness';

let h: ApiHarness;
let dir: string;
let file: string;
let audit: AuditLog;
const N = 45;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-audit-api-'));
  file = path.join(dir, 'audit.db');
  audit = await SqliteAuditLog.open(file);
  await audit.append(manyEvents(N));
  h = await ApiHarness.start({ audit });
  await h.addUser('dana', ['dev']);
});
afterAll(async () => {
  await h.close();
  await audit.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const seqs = (body: { events: { seq: number }[] }) => body.events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('GET /audit', () => {
  test('administrators only', async () => {
    const r = await h.call('dana', 'GET', '/audit');
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ code: 'ERR_FORBIDDEN', message: 'only members of kubegate:admins may GET /api/v1/audit' });
    expect((await h.call('dana', 'GET', '/audit/verify')).status).toBe(403);
  });

  test('newest first, with the stored fields, seq and hashes', async () => {
    const r = await h.call('root', 'GET', '/audit');
    expect(r.status).toBe(200);
    expect(seqs(r.body)).toEqual(range(1, N).reverse());
    expect(r.body.nextCursor).toBeUndefined();
    expect(r.body.events[N - 1]).toEqual({ seq: 1, prevHash: '', hash: expect.stringMatching(/^[0-9a-f]{64}$/), ...manyEvents(1)[0] });
  });

  test('filters: user, cluster, verb, namespace, decision, stage, requestId, since and until', async () => {
    const all = manyEvents(N).map((e, i) => ({ ...e, seq: i + 1 }));
    const expectSeqs = async (query: string, predicate: (e: (typeof all)[number]) => boolean) => {
      const r = await h.call('root', 'GET', `/audit?${query}`);
      expect([query, r.status]).toEqual([query, 200]);
      const expected = all.filter(predicate).map((e) => e.seq).reverse();
      expect(expected.length).toBeGreaterThan(0);
      expect([query, seqs(r.body)]).toEqual([query, expected]);
    };
    await expectSeqs('user=bob', (e) => e.user === 'bob');
    await expectSeqs('cluster=staging&verb=list', (e) => e.cluster === 'staging' && e.verb === 'list');
    await expectSeqs('namespace=shop&decision=deny', (e) => e.namespace === 'shop' && e.decision === 'deny');
    await expectSeqs('stage=completion', (e) => e.stage === 'completion');
    await expectSeqs('requestId=req-9', (e) => e.requestId === 'req-9');
    await expectSeqs(`since=${iso(T0 + 10_000)}&until=${encodeURIComponent('2026-01-01T10:00:20+01:00')}`, (e) => e.time >= iso(T0 + 10_000) && e.time < iso(T0 + 20_000));
    // Relative times count back from the server's clock: all of these are older than a day.
    expect((await h.call('root', 'GET', '/audit?since=1d')).body.events).toEqual([]);
    // An empty value is no filter.
    expect(seqs((await h.call('root', 'GET', '/audit?user=&limit=3')).body)).toEqual([45, 44, 43]);
  });

  test('paging by cursor, both orders: no duplicates, no gaps', async () => {
    const collect = async (first: string) => {
      const got: number[] = [];
      let query = first;
      for (;;) {
        const r = await h.call('root', 'GET', `/audit?${query}`);
        expect(r.status).toBe(200);
        got.push(...seqs(r.body));
        if (!r.body.nextCursor || r.body.events.length === 0) return got;
        // The cursor holds the position; the filter is sent again with it.
        query = `${first}&cursor=${encodeURIComponent(r.body.nextCursor)}`;
      }
    };
    expect(await collect('limit=10')).toEqual(range(1, N).reverse());
    expect(await collect('limit=10&order=asc')).toEqual(range(1, N));
    expect(await collect('limit=10&user=alice')).toEqual(range(1, N).filter((s) => (s - 1) % 3 === 0).reverse());
    expect(seqs((await h.call('root', 'GET', '/audit?after=40')).body)).toEqual([41, 42, 43, 44, 45]);
  });

  test('a bad parameter is a 400 naming it', async () => {
    const { body: page } = await h.call('root', 'GET', '/audit?limit=2');
    const cases: [string, string, string][] = [
      ['users=alice', 'users', 'unknown query parameter "users"; parameters here: user, cluster, verb, namespace, decision, stage, requestId, reportedBy, since, until, limit, cursor, order, after'],
      ['reportedBy=kubelet', 'reportedBy', 'reportedBy must be edge or cluster (edge: the edge\'s own decisions and completions; cluster: what in-cluster Envoys reported), got "kubelet"'],
      ['user=a&user=b', 'user', 'query parameter user is given more than once'],
      ['decision=maybe', 'decision', 'decision must be allow or deny, got "maybe"'],
      ['stage=start', 'stage', 'stage must be one of decision, progress, completion, got "start"'],
      ['since=yesterday', 'since', 'since: "yesterday" is not a time: use an RFC 3339 time (e.g. 2026-01-31T09:00:00Z) or a duration back from now (e.g. 15m, 2h, 7d)'],
      ['until=2026-02-30T00:00:00Z', 'until', 'until: "2026-02-30T00:00:00Z" is not a time: use an RFC 3339 time (e.g. 2026-01-31T09:00:00Z) or a duration back from now (e.g. 15m, 2h, 7d)'],
      ['since=1h&until=2h', 'until', 'until must be later than since'],
      ['limit=0', 'limit', 'limit must be an integer from 1 to 1000, got "0"'],
      ['limit=1001', 'limit', 'limit must be an integer from 1 to 1000, got "1001"'],
      ['limit=ten', 'limit', 'limit must be an integer from 1 to 1000, got "ten"'],
      ['order=newest', 'order', 'order must be desc (newest first) or asc (oldest first), got "newest"'],
      ['cursor=abc!', 'cursor', 'cursor "abc!" is not a cursor of an audit query; pass the nextCursor of a previous page as it was'],
      [`cursor=${page.nextCursor}&order=asc`, 'order', 'this cursor continues a desc listing; ask for order desc or none'],
      [`cursor=${page.nextCursor}&after=3`, 'after', 'give cursor or after, not both'],
      ['after=3&order=desc', 'order', 'after continues an oldest-first listing: ask for order asc or none'],
      ['after=-1', 'after', 'after must be an integer of at least 0, got "-1"'],
    ];
    for (const [query, field, message] of cases) {
      const r = await h.call('root', 'GET', `/audit?${query}`);
      expect([query, r.status, r.body]).toEqual([query, 400, { code: 'ERR_BAD_REQUEST', message, field }]);
    }
    expect((await h.call('root', 'GET', '/audit/verify?from=0')).body).toEqual({ code: 'ERR_BAD_REQUEST', message: 'from must be an integer of at least 1, got "0"', field: 'from' });
    expect((await h.call('root', 'GET', '/audit/verify?from=5&to=2')).body).toEqual({ code: 'ERR_BAD_REQUEST', message: 'to must not be below from', field: 'to' });
    expect((await h.call('root', 'POST', '/audit')).status).toBe(405);
  });
});

test('reportedBy: the edge\'s records or what in-cluster Envoys reported', async () => {
  const own = await SqliteAuditLog.open(path.join(dir, 'reported-by.db'));
  const harness = await ApiHarness.start({ audit: own });
  try {
    await own.append([
      auditEvent({ requestId: 'r-1' }),
      completionEvent({ requestId: 'r-1' }),
      completionEvent({ requestId: 'r-1', upstreamAddress: '10.96.0.1:443', reportedBy: 'cluster' }),
    ]);
    expect(seqs((await harness.call('root', 'GET', '/audit?reportedBy=cluster')).body)).toEqual([3]);
    expect(seqs((await harness.call('root', 'GET', '/audit?reportedBy=edge')).body)).toEqual([2, 1]);
    expect(seqs((await harness.call('root', 'GET', '/audit?reportedBy=cluster&stage=decision')).body)).toEqual([]);
  } finally {
    await harness.close();
    await own.close();
  }
});

describe('GET /audit/incomplete', () => {
  // A log of its own, with times relative to the server's clock: the shared one is about
  // January 2026, and its tests count on what it holds.
  let server: ApiHarness;
  let own: AuditLog;
  const MINUTE = 60_000;
  const lost = Array.from({ length: 7 }, (_, i) => `lost-${i}`);

  beforeAll(async () => {
    own = await SqliteAuditLog.open(path.join(dir, 'incomplete.db'));
    server = await ApiHarness.start({ audit: own });
    await server.addUser('dana', ['dev']);
    const now = server.now();
    const at = (ms: number) => iso(now - ms);
    await own.append([
      ...lost.map((requestId, i) => auditEvent({ requestId, time: at(60 * MINUTE - i * MINUTE) })),
      auditEvent({ requestId: 'done', time: at(50 * MINUTE) }),
      completionEvent({ requestId: 'done', time: at(50 * MINUTE - 20) }),
      auditEvent({ requestId: 'denied', time: at(40 * MINUTE), decision: 'deny', reason: 'kubegate: no policy allows it' }),
      auditEvent({ requestId: 'watching', time: at(30 * MINUTE), verb: 'watch' }),
      completionEvent({ requestId: 'watching', stage: 'progress', status: 200, time: at(MINUTE) }),
      auditEvent({ requestId: 'in-flight', time: at(MINUTE) }),
    ]);
  });
  afterAll(async () => {
    await server.close();
    await own.close();
  });

  const ids = (body: { events: { requestId: string }[] }) => body.events.map((e) => e.requestId);
  const newestFirst = [...lost].reverse();

  test('administrators only', async () => {
    const r = await server.call('dana', 'GET', '/audit/incomplete');
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ code: 'ERR_FORBIDDEN', message: 'only members of kubegate:admins may GET /api/v1/audit/incomplete' });
  });

  test('allowed decisions older than 5 minutes without a completion, newest first, with the count and the cutoff', async () => {
    const before = server.now();
    const r = await server.call('root', 'GET', '/audit/incomplete');
    expect(r.status).toBe(200);
    expect(ids(r.body)).toEqual(newestFirst);
    expect(r.body.total).toBe(7);
    expect(r.body.nextCursor).toBeUndefined();
    expect(r.body.events[0]).toMatchObject({ stage: 'decision', decision: 'allow', seq: 7, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The cutoff is the server's clock less the threshold (5 minutes unless asked).
    const cutoff = Date.parse(r.body.cutoff);
    expect(cutoff).toBeGreaterThanOrEqual(before - 5 * MINUTE);
    expect(cutoff).toBeLessThanOrEqual(server.now() - 5 * MINUTE);
  });

  test('older-than, since and until', async () => {
    // 30 seconds: the in-flight request counts, the stream whose progress is a minute old too.
    expect(ids((await server.call('root', 'GET', '/audit/incomplete?older-than=30s')).body)).toEqual(['in-flight', 'watching', ...newestFirst]);
    expect(ids((await server.call('root', 'GET', '/audit/incomplete?older-than=57m30s')).body)).toEqual(['lost-2', 'lost-1', 'lost-0']);
    expect(ids((await server.call('root', 'GET', '/audit/incomplete?since=57m30s')).body)).toEqual(['lost-6', 'lost-5', 'lost-4', 'lost-3']);
    expect(ids((await server.call('root', 'GET', '/audit/incomplete?since=59m30s&until=57m30s')).body)).toEqual(['lost-2', 'lost-1']);
    expect(ids((await server.call('root', 'GET', `/audit/incomplete?until=${encodeURIComponent(iso(T0))}`)).body)).toEqual([]);
  });

  test('paging by cursor: no duplicates, no gaps, the total on the first page', async () => {
    const got: string[] = [];
    const totals: unknown[] = [];
    let query = 'limit=3';
    for (;;) {
      const r = await server.call('root', 'GET', `/audit/incomplete?${query}`);
      expect(r.status).toBe(200);
      got.push(...ids(r.body));
      totals.push(r.body.total);
      if (!r.body.nextCursor) break;
      query = `limit=3&cursor=${encodeURIComponent(r.body.nextCursor)}`;
    }
    expect(got).toEqual(newestFirst);
    expect(totals).toEqual([7, undefined, undefined]);
  });

  test('a bad parameter is a 400 naming it', async () => {
    const { body: asc } = await h.call('root', 'GET', '/audit?order=asc&limit=1');
    const cases: [string, string, string][] = [
      ['olderThan=5m', 'olderThan', 'unknown query parameter "olderThan"; parameters here: since, until, older-than, limit, cursor'],
      ['older-than=5m&older-than=1h', 'older-than', 'query parameter older-than is given more than once'],
      ['older-than=5', 'older-than', 'older-than: "5" is not a duration: use a number with a unit, e.g. 30s, 15m, 8h, 1h30m or 2d'],
      ['older-than=0s', 'older-than', 'older-than: "0s" is not a duration: use a number with a unit, e.g. 30s, 15m, 8h, 1h30m or 2d'],
      ['older-than=99999999999999999d', 'older-than', 'older-than: "99999999999999999d" is longer than any audit trail'],
      ['since=yesterday', 'since', 'since: "yesterday" is not a time: use an RFC 3339 time (e.g. 2026-01-31T09:00:00Z) or a duration back from now (e.g. 15m, 2h, 7d)'],
      ['since=1h&until=2h', 'until', 'until must be later than since'],
      ['limit=0', 'limit', 'limit must be an integer from 1 to 1000, got "0"'],
      ['cursor=abc!', 'cursor', 'cursor "abc!" is not a cursor of an audit query; pass the nextCursor of a previous page as it was'],
      [`cursor=${asc.nextCursor}`, 'cursor', 'this cursor continues an oldest-first GET /audit listing; pass the nextCursor of a previous /audit/incomplete page'],
    ];
    for (const [query, field, message] of cases) {
      const r = await server.call('root', 'GET', `/audit/incomplete?${query}`);
      expect([query, r.status, r.body]).toEqual([query, 400, { code: 'ERR_BAD_REQUEST', message, field }]);
    }
    expect((await server.call('root', 'POST', '/audit/incomplete')).status).toBe(405);
  });
});

describe('GET /audit/verify', () => {
  test('an intact chain, whole and in part', async () => {
    const head = await audit.head();
    const r = await h.call('root', 'GET', '/audit/verify');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true, from: 1, to: N, checked: N, head, anchor: { seq: 0, hash: '' } });
    expect((await h.call('root', 'GET', '/audit/verify?from=10&to=20')).body).toMatchObject({ ok: true, from: 10, to: 20, checked: 11 });
  });

  test('a record changed in the database is reported, with its seq (last: it tampers with the shared log)', async () => {
    const db = new Database(file);
    try {
      db.exec(`UPDATE audit_events SET decision = 'allow', reason = 'nothing to see' WHERE seq = 4`);
    } finally {
      db.close();
    }
    const r = await h.call('root', 'GET', '/audit/verify');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: false, checked: 3, problem: { kind: 'modified', seq: 4, message: 'record 4 was modified: its content does not match its hash' } });
  });
});

test('a server without an audit log answers 503, saying so', async () => {
  const bare = await ApiHarness.start();
  try {
    for (const p of ['/audit', '/audit/incomplete', '/audit/verify']) {
      const r = await bare.call('root', 'GET', p);
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ code: 'ERR_UNAVAILABLE', message: 'the audit log is not available: this control plane was started without one' });
    }
  } finally {
    await bare.close();
  }
});
