/**
 * kubegate's audit events as audit.k8s.io/v1 Events: the mapping field by field. That the
 * output decodes with the real Kubernetes types is audit-decode.test.ts's job.
 */
import { ANNOTATIONS, hostOf, toKubernetesAuditEvent, toKubernetesAuditEventList } from '../../control-plane/audit-export/kubernetes-audit-event';
import { formatMicroTime, parseEpochMicros } from '../../control-plane/audit-export/micro-time';
import { auditEvent, chain } from './audit-fixtures';

const [allowed, denied, watchProgress, watchDone, discovery, unauthenticated] = chain([
  auditEvent(),
  auditEvent({ requestId: 'r-deny', verb: 'delete', apiGroup: '', resource: 'pods', name: 'db-0', path: '/clusters/prod-eu/api/v1/namespaces/shop/pods/db-0', method: 'DELETE', decision: 'deny', reason: 'kubegate: alice may not delete pods in prod-eu', policy: '', status: 403, kubectlCommand: 'kubectl delete' }),
  auditEvent({ requestId: 'r-watch', stage: 'progress', time: '2025-03-04T05:16:07.089Z', verb: 'watch', name: '', path: '/clusters/prod-eu/apis/apps/v1/namespaces/shop/deployments?watch=true', status: 200, bytesSent: 5120, bytesReceived: 0, durationMs: 600000, upstreamAddress: '10.9.0.1:6443' }),
  auditEvent({ requestId: 'r-watch', stage: 'completion', time: '2025-03-04T05:36:07.089Z', verb: 'watch', name: '', path: '/clusters/prod-eu/apis/apps/v1/namespaces/shop/deployments?watch=true', status: 200, bytesSent: 9000, bytesReceived: 0, durationMs: 1800000.5, upstreamAddress: '10.9.0.1:6443', responseFlags: ['DC', 'UT'], terminationDetails: 'downstream remote disconnect' }),
  auditEvent({ requestId: 'r-api', verb: '', apiGroup: '', resource: '', namespace: '', name: '', path: '/clusters/prod-eu/api?timeout=32s', method: 'GET', sourceAddress: '[2001:db8::7]:40000', policy: '', reason: 'discovery' }),
  auditEvent({ requestId: 'r-401', user: '', groups: [], sourceAddress: '192.0.2.9', verb: 'list', decision: 'deny', reason: 'kubegate: unknown user', policy: '', status: 401, userAgent: '', kubectlCommand: '', kubectlSession: '' }),
]);

