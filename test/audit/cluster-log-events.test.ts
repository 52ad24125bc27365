/**
 * What a cluster's in-cluster Envoy reports becomes the cluster's side of a request, with the
 * request's attributes from its decision record; entries about requests the edge did not send
 * that cluster give no event.
 */
import type { AccessLogRecord } from '../../control-plane/envoy-access-log/access-log-record';
import type { AuditEvent } from '../../control-plane/audit/audit-event';
import { clusterLogEvents, requestIdsOf } from '../../control-plane/audit/cluster-log-events';
import { auditEvent, iso, T0 } from './audit-fixtures';

/** What toAccessLogRecord makes of an in-cluster Envoy's entry: no ext_authz metadata there. */
function clusterEntry(over: Partial<AccessLogRecord> = {}): AccessLogRecord {
  return {
    stage: 'completion', time: iso(T0 + 40), requestId: 'req-1', edge: 'prod-envoy-0', user: '', groups: [], cluster: '', decision: 'none', reason: '',
    verb: '', apiGroup: '', resource: '', namespace: '', name: '', policy: '', breakGlassId: '', sourceAddress: '10.200.0.1:0',
    method: 'GET', path: '/api/v1/namespaces/shop/pods/web-1', status: 200, bytesReceived: 610, bytesSent: 2210, durationMs: 7.25,
    upstreamCluster: 'kube-apiserver', upstreamAddress: '10.96.0.1:443', responseFlags: [], responseCodeDetails: 'via_upstream',
    terminationDetails: '', userAgent: 'kubectl/v1.34.4', kubectlCommand: '', kubectlSession: '', upgrade: '',
    ...over,
  };
}

const NOW = T0 + 60_000;
const decisionOf = (over: Partial<AuditEvent> = {}) => auditEvent({ breakGlassId: 'bg-9', ...over });
const lookup = (...decisions: AuditEvent[]) => {
  const map = new Map<string, AuditEvent[]>();
  for (const d of decisions) map.set(d.requestId, [...(map.get(d.requestId) ?? []), d]);
  return map;
};

test("the cluster's figures with the decision's attributes, marked as the cluster's", () => {
  const decision = decisionOf();
  const { events, rejected } = clusterLogEvents('prod', [clusterEntry({ responseFlags: ['upstream_connection_termination', 'downstream_remote_reset'], terminationDetails: 'x' })], lookup(decision), NOW);
  expect(rejected).toEqual([]);
  expect(events).toEqual([
    {
      // Everything the request was, from the decision: user, groups, source, what, why, how.
      ...decision,
      stage: 'completion',
      // The request's end: start + duration.
      time: iso(T0 + 47),
      status: 200,
      bytesReceived: 610,
      bytesSent: 2210,
      durationMs: 7.25,
      upstreamAddress: '10.96.0.1:443',
      // In the codes the edge's file log uses.
      responseFlags: ['UC', 'DR'],
      terminationDetails: 'x',
      upgrade: '',
      reportedBy: 'cluster',
    },
  ]);
  // Not the cluster's view of the path, method or user agent.
  expect(events[0]).toMatchObject({ path: decision.path, userAgent: decision.userAgent, sourceAddress: decision.sourceAddress });
});

test('a progress entry of an open stream is stamped when it arrived, and keeps its upgrade', () => {
  const { events } = clusterLogEvents('prod', [clusterEntry({ stage: 'progress', status: 101, upgrade: 'websocket' })], lookup(decisionOf({ subresource: 'exec', verb: 'get' })), NOW);
  expect(events).toEqual([expect.objectContaining({ stage: 'progress', time: iso(NOW), status: 101, upgrade: 'websocket', subresource: 'exec', reportedBy: 'cluster' })]);
});

test("a completion's time is the cluster's, held between the decision and the report's arrival", () => {
  const at = (start: number, durationMs = 5) => clusterLogEvents('prod', [clusterEntry({ time: iso(start), durationMs })], lookup(decisionOf()), NOW).events[0]!.time;
  expect(at(T0 + 100)).toBe(iso(T0 + 105));
  // A clock years ahead would date the record after its arrival; one behind, before its decision.
  expect(at(Date.UTC(2099, 0, 1))).toBe(iso(NOW));
  expect(at(T0 - 86_400_000)).toBe(iso(T0));
  expect(at(T0 + 30_000, 3_600_000)).toBe(iso(NOW));
});

test('an entry whose request id has no decision is rejected: a cluster cannot invent requests', () => {
  const { events, rejected } = clusterLogEvents('prod', [clusterEntry({ requestId: 'made-up' }), clusterEntry({ requestId: '' })], lookup(decisionOf()), NOW);
  expect(events).toEqual([]);
  expect(rejected).toEqual([
    { requestId: 'made-up', reason: 'unknown-request' },
    { requestId: '', reason: 'unknown-request' },
  ]);
});

test("an entry about another cluster's request is rejected, whatever the entry says", () => {
  const { events, rejected } = clusterLogEvents('staging', [clusterEntry({ cluster: 'prod' })], lookup(decisionOf({ cluster: 'prod' })), NOW);
  expect(events).toEqual([]);
  expect(rejected).toEqual([{ requestId: 'req-1', reason: 'cluster-mismatch' }]);
});

test('an entry about a request the edge denied is rejected: it was never sent on', () => {
  const { events, rejected } = clusterLogEvents('prod', [clusterEntry()], lookup(decisionOf({ decision: 'deny', reason: 'kubegate: no' })), NOW);
  expect(events).toEqual([]);
  expect(rejected).toEqual([{ requestId: 'req-1', reason: 'denied-request' }]);
});

test('progress and completion records of the trail are not decisions: only a decision vouches for a request', () => {
  const { rejected } = clusterLogEvents('prod', [clusterEntry()], lookup(decisionOf({ stage: 'completion' })), NOW);
  expect(rejected).toEqual([{ requestId: 'req-1', reason: 'unknown-request' }]);
});

test('a request id with several decisions takes the newest allowed one for this cluster', () => {
  const older = decisionOf({ time: iso(T0 - 5000), user: 'old' });
  const newer = decisionOf({ time: iso(T0), user: 'new' });
  const elsewhere = decisionOf({ time: iso(T0 + 10), user: 'other', cluster: 'staging' });
  const denied = decisionOf({ time: iso(T0 + 20), user: 'denied', decision: 'deny' });
  const { events } = clusterLogEvents('prod', [clusterEntry()], lookup(older, newer, elsewhere, denied), NOW);
  expect(events.map((e) => e.user)).toEqual(['new']);
});

test('entries keep their order, rejected ones dropped from among them; request ids are asked for once each', () => {
  const records = [clusterEntry({ requestId: 'a' }), clusterEntry({ requestId: 'x' }), clusterEntry({ requestId: 'b' }), clusterEntry({ requestId: 'a', stage: 'progress' })];
  expect(requestIdsOf(records)).toEqual(['a', 'x', 'b']);
  const { events, rejected } = clusterLogEvents('prod', records, lookup(decisionOf({ requestId: 'a' }), decisionOf({ requestId: 'b' })), NOW);
  expect(events.map((e) => `${e.requestId}/${e.stage}`)).toEqual(['a/completion', 'b/completion', 'a/progress']);
  expect(rejected.map((r) => r.requestId)).toEqual(['x']);
});
