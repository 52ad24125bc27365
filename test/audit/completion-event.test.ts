/** What an access-log entry becomes in the audit trail. */
import type { AccessLogRecord } from '../../control-plane/envoy-access-log/access-log-record';
import { completionEvent } from '../../control-plane/audit/completion-event';

const record: AccessLogRecord = {
  stage: 'completion', time: '2030-01-01T00:00:00.000Z', requestId: 'r-7', edge: 'edge-0', user: 'olga', groups: ['operators'], cluster: 'east',
  decision: 'allow', reason: 'rule 0 of AccessPolicy "operators"', verb: 'create', apiGroup: '', resource: 'pods/exec', namespace: 'apps', name: 'web-1',
  policy: 'operators', breakGlassId: 'bg-1', sourceAddress: '127.0.0.1:40000', method: 'GET', path: '/clusters/east/api/v1/namespaces/apps/pods/web-1/exec?command=sh',
  status: 101, bytesReceived: 900, bytesSent: 4200, durationMs: 2500.25, upstreamCluster: 'tunnel/east', upstreamAddress: '', responseFlags: [], responseCodeDetails: 'via_upstream',
  terminationDetails: '', userAgent: 'kubectl/v1.32.4', kubectlCommand: 'kubectl exec', kubectlSession: 's-1', upgrade: 'websocket',
};

test('a completion ends when the request did, and splits resource and subresource', () => {
  expect(completionEvent(record, Date.parse('2031-01-01T00:00:00Z'))).toEqual({
    stage: 'completion', time: '2030-01-01T00:00:02.500Z', requestId: 'r-7', user: 'olga', groups: ['operators'], sourceAddress: '127.0.0.1:40000', cluster: 'east',
    verb: 'create', apiGroup: '', resource: 'pods', subresource: 'exec', namespace: 'apps', name: 'web-1', decision: 'allow', reason: 'rule 0 of AccessPolicy "operators"',
    policy: 'operators', breakGlassId: 'bg-1', method: 'GET', path: '/clusters/east/api/v1/namespaces/apps/pods/web-1/exec?command=sh', userAgent: 'kubectl/v1.32.4',
    kubectlCommand: 'kubectl exec', kubectlSession: 's-1', status: 101, bytesReceived: 900, bytesSent: 4200, durationMs: 2500.25, upstreamAddress: '', responseFlags: [],
    terminationDetails: '', upgrade: 'websocket',
  });
});

test('a progress entry of an open stream is stamped when it was logged', () => {
  const now = Date.parse('2030-01-01T00:01:00.000Z');
  expect(completionEvent({ ...record, stage: 'progress' }, now)).toMatchObject({ stage: 'progress', time: '2030-01-01T00:01:00.000Z', bytesSent: 4200 });
});

test("a request Envoy refused before asking for a decision is a denial, with Envoy's reason", () => {
  const refused = completionEvent({ ...record, decision: 'none', reason: '', status: 400, responseCodeDetails: 'path_with_escaped_slashes', resource: '' }, 0);
  expect(refused).toMatchObject({ decision: 'deny', reason: 'path_with_escaped_slashes', resource: '', subresource: '', status: 400 });
});
