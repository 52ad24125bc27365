/**
 * Audit events for tests: a realistic decision record with any field overridden, and a chain
 * of stored events built with the real hash function (what a store would have assigned).
 */
import type { AuditEvent, StoredAuditEvent } from '../../control-plane/audit/audit-event';
import { auditEventHash, CHAIN_ORIGIN, type ChainPoint } from '../../control-plane/audit/audit-hash-chain';

export const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);
export const iso = (ms: number) => new Date(ms).toISOString();

export function auditEvent(over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    stage: 'decision',
    time: iso(T0),
    requestId: 'req-1',
    user: 'alice',
    groups: ['dev', 'oncall'],
    sourceAddress: '10.0.0.7:51234',
    cluster: 'prod',
    verb: 'get',
    apiGroup: '',
    resource: 'pods',
    subresource: '',
    namespace: 'shop',
    name: 'web-1',
    decision: 'allow',
    reason: 'allowed by AccessPolicy dev-prod',
    policy: 'dev-prod',
    breakGlassId: '',
    method: 'GET',
    path: '/api/v1/namespaces/shop/pods/web-1',
    userAgent: 'kubectl/v1.34.4 (linux/amd64) kubernetes/abcdef',
    kubectlCommand: 'kubectl get',
    kubectlSession: 'sess-1',
    ...over,
  };
}

/** A completion record: the optional fields present. */
export function completionEvent(over: Partial<AuditEvent> = {}): AuditEvent {
  return auditEvent({
    stage: 'completion',
    status: 200,
    bytesReceived: 0,
    bytesSent: 1834,
    durationMs: 12.5,
    upstreamAddress: '10.1.0.2:6443',
    responseFlags: ['-'],
    terminationDetails: '',
    ...over,
  });
}

/** Stored events chained from `start`, numbered after it. */
export function chainOf(events: readonly AuditEvent[], start: ChainPoint = CHAIN_ORIGIN): StoredAuditEvent[] {
  let prev = start;
  return events.map((e) => {
    const seq = prev.seq + 1;
    const hash = auditEventHash(prev.hash, e);
    const stored = { seq, prevHash: prev.hash, hash, ...e };
    prev = { seq, hash };
    return stored;
  });
}

/** `n` distinct events, a second apart, cycling through a few users, clusters, verbs and decisions. */
export function manyEvents(n: number, from = 0): AuditEvent[] {
  const users = ['alice', 'bob', 'carol'];
  const clusters = ['prod', 'staging'];
  const verbs = ['get', 'list', 'delete', 'create'];
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return auditEvent({
      time: iso(T0 + i * 1000),
      requestId: `req-${i}`,
      user: users[i % users.length]!,
      cluster: clusters[i % clusters.length]!,
      verb: verbs[i % verbs.length]!,
      namespace: i % 5 === 0 ? '' : 'shop',
      decision: i % 7 === 3 ? 'deny' : 'allow',
      stage: i % 4 === 1 ? 'completion' : 'decision',
    });
  });
}
