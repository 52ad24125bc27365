/**
 * No audit record, no access: what a decision's record says, and what happens when it cannot
 * be written.
 */
import { AUDIT_UNAVAILABLE_MESSAGE, AuditingAuthorizer } from '../../control-plane/audit/auditing-authorizer';
import type { AuditEvent } from '../../control-plane/audit/audit-event';
import { AuditWriter } from '../../control-plane/audit/audit-writer';
import type { AuthzRequest, Decision } from '../../control-plane/authz/decision';
import { silentLogger } from '../../control-plane/log/logger';

const request: AuthzRequest = {
  requestId: 'req-1',
  method: 'DELETE',
  path: '/clusters/prod/api/v1/namespaces/shop/pods/web-1',
  headers: { 'user-agent': 'kubectl/v1.32.4', 'kubectl-command': 'kubectl delete', 'kubectl-session': 'sess-9' },
  sourceAddress: '127.0.0.1:50000',
  peerCertificatePem: '',
  serverName: 'u-1.users.kubegate.invalid',
};

const attributes = { isResourceRequest: true, path: '/api/v1/namespaces/shop/pods/web-1', verb: 'delete', apiPrefix: 'api', apiGroup: '', apiVersion: 'v1', namespace: 'shop', resource: 'pods', subresource: '', name: 'web-1', parts: ['pods', 'web-1'], verbViaPathPrefix: false };
const allow: Decision = { allowed: true, identity: { user: 'alice', groups: ['dev'] }, cluster: 'prod', reason: 'rule 0 of AccessPolicy "dev" allows delete pods', policy: 'dev', attributes, upstreamAssertion: { token: 't', impersonate: 'sa' } };
const deny: Decision = { allowed: false, httpStatus: 403, message: 'kubegate: user "alice" cannot delete pods', reason: 'no rule', identity: { user: 'alice', groups: ['dev'] }, cluster: 'prod', attributes };

function authorizer(decision: Decision, append: (events: readonly AuditEvent[]) => Promise<void>) {
  return new AuditingAuthorizer({ inner: { decide: () => decision }, writer: new AuditWriter({ appender: { append } }), clock: () => Date.parse('2030-01-02T03:04:05.678Z'), logger: silentLogger });
}

test('an allow is answered only after its record, which says who did what, where, and why', async () => {
  const written: AuditEvent[] = [];
  const decided = await authorizer(allow, async (events) => void written.push(...events)).decide(request);
  expect(decided).toBe(allow);
  expect(written).toEqual([
    {
      stage: 'decision', time: '2030-01-02T03:04:05.678Z', requestId: 'req-1', user: 'alice', groups: ['dev'], sourceAddress: '127.0.0.1:50000', cluster: 'prod',
      verb: 'delete', apiGroup: '', resource: 'pods', subresource: '', namespace: 'shop', name: 'web-1', decision: 'allow', reason: 'rule 0 of AccessPolicy "dev" allows delete pods',
      policy: 'dev', breakGlassId: '', method: 'DELETE', path: '/clusters/prod/api/v1/namespaces/shop/pods/web-1', userAgent: 'kubectl/v1.32.4', kubectlCommand: 'kubectl delete', kubectlSession: 'sess-9',
    },
  ]);
});

test('a denial is recorded too, with the message the user saw and its status', async () => {
  const written: AuditEvent[] = [];
  expect(await authorizer(deny, async (events) => void written.push(...events)).decide(request)).toBe(deny);
  expect(written[0]).toMatchObject({ decision: 'deny', reason: 'kubegate: user "alice" cannot delete pods', status: 403 });
});

test('an allow whose record cannot be written becomes a 503 refusal that says why, without the upstream assertion', async () => {
  const decided = await authorizer(allow, async () => Promise.reject(new Error('database is locked'))).decide(request);
  expect(decided).toMatchObject({ allowed: false, httpStatus: 503, message: AUDIT_UNAVAILABLE_MESSAGE, identity: { user: 'alice' }, cluster: 'prod' });
  expect(decided.allowed ? '' : decided.reason).toContain('database is locked');
  expect('upstreamAssertion' in decided).toBe(false);
});

test('a denial whose record cannot be written stays the same denial', async () => {
  expect(await authorizer(deny, async () => Promise.reject(new Error('gone'))).decide(request)).toBe(deny);
});

test('a refusal before the cluster is known still names the cluster the path asked for', async () => {
  const written: AuditEvent[] = [];
  const unknownUser: Decision = { allowed: false, httpStatus: 401, message: 'kubegate: no such user', reason: 'unknown user' };
  await authorizer(unknownUser, async (events) => void written.push(...events)).decide(request);
  expect(written[0]).toMatchObject({ cluster: 'prod', user: '', decision: 'deny', status: 401, verb: '' });
});

test('the written record is handed on once durable (for RecentDecisions), and not when the write failed', async () => {
  const told: AuditEvent[] = [];
  const make = (append: (events: readonly AuditEvent[]) => Promise<void>) =>
    new AuditingAuthorizer({ inner: { decide: () => allow }, writer: new AuditWriter({ appender: { append } }), clock: () => 0, logger: silentLogger, recorded: (e) => told.push(e) });
  const written: AuditEvent[] = [];
  await make(async (events) => void written.push(...events)).decide(request);
  expect(told).toEqual(written);
  await make(async () => Promise.reject(new Error('full'))).decide(request);
  expect(told).toHaveLength(1);
});