describe('toKubernetesAuditEvent', () => {
  test('an allowed decision is RequestReceived with the request, the user and kubegate annotations', () => {
    expect(toKubernetesAuditEvent(allowed!)).toEqual({
      level: 'Metadata',
      auditID: allowed!.requestId,
      stage: 'RequestReceived',
      requestURI: '/clusters/prod-eu/apis/apps/v1/namespaces/shop/deployments/web',
      verb: 'get',
      user: { username: 'alice', groups: ['dev', 'kubegate:users'] },
      sourceIPs: ['10.1.2.3'],
      userAgent: 'kubectl/v1.34.4 (linux/amd64) kubernetes/abcdef0',
      objectRef: { resource: 'deployments', namespace: 'shop', name: 'web', apiGroup: 'apps', apiVersion: 'v1' },
      requestReceivedTimestamp: '2025-03-04T05:06:07.089000Z',
      stageTimestamp: '2025-03-04T05:06:07.089000Z',
      annotations: {
        'kubegate.dev/stage': 'decision',
        'kubegate.dev/cluster': 'prod-eu',
        'kubegate.dev/decision': 'allow',
        'kubegate.dev/reason': 'allowed by AccessPolicy dev-read',
        'kubegate.dev/policy': 'dev-read',
        'kubegate.dev/kubectl-command': 'kubectl get',
        'kubegate.dev/kubectl-session': '0f6a3c2e-5b8d-4e1f-9a7c-1d2e3f4a5b6c',
        'kubegate.dev/method': 'GET',
        'kubegate.dev/seq': '1',
        'kubegate.dev/hash': allowed!.hash,
        'authorization.k8s.io/decision': 'allow',
        'authorization.k8s.io/reason': 'allowed by AccessPolicy dev-read',
      },
    });
  });

  test('a denial is ResponseComplete (nothing follows it) with a Failure status carrying the reason', () => {
    const k = toKubernetesAuditEvent(denied!);
    expect(k.stage).toBe('ResponseComplete');
    expect(k.verb).toBe('delete');
    expect(k.objectRef).toEqual({ resource: 'pods', namespace: 'shop', name: 'db-0', apiVersion: 'v1' });
    expect(k.responseStatus).toEqual({ metadata: {}, status: 'Failure', message: 'kubegate: alice may not delete pods in prod-eu', reason: 'Forbidden', code: 403 });
    expect(k.annotations).toMatchObject({
      [ANNOTATIONS.decision]: 'deny',
      [ANNOTATIONS.k8sDecision]: 'forbid',
      [ANNOTATIONS.kubectlCommand]: 'kubectl delete',
      [ANNOTATIONS.seq]: '2',
      [ANNOTATIONS.prevHash]: allowed!.hash,
    });
    expect(k.annotations).not.toHaveProperty(ANNOTATIONS.policy);
  });

  test('a refusal for identity is 401 Unauthorized; an unknown user has no username and no source port', () => {
    const k = toKubernetesAuditEvent(unauthenticated!);
    expect(k.responseStatus).toEqual({ metadata: {}, status: 'Failure', message: 'kubegate: unknown user', reason: 'Unauthorized', code: 401 });
    expect(k.user).toEqual({});
    expect(k.sourceIPs).toEqual(['192.0.2.9']);
    expect(k).not.toHaveProperty('userAgent');
  });

  test('a denial without a recorded status is a 403', () => {
    const [e] = chain([auditEvent({ decision: 'deny', reason: 'kubegate: no', status: undefined })]);
    expect(toKubernetesAuditEvent(e!).responseStatus).toEqual({ metadata: {}, status: 'Failure', message: 'kubegate: no', reason: 'Forbidden', code: 403 });
  });

  test('progress is ResponseStarted and completion ResponseComplete, both dated back to the request start by their duration', () => {
    const progress = toKubernetesAuditEvent(watchProgress!);
    expect(progress.stage).toBe('ResponseStarted');
    expect(progress.verb).toBe('watch');
    expect(progress.requestReceivedTimestamp).toBe('2025-03-04T05:06:07.089000Z');
    expect(progress.stageTimestamp).toBe('2025-03-04T05:16:07.089000Z');
    expect(progress.responseStatus).toEqual({ metadata: {}, code: 200 });
    expect(progress.objectRef).toEqual({ resource: 'deployments', namespace: 'shop', apiGroup: 'apps', apiVersion: 'v1' });

    const done = toKubernetesAuditEvent(watchDone!);
    expect(done.stage).toBe('ResponseComplete');
    // 30 minutes and half a millisecond: microseconds are kept.
    expect(done.requestReceivedTimestamp).toBe('2025-03-04T05:06:07.088500Z');
    expect(done.stageTimestamp).toBe('2025-03-04T05:36:07.089000Z');
    expect(done.annotations).toMatchObject({
      [ANNOTATIONS.stage]: 'completion',
      [ANNOTATIONS.bytesSent]: '9000',
      [ANNOTATIONS.bytesReceived]: '0',
      [ANNOTATIONS.durationMs]: '1800000.5',
      [ANNOTATIONS.upstream]: '10.9.0.1:6443',
      [ANNOTATIONS.responseFlags]: 'DC,UT',
      [ANNOTATIONS.terminationDetails]: 'downstream remote disconnect',
    });
  });

  test("a cluster's completion says so in kubegate.dev/reported-by; the edge's records carry no such annotation", () => {
    const [clusterDone] = chain([{ ...watchDone!, reportedBy: 'cluster', upstreamAddress: '10.96.0.1:443' }], watchDone!);
    expect(toKubernetesAuditEvent(clusterDone!).annotations).toMatchObject({ [ANNOTATIONS.reportedBy]: 'cluster', [ANNOTATIONS.upstream]: '10.96.0.1:443', [ANNOTATIONS.stage]: 'completion' });
    expect(ANNOTATIONS.reportedBy).toBe('kubegate.dev/reported-by');
    for (const e of [allowed, watchProgress, watchDone]) expect(Object.keys(toKubernetesAuditEvent(e!).annotations ?? {})).not.toContain(ANNOTATIONS.reportedBy);
  });

  test('a non-resource request has the lowercase HTTP method as verb and no objectRef', () => {
    const k = toKubernetesAuditEvent(discovery!);
    expect(k.verb).toBe('get');
    expect(k).not.toHaveProperty('objectRef');
    expect(k.requestURI).toBe('/clusters/prod-eu/api?timeout=32s');
    expect(k.sourceIPs).toEqual(['2001:db8::7']);
  });

  test('annotation values are all strings and keys are qualified names', () => {
    for (const e of [allowed, denied, watchProgress, watchDone, discovery, unauthenticated]) {
      for (const [key, value] of Object.entries(toKubernetesAuditEvent(e!).annotations ?? {})) {
        expect(typeof value).toBe('string');
        expect(key).toMatch(/^[a-z0-9.-]+\/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
      }
    }
  });

  test('withTypeMeta makes a standalone Event, as kube-apiserver log lines are', () => {
    const k = toKubernetesAuditEvent(allowed!, { withTypeMeta: true });
    expect(k.kind).toBe('Event');
    expect(k.apiVersion).toBe('audit.k8s.io/v1');
  });

  test('an unreadable time is an error with a stable code, not a made-up timestamp', () => {
    const [e] = chain([auditEvent({ time: 'yesterday' })]);
    expect(() => toKubernetesAuditEvent(e!)).toThrow(expect.objectContaining({ code: 'ERR_AUDIT_EXPORT_BAD_TIME' }));
  });
});

describe('toKubernetesAuditEventList', () => {
  test('wraps the items in order as an audit.k8s.io/v1 EventList', () => {
    const list = toKubernetesAuditEventList([allowed!, denied!]);
    expect(list.kind).toBe('EventList');
    expect(list.apiVersion).toBe('audit.k8s.io/v1');
    expect(list.metadata).toEqual({});
    expect(list.items.map((i) => i.annotations?.[ANNOTATIONS.seq])).toEqual(['1', '2']);
    expect(list.items[0]).not.toHaveProperty('kind');
  });
});

describe('MicroTime and addresses', () => {
  test('six fractional digits, UTC', () => {
    expect(formatMicroTime(parseEpochMicros('2025-01-01T00:00:00.000Z'))).toBe('2025-01-01T00:00:00.000000Z');
    expect(formatMicroTime(parseEpochMicros('2025-01-01T01:00:00.5+01:00') + 7)).toBe('2025-01-01T00:00:00.500007Z');
    expect(formatMicroTime(999_999)).toBe('1970-01-01T00:00:00.999999Z');
  });

  test('the host of an address', () => {
    expect(hostOf('10.0.0.1:443')).toBe('10.0.0.1');
    expect(hostOf('[::1]:443')).toBe('::1');
    expect(hostOf('::1')).toBe('::1');
    expect(hostOf('10.0.0.1')).toBe('10.0.0.1');
    expect(hostOf('')).toBe('');
  });
});
