/**
 * The recorder between the agent port and the audit writer: decisions looked up per message,
 * messages recorded in arrival order, and what cannot be recorded counted and logged.
 */
import type { AccessLogRecord } from '../../control-plane/envoy-access-log/access-log-record';
import type { AuditEvent } from '../../control-plane/audit/audit-event';
import type { AuditFilter, AuditLog } from '../../control-plane/audit/audit-log';
import { ClusterLogRecorder } from '../../control-plane/audit/cluster-log-recorder';
import { createLogger } from '../../control-plane/log/logger';
import { auditEvent, chainOf, iso, T0 } from './audit-fixtures';

const entry = (requestId: string, stage: AccessLogRecord['stage'] = 'completion'): AccessLogRecord => ({
  stage, time: iso(T0), requestId, edge: 'prod-envoy-0', user: '', groups: [], cluster: '', decision: 'none', reason: '', verb: '', apiGroup: '', resource: '',
  namespace: '', name: '', policy: '', breakGlassId: '', sourceAddress: '', method: 'GET', path: '/api', status: 200, bytesReceived: 1, bytesSent: 2, durationMs: 3,
  upstreamCluster: 'kube-apiserver', upstreamAddress: '10.96.0.1:443', responseFlags: [], responseCodeDetails: '', terminationDetails: '', userAgent: '', kubectlCommand: '', kubectlSession: '', upgrade: '',
});

/** An audit log's query over fixed decisions, each answer held back as long as `delayOf` says. */
function decisionsOf(decisions: readonly AuditEvent[], delayOf: (requestId: string) => number = () => 0): Pick<AuditLog, 'query'> & { asked: AuditFilter[] } {
  const stored = chainOf(decisions);
  const asked: AuditFilter[] = [];
  return {
    asked,
    async query(filter = {}) {
      asked.push(filter);
      if (filter.requestId === 'unreadable') throw new Error('database is locked');
      await new Promise((r) => setTimeout(r, delayOf(filter.requestId ?? '')));
      return { events: stored.filter((e) => e.requestId === filter.requestId && e.stage === filter.stage) };
    },
  };
}

function recorderWith(decisions: Pick<AuditLog, 'query'>, maxPending?: number) {
  const recorded: AuditEvent[] = [];
  const lines: Record<string, unknown>[] = [];
  const recorder = new ClusterLogRecorder({
    decisions,
    record: (event) => recorded.push(event),
    clock: () => T0 + 1000,
    logger: createLogger('test', { sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }),
    ...(maxPending !== undefined && { maxPending }),
  });
  return { recorder, recorded, lines };
}

test('messages are recorded in the order they arrived, even when an earlier lookup is slower', async () => {
  const decisions = decisionsOf([auditEvent({ requestId: 'slow' }), auditEvent({ requestId: 'fast' })], (id) => (id === 'slow' ? 50 : 0));
  const { recorder, recorded } = recorderWith(decisions);
  recorder.report('prod', [entry('slow', 'progress')]);
  recorder.report('prod', [entry('fast'), entry('slow')]);
  await recorder.stop();
  expect(recorded.map((e) => `${e.requestId}/${e.stage}/${e.reportedBy}`)).toEqual(['slow/progress/cluster', 'fast/completion/cluster', 'slow/completion/cluster']);
  // One query per request id and message, for decisions only.
  expect(decisions.asked).toEqual([
    { requestId: 'slow', stage: 'decision' },
    { requestId: 'fast', stage: 'decision' },
    { requestId: 'slow', stage: 'decision' },
  ]);
  expect(recorder.stats).toMatchObject({ recorded: 3, rejected: { 'unknown-request': 0, 'cluster-mismatch': 0, 'denied-request': 0 } });
});

test('rejected entries are counted by reason and logged once per message, naming the cluster', async () => {
  const { recorder, recorded, lines } = recorderWith(decisionsOf([auditEvent({ requestId: 'theirs', cluster: 'staging' }), auditEvent({ requestId: 'ours' })]));
  recorder.report('prod', [entry('invented-1'), entry('invented-2'), entry('theirs'), entry('ours')]);
  await recorder.stop();
  expect(recorded.map((e) => e.requestId)).toEqual(['ours']);
  expect(recorder.stats.rejected).toEqual({ 'unknown-request': 2, 'cluster-mismatch': 1, 'denied-request': 0 });
  const warnings = lines.filter((l) => l.level === 'warn');
  expect(warnings).toEqual([
    expect.objectContaining({ cluster: 'prod', rejected: { 'unknown-request': 2, 'cluster-mismatch': 1 }, requestIds: ['invented-1', 'invented-2', 'theirs'] }),
  ]);
});

test('a message whose decisions cannot be read is dropped and counted; the next one is recorded', async () => {
  const { recorder, recorded, lines } = recorderWith(decisionsOf([auditEvent({ requestId: 'later' })]));
  recorder.report('prod', [entry('unreadable'), entry('later')]);
  recorder.report('prod', [entry('later')]);
  await recorder.stop();
  expect(recorded).toHaveLength(1);
  expect(recorder.stats.dropped).toEqual({ 'lookup-failed': 2, overloaded: 0 });
  expect(lines).toContainEqual(expect.objectContaining({ level: 'error', cluster: 'prod', entries: 2, error: 'database is locked' }));
});

test('past maxPending waiting entries, a message is dropped rather than queued; after stop, nothing is taken', async () => {
  const { recorder, recorded } = recorderWith(decisionsOf([auditEvent({ requestId: 'a' })], () => 20), 3);
  recorder.report('prod', [entry('a'), entry('a')]);
  recorder.report('prod', [entry('a'), entry('a')]);
  await recorder.stop();
  recorder.report('prod', [entry('a')]);
  await new Promise((r) => setTimeout(r, 30));
  expect(recorded).toHaveLength(2);
  expect(recorder.stats.dropped.overloaded).toBe(2);
});
