/**
 * The edge's file log into the audit trail: in order, resuming after a restart, at-least-once
 * when a write fails, and no line lost to rotation. Envoy's side of the file is exercised end to
 * end in test/e2e/audit-trail.test.ts; here the test writes the lines Envoy would.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AuditEvent } from '../../control-plane/audit/audit-event';
import { EdgeLogIngester, type EdgeLogIngesterProps } from '../../control-plane/audit/edge-log-ingester';
import { EdgeLogLineError, parseEdgeLogLine } from '../../control-plane/audit/edge-log-format';
import { silentLogger } from '../../control-plane/log/logger';

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubegate-edge-log-'));
  file = path.join(dir, 'audit.jsonl');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A line as Envoy's json_format writes it (numbers typed, ext_authz metadata as an object). */
function line(id: string, type = 'DownstreamEnd', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type, start: '2030-01-01T00:00:00.000Z', requestId: id, source: '127.0.0.1:5000', method: 'GET', path: '/clusters/c/api/v1/pods', status: 200,
    bytesReceived: 10, bytesSent: 20, durationMs: 5, upstream: '127.0.0.1:6443', flags: '-', details: 'via_upstream', termination: null,
    userAgent: 'kubectl/v1.32.4', kubectlCommand: 'kubectl get', kubectlSession: 's1', upgrade: null,
    authz: { user: 'alice', groups: ['dev'], cluster: 'c', decision: 'allow', reason: 'ok', verb: 'list', apiGroup: '', resource: 'pods/log', namespace: 'ns', name: 'p', policy: 'dev', breakGlassId: '' },
    ...extra,
  }) + '\n';
}

function ingester(appended: AuditEvent[], props: Partial<EdgeLogIngesterProps> = {}): EdgeLogIngester {
  return new EdgeLogIngester({ file, appender: { append: async (events) => void appended.push(...events) }, clock: () => Date.parse('2030-06-01T00:00:00Z'), logger: silentLogger, ...props });
}

test('an Envoy line becomes an audit event with the decision ext_authz left', () => {
  expect(parseEdgeLogLine(line('r1').trim(), 0)).toEqual({
    stage: 'completion', time: '2030-01-01T00:00:00.005Z', requestId: 'r1', user: 'alice', groups: ['dev'], sourceAddress: '127.0.0.1:5000', cluster: 'c',
    verb: 'list', apiGroup: '', resource: 'pods', subresource: 'log', namespace: 'ns', name: 'p', decision: 'allow', reason: 'ok', policy: 'dev', breakGlassId: '',
    method: 'GET', path: '/clusters/c/api/v1/pods', userAgent: 'kubectl/v1.32.4', kubectlCommand: 'kubectl get', kubectlSession: 's1', status: 200, bytesReceived: 10,
    bytesSent: 20, durationMs: 5, upstreamAddress: '127.0.0.1:6443', responseFlags: [], terminationDetails: '', upgrade: '',
  });
  expect(parseEdgeLogLine(line('r2', 'DownstreamPeriodic').trim(), Date.parse('2030-01-01T00:01:00Z'))).toMatchObject({ stage: 'progress', time: '2030-01-01T00:01:00.000Z' });
  expect(parseEdgeLogLine(line('r3', 'DownstreamEnd', { authz: null, status: 400, details: 'path_with_escaped_slashes' }).trim(), 0)).toMatchObject({ decision: 'deny', reason: 'path_with_escaped_slashes', user: '' });
  expect(() => parseEdgeLogLine('{"hello": 1}', 0)).toThrow(EdgeLogLineError);
  expect(() => parseEdgeLogLine('garbage', 0)).toThrow('not JSON');
});

test('lines are ingested in order; a line Envoy is still writing waits for its newline', async () => {
  const got: AuditEvent[] = [];
  const ing = ingester(got);
  fs.writeFileSync(file, line('r1') + line('r2') + line('r3').slice(0, 30));
  await ing.catchUp();
  expect(got.map((e) => e.requestId)).toEqual(['r1', 'r2']);
  expect(ing.stats.lagBytes).toBe(30);
  fs.appendFileSync(file, line('r3').slice(30));
  await ing.catchUp();
  expect(got.map((e) => e.requestId)).toEqual(['r1', 'r2', 'r3']);
  expect(ing.stats).toMatchObject({ ingested: 3, badLines: 0, lagBytes: 0 });
});

test('a new ingester (a restarted control plane) resumes after what was made durable, and lines written while it was down are not lost', async () => {
  const first: AuditEvent[] = [];
  fs.writeFileSync(file, line('r1') + line('r2'));
  await ingester(first).catchUp();
  fs.appendFileSync(file, line('r3') + line('r4'));
  const second: AuditEvent[] = [];
  await ingester(second).catchUp();
  expect(first.map((e) => e.requestId)).toEqual(['r1', 'r2']);
  expect(second.map((e) => e.requestId)).toEqual(['r3', 'r4']);
});

test('when the store refuses a batch, the position stays: the lines are read again (at-least-once), none skipped', async () => {
  const got: AuditEvent[] = [];
  let fail = true;
  const ing = ingester(got, { appender: { append: async (events) => (fail ? Promise.reject(new Error('store down')) : void got.push(...events)) } });
  fs.writeFileSync(file, line('r1') + line('r2'));
  await expect(ing.catchUp()).rejects.toThrow('store down');
  fail = false;
  await ing.catchUp();
  expect(got.map((e) => e.requestId)).toEqual(['r1', 'r2']);
});

test('rotation: the file is renamed, Envoy reopens, the renamed file is read to its end before it goes', async () => {
  const got: AuditEvent[] = [];
  let reopened = 0;
  // What Envoy does on /reopen_logs: later lines go to a new file of the same name.
  const ing = ingester(got, { rotateBytes: line('r1').length * 2, reopen: async () => void (reopened += 1) });
  fs.writeFileSync(file, line('r1') + line('r2'));
  await ing.catchUp();
  expect(reopened).toBe(1);
  expect(fs.existsSync(file)).toBe(false);
  // Envoy had one more line buffered for the old file, then opens the new one.
  fs.appendFileSync(`${file}.rotated`, line('r3'));
  fs.writeFileSync(file, line('r4'));
  await ing.catchUp();
  expect(got.map((e) => e.requestId)).toEqual(['r1', 'r2', 'r3', 'r4']);
  expect(fs.existsSync(`${file}.rotated`)).toBe(false);
  expect(ing.stats.rotations).toBe(1);
});

test('a line that is not an entry is counted and skipped, the rest goes on', async () => {
  const got: AuditEvent[] = [];
  const ing = ingester(got);
  fs.writeFileSync(file, line('r1') + 'not json\n' + line('r2'));
  await ing.catchUp();
  expect(got.map((e) => e.requestId)).toEqual(['r1', 'r2']);
  expect(ing.stats.badLines).toBe(1);
});
