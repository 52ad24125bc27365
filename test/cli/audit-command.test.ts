/**
 * `kubegate audit`, `kubegate audit incomplete` and `kubegate audit verify` against the real
 * admin API and a real SQLite audit log: tables and JSON lines, filters, limits beyond one API
 * page, --follow until interrupted, the report of requests without a completion record and its
 * exit codes, and verify's exit codes on an intact and a tampered chain.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StoredAuditEvent } from '../../control-plane/audit/audit-event';
import { SqliteAuditLog } from '../../control-plane/audit-storage/sqlite-audit-log';
import { main } from '../../control-plane/cli/main';
import { auditEvent, completionEvent, iso, manyEvents, T0 } from '../audit/audit-fixtures';
import { ApiHarness } from '../api/api-harness';

let h: ApiHarness;
let dir: string;
let file: string;
let audit: SqliteAuditLog;
const N = 30;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-audit-cli-'));
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

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as StoredAuditEvent);

describe('kubegate audit', () => {
  test('a table of the newest events, oldest first, with the columns an auditor scans', async () => {
    const r = await h.cli('root', ['audit', '--limit', '3']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+USER\s+CLUSTER\s+STAGE\s+VERB\s+RESOURCE\s+NAMESPACE\/NAME\s+DECISION\s+STATUS$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(new RegExp(`^${iso(T0 + 27_000).replace(/\./g, '\\.')}\\s+alice\\s+staging\\s+decision\\s+create\\s+pods\\s+shop/web-1\\s+allow\\s+-$`));
    expect(lines[3]).toContain(iso(T0 + 29_000));
    expect(r.stderr).toBe('# showing the newest 3 matching events; --limit N or --since/--until for others\n');
  });

  test('-o json: one stored event per line; filters narrow it', async () => {
    const r = await h.cli('root', ['audit', '-o', 'json', '--user', 'bob', '--decision', 'allow', '--cluster', 'staging']);
    expect(r.code).toBe(0);
    const events = jsonLines(r.stdout);
    const expected = manyEvents(N)
      .map((e, i) => ({ ...e, seq: i + 1 }))
      .filter((e) => e.user === 'bob' && e.decision === 'allow' && e.cluster === 'staging');
    expect(events.map((e) => e.seq)).toEqual(expected.map((e) => e.seq));
    expect(events[0]).toMatchObject({ user: 'bob', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(r.stderr).toBe('');
  });

  test('--since and --until take RFC 3339 times and durations back from now', async () => {
    const r = await h.cli('root', ['audit', '-o', 'json', '--since', iso(T0 + 5000), '--until', '2026-01-01T10:00:08+01:00']);
    expect(jsonLines(r.stdout).map((e) => e.seq)).toEqual([6, 7, 8]);
    const recent = await h.cli('root', ['audit', '--since', '15m']);
    expect(recent).toMatchObject({ code: 0, stdout: 'no audit events match\n' });
    const bad = await h.cli('root', ['audit', '--since', 'last tuesday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('kubegate audit: --since: "last tuesday" is not a time: use an RFC 3339 time (e.g. 2026-01-31T09:00:00Z) or a duration back from now (e.g. 15m, 2h, 7d)\n');
    expect((await h.cli('root', ['audit', '--decision', 'perhaps'])).stderr).toBe('kubegate audit: --decision must be allow or deny, got "perhaps"\n');
  });

  test('--reported-by edge or cluster; anything else is a usage error', async () => {
    const own = await SqliteAuditLog.open(path.join(dir, 'reported-by.db'));
    const harness = await ApiHarness.start({ audit: own });
    try {
      await own.append([auditEvent({ requestId: 'r-1' }), completionEvent({ requestId: 'r-1' }), completionEvent({ requestId: 'r-1', upstreamAddress: '10.96.0.1:443', reportedBy: 'cluster' })]);
      const cluster = await harness.cli('root', ['audit', '-o', 'json', '--reported-by', 'cluster']);
      expect(jsonLines(cluster.stdout).map((e) => [e.seq, e.reportedBy])).toEqual([[3, 'cluster']]);
      const edge = await harness.cli('root', ['audit', '-o', 'json', '--reported-by', 'edge']);
      expect(jsonLines(edge.stdout).map((e) => e.seq)).toEqual([1, 2]);
      const bad = await harness.cli('root', ['audit', '--reported-by', 'kubelet']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toBe('kubegate audit: --reported-by must be edge or cluster, got "kubelet"\n');
    } finally {
      await harness.close();
      await own.close();
    }
  });

  test('a --limit beyond one API page is fetched page by page', async () => {
    const big = await SqliteAuditLog.open(path.join(dir, 'big.db'));
    const server = await ApiHarness.start({ audit: big });
    try {
      await big.append(manyEvents(1000));
      await big.append(manyEvents(250, 1000));
      const r = await server.cli('root', ['audit', '-o', 'json', '--limit', '1200']);
      const seqs = jsonLines(r.stdout).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: 1200 }, (_, i) => 51 + i));
      expect(r.stderr).toContain('showing the newest 1200');
    } finally {
      await server.close();
      await big.close();
    }
  });

  test('anyone but an administrator is refused with the API\'s message', async () => {
    const r = await h.cli('dana', ['audit']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kubegate audit: only members of kubegate:admins may GET /api/v1/audit (ERR_FORBIDDEN)\n');
  });

  test('--help describes the filters and verify', async () => {
    const r = await h.cli(null, ['audit', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kubegate audit verify [--from SEQ] [--to SEQ]');
    expect(r.stdout).toMatch(/--follow\s+keep printing new events/);
  });

  test('--follow prints what arrives until interrupted, each event once', async () => {
    let stdout = '';
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += chunk.toString();
      return true;
    });
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const waitFor = async (predicate: () => boolean) => {
      while (!predicate()) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      const kubeconfig = await h.kubeconfigFor('root');
      const running = main(['audit', '--follow', '--interval', '20ms', '-o', 'json', '--user', 'carol', '--limit', '2', '--server', h.server.url, '--kubeconfig', kubeconfig]);
      await waitFor(() => jsonLines(stdout).length === 2);
      await audit.append([auditEvent({ user: 'carol', requestId: 'live-1', time: iso(T0 + 100_000) }), auditEvent({ user: 'bob', requestId: 'not-carol' })]);
      await waitFor(() => stdout.includes('live-1'));
      await audit.append([completionEvent({ user: 'carol', requestId: 'live-1', time: iso(T0 + 100_500) })]);
      await waitFor(() => jsonLines(stdout).length === 4);
      process.emit('SIGINT');
      expect(await running).toBe(0);
      const events = jsonLines(stdout);
      expect(events.map((e) => e.requestId)).toEqual(['req-26', 'req-29', 'live-1', 'live-1']);
      expect(events.map((e) => e.stage)).toEqual(['decision', 'completion', 'decision', 'completion']);
      expect(process.listenerCount('SIGINT')).toBe(0);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});

describe('kubegate audit incomplete', () => {
  // Every allowed decision of the shared log is its own request without a completion: they
  // are all incomplete, and all older than any threshold used here (January 2026).
  const expected = async () => {
    const page = await audit.incomplete({ olderThanMs: 5 * 60_000, now: Date.now(), limit: 1000 });
    return [...page.events].reverse();
  };

  test('lists the requests oldest first, ends with their count, and exits 3', async () => {
    const lost = await expected();
    expect(lost.length).toBeGreaterThan(5);
    const r = await h.cli('root', ['audit', 'incomplete']);
    expect(r.code).toBe(3);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+REQUEST ID\s+USER\s+CLUSTER\s+VERB\s+RESOURCE\s+NAMESPACE\/NAME$/);
    expect(lines.slice(1, -1).map((l) => l.split(/\s+/)[1])).toEqual(lost.map((e) => e.requestId));
    expect(lines[1]).toMatch(new RegExp(`^${lost[0]!.time.replace(/\./g, '\\.')}\\s+${lost[0]!.requestId}\\s+${lost[0]!.user}\\s+${lost[0]!.cluster}\\s+${lost[0]!.verb}\\s+pods\\s+`));
    expect(lines[lines.length - 1]).toBe(`${lost.length} allowed requests have no completion record (older than 5m)`);
    expect(r.stderr).toBe('');
  });

  test('-o json: the decision records, one per line, the count on stderr; --limit lists the newest', async () => {
    const lost = await expected();
    const r = await h.cli('root', ['audit', 'incomplete', '-o', 'json', '--older-than', '1h30m']);
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout)).toEqual(lost);
    expect(r.stderr).toBe(`# ${lost.length} allowed requests have no completion record (older than 1h30m)\n`);
    const newest = await h.cli('root', ['audit', 'incomplete', '-o', 'json', '--limit', '2']);
    expect(newest.code).toBe(3);
    expect(jsonLines(newest.stdout)).toEqual(lost.slice(-2));
    expect(newest.stderr).toBe(`# ${lost.length} allowed requests have no completion record (older than 5m); the newest 2 are listed\n`);
  });

  test('--since and --until select by the decision\'s time; none found exits 0', async () => {
    const lost = await expected();
    const r = await h.cli('root', ['audit', 'incomplete', '-o', 'json', '--since', lost[1]!.time, '--until', lost[3]!.time]);
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout).map((e) => e.requestId)).toEqual([lost[1]!.requestId, lost[2]!.requestId]);
    const none = await h.cli('root', ['audit', 'incomplete', '--since', '1h']);
    expect(none).toEqual({ code: 0, stdout: 'no allowed request older than 5m is missing its completion record\n', stderr: '' });
  });

  test('more than one API page: fetched by cursor up to --limit, the count of all from the first page', async () => {
    const big = await SqliteAuditLog.open(path.join(dir, 'incomplete-big.db'));
    const server = await ApiHarness.start({ audit: big });
    try {
      await big.append(Array.from({ length: 1300 }, (_, i) => auditEvent({ requestId: `lost-${i}`, time: iso(T0 + i * 1000) })));
      const r = await server.cli('root', ['audit', 'incomplete', '-o', 'json', '--limit', '1200']);
      expect(r.code).toBe(3);
      expect(jsonLines(r.stdout).map((e) => e.requestId)).toEqual(Array.from({ length: 1200 }, (_, i) => `lost-${i + 100}`));
      expect(r.stderr).toBe('# 1300 allowed requests have no completion record (older than 5m); the newest 1200 are listed\n');
    } finally {
      await server.close();
      await big.close();
    }
  });

  test('a completion ingested late takes a request off the report', async () => {
    const [first] = await expected();
    const before = jsonLines((await h.cli('root', ['audit', 'incomplete', '-o', 'json'])).stdout);
    await audit.append([completionEvent({ requestId: first!.requestId, user: first!.user, time: iso(Date.parse(first!.time) + 100) })]);
    const after = await h.cli('root', ['audit', 'incomplete', '-o', 'json']);
    expect(jsonLines(after.stdout)).toEqual(before.slice(1));
  });

  test('mistakes are usage errors (exit 2); anyone but an administrator is refused (exit 1)', async () => {
    const bad = await h.cli('root', ['audit', 'incomplete', '--older-than', 'soon']);
    expect(bad).toMatchObject({ code: 2, stderr: 'kubegate audit: --older-than: "soon" is not a duration: use a number with a unit, e.g. 30s, 15m, 8h, 1h30m or 2d\n' });
    expect((await h.cli('root', ['audit', 'incomplete', '--until', 'never'])).code).toBe(2);
    expect((await h.cli('root', ['audit', 'incomplete', '-o', 'yaml'])).code).toBe(2);
    const r = await h.cli('dana', ['audit', 'incomplete']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kubegate audit: only members of kubegate:admins may GET /api/v1/audit/incomplete (ERR_FORBIDDEN)\n');
  });

  test('--help documents the exit codes', async () => {
    const r = await h.cli(null, ['audit', 'incomplete', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: kubegate audit incomplete [--since T] [--until T] [--older-than 5m] [--limit N] [-o table|json]');
    expect(r.stdout).toMatch(/Exit codes[^\n]*\n\s+0\s+no allowed request is missing its completion record\n\s+3\s+some are/);
    expect((await h.cli(null, ['audit', '--help'])).stdout).toContain('kubegate audit incomplete [--since T]');
  });
});

describe('kubegate audit verify', () => {
  test('exits 0 and says so when the chain is intact', async () => {
    const r = await h.cli('root', ['audit', 'verify']);
    expect(r.code).toBe(0);
    const head = await audit.head();
    expect(r.stdout).toBe(`audit chain intact: records 1 to ${head.seq} verified (${head.seq})\nhead: record ${head.seq} ${head.hash}\n`);
    const json = await h.cli('root', ['audit', 'verify', '-o', 'json', '--from', '2', '--to', '5']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, from: 2, to: 5, checked: 4 });
  });

  test('exits 1 naming the first problem once a record was removed (last: it tampers with the shared log)', async () => {
    const db = new Database(file);
    try {
      db.exec('DELETE FROM audit_events WHERE seq IN (12, 13)');
    } finally {
      db.close();
    }
    const r = await h.cli('root', ['audit', 'verify']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('audit chain BROKEN at record 12 (removed): records 12 to 13 are missing: they were removed\n');
    const json = await h.cli('root', ['audit', 'verify', '-o', 'json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problem: { kind: 'removed', seq: 12, toSeq: 13 } });
  });
});
