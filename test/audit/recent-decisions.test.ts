/**
 * Recent allow decisions in memory in front of the audit log: hits never reach the log, misses
 * and other questions do, and the memory stays within its capacity, oldest out first.
 */
import { RecentDecisions, type DecisionSource } from '../../control-plane/audit/recent-decisions';
import type { AuditFilter } from '../../control-plane/audit/audit-log';
import type { AuditEvent } from '../../control-plane/audit/audit-event';
import { auditEvent, completionEvent } from './audit-fixtures';

function logOf(events: readonly AuditEvent[]): DecisionSource & { asked: AuditFilter[] } {
  const asked: AuditFilter[] = [];
  return {
    asked,
    async query(filter) {
      asked.push(filter);
      return { events: events.filter((e) => e.requestId === filter.requestId && (!filter.stage || e.stage === filter.stage)) };
    },
  };
}

test('a remembered allow is answered from memory; anything else from the log', async () => {
  const denied = auditEvent({ requestId: 'd', decision: 'deny' });
  const old = auditEvent({ requestId: 'old' });
  const log = logOf([denied, old]);
  const recent = new RecentDecisions(log);
  const fresh = auditEvent({ requestId: 'fresh' });
  recent.remember(fresh);
  recent.remember(denied); // denials are never kept: nothing is forwarded for them
  recent.remember(completionEvent({ requestId: 'c' })); // nor anything but decisions

  expect((await recent.query({ requestId: 'fresh', stage: 'decision' })).events).toEqual([fresh]);
  expect(log.asked).toEqual([]);
  expect((await recent.query({ requestId: 'd', stage: 'decision' })).events).toEqual([denied]);
  expect((await recent.query({ requestId: 'old', stage: 'decision' })).events).toEqual([old]);
  expect((await recent.query({ requestId: 'c', stage: 'decision' })).events).toEqual([]);
  // Other questions always go to the log, even about a remembered request.
  await recent.query({ requestId: 'fresh', stage: 'decision', user: 'alice' });
  expect(log.asked).toEqual([
    { requestId: 'd', stage: 'decision' },
    { requestId: 'old', stage: 'decision' },
    { requestId: 'c', stage: 'decision' },
    { requestId: 'fresh', stage: 'decision', user: 'alice' },
  ]);
});

test('a request id seen twice answers newest first, within the page limit', async () => {
  const recent = new RecentDecisions(logOf([]));
  const first = auditEvent({ requestId: 'r', time: '2026-01-01T00:00:00.000Z' });
  const second = auditEvent({ requestId: 'r', time: '2026-01-01T00:00:01.000Z' });
  recent.remember(first);
  recent.remember(second);
  expect((await recent.query({ requestId: 'r', stage: 'decision' })).events).toEqual([second, first]);
  expect((await recent.query({ requestId: 'r', stage: 'decision' }, { limit: 1 })).events).toEqual([second]);
});

test('beyond its capacity the oldest requests are forgotten and read from the log again', async () => {
  const early = auditEvent({ requestId: 'r0' });
  const log = logOf([early]);
  const recent = new RecentDecisions(log, 3);
  for (let i = 0; i < 5; i++) recent.remember(auditEvent({ requestId: `r${i}` }));
  expect((await recent.query({ requestId: 'r4', stage: 'decision' })).events).toHaveLength(1);
  expect((await recent.query({ requestId: 'r2', stage: 'decision' })).events).toHaveLength(1);
  expect(log.asked).toEqual([]);
  expect((await recent.query({ requestId: 'r0', stage: 'decision' })).events).toEqual([early]);
  expect(log.asked).toEqual([{ requestId: 'r0', stage: 'decision' }]);
});
